"""The Markdown renderer (`paperdrop brief`), checked with a real CommonMark parser
(markdown-it-py with GFM's tables and strikethrough, as terminal renderers read it)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from markdown_it import MarkdownIt

from bot.render.layout import glance_takeaway
from bot.render.markdown import escape_md, render_markdown
from digest.i18n import label
from digest.models import PaperItem
from tests.fixtures_reference import reference_brief
from tests.strategies import COPYABLE, examples, texts

PROPERTY = settings(
    max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
MD = MarkdownIt("commonmark").enable(["strikethrough", "table"])


def _inline(source: str) -> list[tuple[str, str]]:
    [block] = MD.parseInline(source)
    return [(t.type, t.content) for t in block.children or []]


@PROPERTY
@given(texts.map(lambda t: " ".join(t.split())))
def test_escaped_data_is_only_text(text: str) -> None:
    tokens = _inline(escape_md(text))
    assert {kind for kind, _ in tokens} <= {"text"}, tokens
    assert "".join(content for _, content in tokens) == text


def test_words_a_reader_copies_are_not_escaped() -> None:
    for word in ("PAPERDROP_LLM_API_KEY", "snake_case_name", "2605.29559", "a_b_c"):
        assert escape_md(word) == word
    assert escape_md("_it_ and __init__") == "\\_it\\_ and \\_\\_init\\_\\_"
    for word in COPYABLE:
        assert "".join(c for _, c in _inline(escape_md(word))) == word


def test_the_glance_list_is_a_table_of_one_row_per_paper() -> None:
    brief = reference_brief()
    tokens = MD.parse(render_markdown(brief))
    others = brief.section("others")
    assert others is not None
    start = next(i for i, t in enumerate(tokens) if t.type == "table_open")
    end = next(i for i, t in enumerate(tokens) if t.type == "table_close")
    table = tokens[start:end]
    header = [t.content for t in table if t.type == "inline"][:4]
    assert header == ["#", "类别", "标题", label("takeaway", "zh")]
    rows = [t for t in table if t.type == "tr_open"][1:]
    assert len(rows) == len(others.items)
    cells = [t for t in table if t.type == "inline"][4:]
    first = others.items[0]
    assert isinstance(first, PaperItem)
    assert [c.content for c in cells[:2]] == ["9", first.category]
    link = cells[2].children or []
    assert link[0].type == "link_open" and link[0].attrs["href"] == first.links.hf
    assert cells[3].content == glance_takeaway(first)


def test_the_brief_reads_top_down() -> None:
    brief = reference_brief().model_copy(update={"header": "检索时间:08:00 · 来源:HF、arXiv"})
    md = render_markdown(brief)
    assert md.split("\n")[:3] == [f"# {brief.title}", "", "*检索时间:08:00 · 来源:HF、arXiv*"]
    headings = [line[3:] for line in md.split("\n") if line.startswith("## ")]
    assert headings == [s.title for s in brief.sections]
