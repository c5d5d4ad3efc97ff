"""What the brief reads like on every platform: the shared layout's promises.

"Worth a glance" is one line per paper (number, title link, category, takeaway); the
retrieval note sits under the title; a pick repeated as a must-read is its title and
reason; repos show the stars as fetched and their change; the sources are small print,
localised, and never a message of their own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bot.core.messages import OutMessage
from bot.platforms.feishu.render import render_feishu
from bot.platforms.slack.render import render_slack
from bot.platforms.telegram.render import parse_html, render_telegram
from bot.render.layout import TAKEAWAY_MAX, first_sentence, glance_takeaway, one_line, repo_facts
from bot.render.markdown import render_markdown
from digest.i18n import label
from digest.models import (
    Brief,
    Language,
    PaperItem,
    PaperLinks,
    RepoItem,
    Section,
    SourceItem,
    TextItem,
    abs_url,
    hf_url,
    pdf_url,
)
from tests.delivery_helpers import built_brief
from tests.fixtures_reference import reference_brief
from tests.render_checks import assert_in_order, norm, strip_continued
from tests.strategies import examples, ordinary_briefs

PROPERTY = settings(
    max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

Renderer = Callable[[Brief], list[OutMessage]]
RENDERERS: dict[str, Renderer] = {
    "telegram": render_telegram,
    "slack": render_slack,
    "slack-threads": lambda b: render_slack(b, threads=True),
    "feishu-webhook": render_feishu,
    "feishu-app": lambda b: render_feishu(b, mode="app"),
}


def _shown(messages: list[OutMessage]) -> list[str]:
    return [line for m in messages for line in m.text.split("\n")]


def _brief(*sections: Section, language: Language = "en", header: str = "") -> Brief:
    day = dt.date(2026, 5, 31)
    return Brief(
        date=day,
        language=language,
        reader="r",
        title="Brief",
        overview="ov",
        mode="llm",
        generated_at=dt.datetime(2026, 5, 31, 8, tzinfo=dt.UTC),
        window_start=day,
        window_end=day,
        sections=list(sections),
        header=header,
    )


def _paper(pid: str, title: str = "A paper", **kw: Any) -> PaperItem:
    links = PaperLinks(abs=abs_url(pid), pdf=pdf_url(pid), hf=hf_url(pid))
    return PaperItem(paper_id=pid, title=title, links=links, **kw)


# --- worth a glance --------------------------------------------------------------------


@pytest.mark.parametrize("platform", list(RENDERERS))
def test_glance_is_one_line_per_paper_on_every_platform(platform: str) -> None:
    brief = reference_brief()
    others = brief.section("others")
    assert others is not None
    numbers = {pid: i + 1 for i, pid in enumerate(brief.paper_ids())}
    messages = RENDERERS[platform](brief)
    lines = _shown(messages)
    for item in others.items:
        assert isinstance(item, PaperItem)
        want = f"{numbers[item.paper_id]}. {item.title} · {item.category} — {item.note}"
        assert want in lines, want
        # No links row, no meta row: the PDF of a glance paper is nowhere.
        assert not any(item.links.pdf in json.dumps(m.payload) for m in messages)


def test_glance_papers_link_their_title_only() -> None:
    brief = reference_brief()
    others = brief.section("others")
    assert others is not None
    hrefs = [h for m in render_telegram(brief) for h in parse_html(m.payload["text"]).hrefs]
    for item in others.items:
        assert isinstance(item, PaperItem)
        assert hrefs.count(item.links.hf or item.links.abs) == 1
        assert item.links.pdf not in hrefs


def test_the_glance_list_has_no_gaps_between_papers() -> None:
    brief = reference_brief()
    text = "\n\n".join(m.text for m in render_telegram(brief))
    block = text.split("其他值得扫一眼的论文与动态\n\n", 1)[1].split("\n\n", 1)[0]
    assert len(block.split("\n")) == 17  # all seventeen papers, line after line


def test_takeaway_is_the_note_else_the_first_sentence_cut_at_a_word() -> None:
    pid = "2605.00001"
    assert glance_takeaway(_paper(pid, note="Short take.", contribution="Long. More.")) == (
        "Short take."
    )
    contribution = "We propose X, e.g. a planner. It beats Y by 0.81 points."
    assert (
        glance_takeaway(_paper(pid, contribution=contribution)) == "We propose X, e.g. a planner."
    )
    long = "We study " + "very long words " * 20 + "end. Second sentence."
    take = glance_takeaway(_paper(pid, contribution=long))
    assert take.endswith("…") and len(take) <= TAKEAWAY_MAX
    assert long.startswith(take[:-1]) and take[-2] != " "  # cut after a whole word
    assert (
        first_sentence("提出 CBM/BeliefTrack,评估模型。第二句。")
        == "提出 CBM/BeliefTrack,评估模型。"
    )
    assert (
        first_sentence("J. Smith et al. show it works. Next.") == "J. Smith et al. show it works."
    )
    assert one_line("a\nb  c") == "a b c"
    assert one_line("长" * 300).endswith("…") and len(one_line("长" * 300)) <= TAKEAWAY_MAX


def test_markdown_glance_table_is_one_row_per_paper() -> None:
    brief = reference_brief()
    md = render_markdown(brief)
    header = f"| # | 类别 | 标题 | {label('takeaway', 'zh')} |"
    assert header in md
    rows = md.split(header, 1)[1].split("\n\n", 1)[0].strip().split("\n")[1:]
    others = brief.section("others")
    assert others is not None and len(rows) == len(others.items)
    first = others.items[0]
    assert isinstance(first, PaperItem)
    assert rows[0].startswith(f"| 9 | {first.category} | [{first.title}](<{first.links.hf}>) |")
    assert rows[0].endswith(f"| {first.note} |")


# --- the header note under the title -------------------------------------------------


def test_header_note_is_a_small_line_under_the_title_everywhere() -> None:
    header = "检索时间:2026-05-31 08:00(Asia/Shanghai) · 窗口 2026-05-28 – 2026-05-31"
    brief = reference_brief().model_copy(update={"header": header})
    telegram = render_telegram(brief)[0].text.split("\n")
    assert telegram[0] == brief.title and telegram[2] == header
    blocks = render_slack(brief)[0].payload["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == brief.title
    assert blocks[1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": header, "verbatim": True}],
    }
    threaded = render_slack(brief, threads=True)[0].payload["blocks"]
    assert threaded[1]["elements"][0]["text"] == header
    card = render_feishu(brief)[0].payload["card"]
    assert card["header"]["title"]["content"] == brief.title
    assert render_feishu(brief)[0].text.split("\n")[2] == header
    assert card["body"]["elements"][0]["content"].startswith("检索时间:2026-05-31 08:00&#40;")
    md = render_markdown(brief).split("\n")
    assert (
        md[0] == f"# {brief.title}"
        and md[2] == "*检索时间:2026-05-31 08:00(Asia/Shanghai) · 窗口 2026-05-28 – 2026-05-31*"
    )


def test_without_a_header_markdown_shows_the_window_and_time() -> None:
    md = render_markdown(_brief())
    assert md.split("\n")[2] == "*2026-05-31 · 2026-05-31 08:00 UTC*"


# --- read closely ----------------------------------------------------------------------


def test_a_pick_read_closely_is_its_title_and_reason() -> None:
    brief = reference_brief()
    text = "\n".join(m.text for m in render_telegram(brief))
    closely = text.split("今日最值得精读的 3 篇", 1)[1].split("今日最值得跟进", 1)[0]
    assert "arXiv · PDF" not in closely and "2026-05-28" not in closely
    # Its title with its number above as a reference (numbered 1, 3, 4 the list would
    # read as if items were missing).
    assert "• LiteCoder-Terminal" in closely and "(见上文第 1 篇)" in closely
    assert "精读理由: 最贴近代码 Agent" in closely
    assert not re.search(r"^\d+\. ", closely, re.M)
    hrefs = [h for m in render_telegram(brief) for h in parse_html(m.payload["text"]).hrefs]
    assert hrefs.count(pdf_url("2605.29559")) == 1  # its links row once, with the pick


def test_a_must_read_not_shown_before_keeps_its_links() -> None:
    paper = _paper("2605.00002", contribution="Does things.", note="Read for the method.")
    brief = _brief(Section(kind="must_read", title="Read closely", items=[paper]))
    hrefs = [h for m in render_telegram(brief) for h in parse_html(m.payload["text"]).hrefs]
    assert pdf_url("2605.00002") in hrefs


# --- repos -----------------------------------------------------------------------------


def _repo(**kw: Any) -> RepoItem:
    return RepoItem(url="https://github.com/o/r", full_name="o/r", **kw)


@pytest.mark.parametrize(
    ("kw", "en"),
    [
        ({"stars": 385}, "★ 385"),
        (
            {"stars": 1385, "stars_delta": 120, "delta_days": 1},
            "★ 1,385 (+120 stars since yesterday)",
        ),
        ({"stars": 385, "stars_delta": 120, "delta_days": 3}, "★ 385 (+120 stars in 3 days)"),
        ({"stars": 9, "stars_delta": -2}, "★ 9 (-2 stars since yesterday)"),
        ({"stars": 9, "stars_delta": 0, "delta_days": 2}, "★ 9 (+0 stars in 2 days)"),
    ],
)
def test_repo_stars_and_their_change(kw: dict[str, Any], en: str) -> None:
    assert repo_facts(_repo(**kw), "en") == [en]
    [zh] = repo_facts(_repo(**kw), "zh")
    delta, days = kw.get("stars_delta"), kw.get("delta_days") or 1
    if delta is None:
        assert zh == en
    else:
        key = "stars_since_yesterday" if days == 1 else "stars_delta"
        change = label(key, "zh", delta=f"{delta:+,}", days=str(days))
        assert zh == f"★ {kw['stars']:,} ({change})" and f"{delta:+,}" in change


def test_repo_facts_flag_archived_and_say_nothing_unverified() -> None:
    pushed = dt.datetime(2026, 5, 30, tzinfo=dt.UTC)
    assert repo_facts(_repo(stars=5, archived=True, pushed_at=pushed), "en") == [
        "archived",
        "★ 5",
        "Last push 2026-05-30",
    ]
    assert repo_facts(_repo(archived=True), "zh") == ["已归档"]
    unverified = _repo(description="What it does", note="Follow the eval scripts.")
    for lang in ("en", "zh"):
        brief = _brief(Section(kind="repos", title="Repos", items=[unverified]), language=lang)
        for platform, render in RENDERERS.items():
            text = "\n".join(m.text for m in render(brief))
            assert "not verified" not in text and "未验证" not in text, platform
            assert "★" not in text and "What it does" in text
        md = render_markdown(brief)
        assert "not verified" not in md and "未验证" not in md
        assert "1. [o/r](<https://github.com/o/r>)\n   - What it does" in md


def test_repo_velocity_reaches_every_platform() -> None:
    repo = _repo(stars=2000, stars_delta=120, delta_days=1)
    brief = _brief(Section(kind="repos", title="Repos", items=[repo]))
    for render in RENDERERS.values():
        assert "★ 2,000 (+120 stars since yesterday)" in "\n".join(m.text for m in render(brief))
    assert "★ 2,000 (+120 stars since yesterday)" in render_markdown(brief)


# --- sources ---------------------------------------------------------------------------


def test_source_statuses_are_localised() -> None:
    sources = Section(
        kind="sources",
        title="来源说明",
        items=[SourceItem(source="arXiv", status="ok", detail="12 篇")],
    )
    zh = "\n".join(m.text for m in render_telegram(_brief(sources, language="zh")))
    assert "arXiv [正常]: 12 篇" in zh and "[ok]" not in zh
    assert "**arXiv** (正常): 12 篇" in render_markdown(_brief(sources, language="zh"))
    en = "\n".join(m.text for m in render_telegram(_brief(sources)))
    assert "arXiv [answered]: 12 篇" in en


def _body(m: OutMessage) -> str:
    # A Feishu card's text starts with its header (title, subtitle): not the body.
    return m.text.split("\n", 2)[2] if m.platform == "feishu" else m.text


def _opens_with_sources(m: OutMessage, brief: Brief) -> bool:
    sources = brief.section("sources")
    assert sources is not None
    return strip_continued(_body(m), brief).startswith(norm(sources.title))


@pytest.mark.parametrize("platform", list(RENDERERS))
def test_sources_never_arrive_alone_on_any_platform(platform: str) -> None:
    for brief in (reference_brief(), built_brief(papers=20), built_brief(papers=40, language="zh")):
        messages = RENDERERS[platform](brief)
        assert not any(_opens_with_sources(m, brief) for m in messages)


@PROPERTY
@given(ordinary_briefs())
def test_ordinary_sources_never_arrive_alone(brief: Brief) -> None:
    for name in ("telegram", "feishu-webhook", "feishu-app"):
        messages = RENDERERS[name](brief)
        assert not any(_opens_with_sources(m, brief) for m in messages), name
    assert_in_order([m.text for m in render_telegram(brief)], brief)


def test_a_reply_keeps_its_text_items() -> None:
    # Replies (commands' answers) render through the same layout, unchanged.
    reply_text = "Set PAPERDROP_LLM_API_KEY to enable ideas."
    brief = _brief(Section(kind="ideas", title="Ideas", items=[TextItem(text=reply_text)]))
    for render in RENDERERS.values():
        assert reply_text in "\n".join(m.text for m in render(brief))
