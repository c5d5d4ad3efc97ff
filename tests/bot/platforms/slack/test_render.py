from __future__ import annotations

import datetime as dt
import json
import re
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.core.messages import OutMessage
from bot.platforms.slack.render import (
    CONTEXT_MAX_ELEMENTS,
    FIELDS_MAX,
    HEADER_TEXT_MAX,
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    escape,
    escape_text,
    link,
    render_slack,
    visible_text,
)
from bot.render.split import utf16_len
from digest.models import (
    Brief,
    PaperItem,
    PaperLinks,
    Section,
    SourceItem,
    TextItem,
    abs_url,
    pdf_url,
)
from tests.delivery_helpers import built_brief
from tests.fixtures_reference import reference_brief
from tests.render_checks import assert_in_order, assert_links_in_order, norm, strip_continued
from tests.strategies import COPYABLE, briefs, examples, identifiers, ordinary_briefs, texts

PROPERTY = settings(
    max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Slack has rejected payloads near 13k characters of block text (msg_blocks_too_long).
OBSERVED_TOO_LONG = 12_000
# A mention that would notify: Slack's special mentions, or the words a client links.
NOTIFYING = re.compile(r"<!(channel|here|everyone)|@(channel|here|everyone)\b", re.IGNORECASE)


def _brief(*items: Any, title: str = "Top picks") -> Brief:
    day = dt.date(2026, 5, 31)
    return Brief(
        date=day,
        language="en",
        reader="r",
        title="Brief",
        overview="ov",
        mode="llm",
        generated_at=dt.datetime(2026, 5, 31, 8),
        window_start=day,
        window_end=day,
        sections=[Section(kind="top_picks", title=title, items=list(items))],
    )


def _paper(title: str = "A paper", **kw: Any) -> PaperItem:
    pid = "2605.29559"
    return PaperItem(
        paper_id=pid, title=title, links=PaperLinks(abs=abs_url(pid), pdf=pdf_url(pid)), **kw
    )


def _texts(block: dict[str, Any]) -> list[str]:
    if block["type"] in ("header", "section"):
        return [block["text"]["text"]]
    if block["type"] == "actions":
        return [e["text"]["text"] for e in block["elements"]]
    assert block["type"] == "context"
    return [e["text"] for e in block["elements"]]


def _hrefs(messages: list[OutMessage]) -> list[str]:
    out = []
    for m in messages:
        for block in m.payload["blocks"]:
            if block["type"] == "header":
                continue
            for text in _texts(block):
                out += [u.replace("&amp;", "&") for u in re.findall(r"<([^|>]*)\|", text)]
    return out


# --- a strict model of mrkdwn formatting -------------------------------------------------
# A marker opens after a line start, a space or ASCII punctuation and before a non-space;
# it closes after a non-space and before a space, ASCII punctuation or the end. Anything
# else next to it (a letter, a digit, a zero-width space) makes it plain text. Formatting
# may span lines and link labels (stricter than Slack); a backtick opens and closes
# anywhere unless fenced. An address link `<url>` is one opaque word.
_ZWSP = "\u200b"
_OPAQUE = "\ue000"
_PUNCT = frozenset(string.punctuation)
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_LINK_TOKEN = re.compile(r"<([^|>]*)\|([^>]*)>|<(https?://[^|>]*)>")


def _pairs(text: str) -> list[tuple[int, int]]:
    def opens(i: int) -> bool:
        if i + 1 >= len(text) or text[i + 1].isspace():
            return False
        before = text[i - 1] if i else " "
        if text[i] == "`":
            return before != _ZWSP
        return before.isspace() or before in _PUNCT

    def closes(j: int) -> bool:
        if text[j - 1].isspace():
            return False
        after = text[j + 1] if j + 1 < len(text) else " "
        if text[j] == "`":
            return after != _ZWSP
        return after.isspace() or after in _PUNCT

    out: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        if text[i] in "*_~`" and opens(i):
            j = next((j for j in range(i + 2, len(text)) if text[j] == text[i] and closes(j)), None)
            if j is not None:
                out.append((i, j))
                i = j + 1
                continue
        i += 1
    return out


def model_visible(mrkdwn: str) -> str:
    """What the strict model shows for `mrkdwn`: formatting markers it pairs removed."""
    urls: list[str] = []

    def token(m: re.Match[str]) -> str:
        if m.group(3) is not None:
            urls.append(m.group(3))
            return _OPAQUE
        return m.group(2)

    text = _LINK_TOKEN.sub(token, mrkdwn)
    drop = {pos for pair in _pairs(text) for pos in pair}
    text = "".join(c for i, c in enumerate(text) if i not in drop)
    for url in urls:
        text = text.replace(_OPAQUE, url, 1)
    return re.sub(r"&(amp|lt|gt);", lambda m: _ENTITIES[m.group(1)], text)


def _mrkdwn_texts(m: OutMessage) -> list[str]:
    return [
        t for b in m.payload["blocks"] if b["type"] in ("section", "context") for t in _texts(b)
    ]


def check_formatting(messages: list[OutMessage]) -> None:
    """Only our own bold markers format anything: the strict model shows exactly what
    `visible_text` (checked against the brief) says is shown."""
    for m in messages:
        for text in _mrkdwn_texts(m):
            assert model_visible(text) == visible_text(text), text
        fallback = m.payload["text"]
        assert _pairs(_LINK_TOKEN.sub(_OPAQUE, fallback)) == [], fallback


def check_limits(messages: list[OutMessage]) -> None:
    assert messages
    for i, m in enumerate(messages):
        assert m.part == i and m.method == "chat.postMessage" and m.platform == "slack"
        p = m.payload
        assert p["unfurl_links"] is False and p["unfurl_media"] is False
        assert p["text"].strip(), "a fallback text is always sent with blocks"
        blocks = p["blocks"]
        assert 0 < len(blocks) <= MAX_BLOCKS
        total = 0
        for block in blocks:
            # The typed models parse back and validate (raises on any exceeded limit).
            Block.parse(block).validate_json()  # type: ignore[union-attr]
            if block["type"] == "header":
                assert block["text"]["type"] == "plain_text"
                assert 0 < utf16_len(block["text"]["text"]) <= HEADER_TEXT_MAX
            elif block["type"] == "section":
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < utf16_len(block["text"]["text"]) <= SECTION_TEXT_MAX
            elif block["type"] == "actions":
                # Feedback buttons: last block, values are "fb|up:<id>" / "fb|down:<id>".
                assert block is blocks[-1] and m.in_thread and m.paper_id
                values = [e["value"] for e in block["elements"]]
                assert values == [f"fb|up:{m.paper_id}", f"fb|down:{m.paper_id}"]
            else:
                assert block["type"] == "context"
                assert len(block["elements"]) <= CONTEXT_MAX_ELEMENTS
            total += sum(utf16_len(t) for t in _texts(block))
        assert total < OBSERVED_TOO_LONG
        # Nobody gets notified, whatever the data said.
        assert not NOTIFYING.search(json.dumps(p, ensure_ascii=False))


@PROPERTY
@given(briefs())
def test_any_brief_renders_within_limits_losslessly(brief: Brief) -> None:
    messages = render_slack(brief)
    check_limits(messages)
    check_formatting(messages)
    assert_in_order([m.text for m in messages], brief)
    assert_links_in_order(_hrefs(messages), brief)


@PROPERTY
@given(briefs())
def test_threads_put_the_head_in_the_parent_and_each_pick_alone(brief: Brief) -> None:
    messages = render_slack(brief, threads=True)
    check_limits(messages)
    check_formatting(messages)
    assert messages[0].parent and not messages[0].in_thread
    assert all(m.in_thread and not m.parent for m in messages[1:])
    assert_in_order([m.text for m in messages], brief)
    picks = brief.section("top_picks")
    pick_ids = [i.paper_id for i in picks.items if isinstance(i, PaperItem)] if picks else []
    # Each pick's messages name it (the thread's context), in the brief's order.
    about = list(dict.fromkeys(m.paper_id for m in messages if m.paper_id))
    assert about == list(dict.fromkeys(pick_ids))
    overview = brief.section("overview")
    first_other = next((sec for sec in brief.sections if sec is not overview), None)
    if pick_ids and first_other is picks:
        # The parent holds the opening (title and overview) and nothing of the sections.
        opening = brief.model_copy(update={"sections": [overview] if overview else []})
        alone = render_slack(opening)
        if len(alone) == 1:
            assert messages[0].payload["blocks"] == alone[0].payload["blocks"]


def test_reference_brief_within_limits_and_complete() -> None:
    brief = reference_brief()
    for threads in (False, True):
        messages = render_slack(brief, threads=threads)
        check_limits(messages)
        assert_in_order([m.text for m in messages], brief)
        assert_links_in_order(_hrefs(messages), brief)
        assert messages[0].text.startswith(brief.title)
    threaded = render_slack(brief, threads=True)
    assert brief.overview in threaded[0].text
    assert "重点推荐" not in threaded[0].text  # the parent is the overview only


def test_mass_mentions_are_neutralised_but_still_readable() -> None:
    hostile = "<!channel> @here @everyone @Channel <!subteam^S1> <@U123>"
    messages = render_slack(_brief(_paper(title=hostile, contribution=hostile)))
    check_limits(messages)
    payload = json.dumps(messages[0].payload, ensure_ascii=False)
    assert "<!" not in payload and "<@" not in payload
    # What the reader sees is the text itself, only with invisible joiners inserted.
    assert hostile in messages[0].text.replace("\u200d", "")


def test_markup_is_escaped_and_formatting_characters_are_inert() -> None:
    title = "<b>x</b> & *bold* _it_ ~s~ `code` <http://evil|click>"
    mrkdwn = link("https://arxiv.org/abs/1", title)
    assert mrkdwn.startswith("<https://arxiv.org/abs/1|")
    # One link only: the data's own "<http://evil|click>" is text.
    assert re.findall(r"<([^|>]*)\|", mrkdwn) == ["https://arxiv.org/abs/1"]
    assert "&lt;b&gt;" in mrkdwn and "&amp;" in mrkdwn
    # Every formatting marker here is at a word edge: fenced by zero-width spaces.
    assert not re.search(r"(?<!\u200b)[*_~`]|[*_~`](?!\u200b)", mrkdwn.split("|", 1)[1])
    assert visible_text(mrkdwn).replace("\u200b", "") == title
    assert model_visible(mrkdwn) == visible_text(mrkdwn)


def test_pipes_and_angle_brackets_in_urls_cannot_end_the_link() -> None:
    url = "https://x.io/a|b<c>d e&f"
    mrkdwn = link(url, "t|x")
    target, _text = re.fullmatch(r"<([^|>]*)\|([^>]*)>", mrkdwn).groups()  # type: ignore[union-attr]
    assert target == "https://x.io/a%7Cb%3Cc%3Ed%20e&amp;f"
    assert visible_text(mrkdwn) == "t|x"


def test_long_section_title_falls_back_to_section_text() -> None:
    title = "T" * (HEADER_TEXT_MAX + 1)
    messages = render_slack(_brief(_paper(), title=title))
    check_limits(messages)
    assert title in messages[0].text
    assert not any(
        b["type"] == "header" and b["text"]["text"] == title for b in messages[0].payload["blocks"]
    )


def test_oversized_item_is_split_with_continued_headers() -> None:
    sentence = "强化学习让智能体在环境中学习并不断改进。"
    brief = _brief(_paper(contribution=sentence * 800), TextItem(text="tail"))
    messages = render_slack(brief)
    check_limits(messages)
    assert len(messages) >= 2
    for m in messages[1:]:
        assert m.payload["blocks"][0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": "Top picks (continued)", "emoji": False},
        }
    assert_in_order([m.text for m in messages], brief)


def test_escape_leaves_plain_text_alone() -> None:
    assert escape("Plain words, 中文。") == "Plain words, 中文。"


# --- words a reader copies -------------------------------------------------------------


def test_markers_inside_words_are_left_alone() -> None:
    text = "Set PAPERDROP_LLM_API_KEY (or snake_case_name), 2*3*4 and x~y; id 2605.29559."
    assert escape(text) == text  # nothing to fence: every marker is inside a word
    for edge in ("_it_", "*b*", "~s~", "a `b` c", "__init__", "x_", "_x", "a*", "中_文"):
        fenced = escape(edge)
        assert "\u200b" in fenced and model_visible(fenced) == visible_text(fenced) == fenced
    assert visible_text(escape("2*3*4")) == "2*3*4"


def test_web_addresses_in_text_are_links_showing_the_address() -> None:
    text = (
        "Code: https://www.cs.example.edu/~name/_a_/x?q=1&b=2. Also (https://github.com/a/b_c)、ok"
    )
    mrkdwn = escape_text(text)
    assert "<https://www.cs.example.edu/~name/_a_/x?q=1&amp;b=2>" in mrkdwn
    # An address with nothing to fence stays text, as it was.
    assert "(https://github.com/a/b_c)、" in mrkdwn
    assert (
        escape_text("“http://arxiv.org/abs/2613.00001” is")
        == "“http://arxiv.org/abs/2613.00001” is"
    )
    assert escape_text("“http://x.io/~a” is") == "“<http://x.io/~a>” is"
    assert "\u200b" not in mrkdwn
    assert visible_text(mrkdwn) == text
    assert model_visible(mrkdwn) == text
    # A "mention" in an address is not made a link: it stays text and is neutralised.
    assert "<https://x.io/@channel" not in escape_text("https://x.io/@channel")


@PROPERTY
@given(
    st.lists(st.tuples(texts, identifiers, st.sampled_from(["", " ", "(", "、", "\n", "_", "*"])))
)
def test_a_copied_identifier_has_no_zero_width_character(
    parts: list[tuple[str, str, str]],
) -> None:
    text = "".join(f"{before}{sep}{ident}{sep}" for before, ident, sep in parts)
    mrkdwn = escape_text(text)
    for _before, ident, _sep in parts:
        assert ident in mrkdwn, (ident, mrkdwn)
    # And the data still shows as itself, with no formatting made of it.
    shown = visible_text(mrkdwn)
    assert model_visible(mrkdwn) == shown
    assert shown.replace("\u200b", "").replace("@\u200d", "@") == text


@PROPERTY
@given(texts)
def test_data_never_becomes_formatting(text: str) -> None:
    mrkdwn = escape_text(text)
    assert model_visible(mrkdwn) == visible_text(mrkdwn)
    assert visible_text(mrkdwn).replace("\u200b", "").replace("@\u200d", "@") == text


def test_environment_variables_and_ids_copy_cleanly_from_a_brief() -> None:
    words = " ".join(COPYABLE)
    brief = _brief(_paper(title="snake_case_name 2605.29559", contribution=words))
    messages = render_slack(brief)
    check_limits(messages)
    check_formatting(messages)
    payload = "\n".join(t for m in messages for t in _mrkdwn_texts(m))
    for word in ("PAPERDROP_LLM_API_KEY", "OPENAI_API_KEY", "snake_case_name", "2605.29559"):
        assert word in payload
    assert "<https://www.cs.example.edu/~name/a_b.html>" in payload
    assert "https://github.com/JasonZhujp/Skill0_5" in payload


# --- the sources never stand alone -----------------------------------------------------


def _opens_with(m: OutMessage, brief: Brief, title: str) -> bool:
    return strip_continued(m.text, brief).startswith(norm(title))


def test_sources_never_arrive_alone_in_the_reference_sample_or_built_briefs() -> None:
    for brief in (reference_brief(), built_brief(papers=20), built_brief(papers=40)):
        sources = brief.section("sources")
        assert sources is not None
        for threads in (False, True):
            messages = render_slack(brief, threads=threads)
            check_limits(messages)
            assert not any(_opens_with(m, brief, sources.title) for m in messages)


def test_sources_that_would_start_a_message_bring_the_end_of_the_conclusion() -> None:
    filler = [TextItem(text=f"{i} " + "word " * 400) for i in range(5)]
    brief = _brief(*filler).model_copy(
        update={
            "sections": [
                Section(kind="conclusion", title="Conclusion", items=filler),
                Section(
                    kind="sources",
                    title="Sources",
                    items=[SourceItem(source="arXiv", status="ok", detail="12 papers")],
                ),
            ]
        }
    )
    messages = render_slack(brief)
    check_limits(messages)
    assert_in_order([m.text for m in messages], brief)
    last = messages[-1].text
    assert "Sources" in last and "12 papers" in last
    assert not _opens_with(messages[-1], brief, "Sources")
    assert "word" in last.split("Sources")[0]  # the conclusion's end came along


@PROPERTY
@given(ordinary_briefs())
def test_sources_never_arrive_alone(brief: Brief) -> None:
    for threads in (False, True):
        messages = render_slack(brief, threads=threads)
        check_limits(messages)
        assert_in_order([m.text for m in messages], brief)
        assert not any(_opens_with(m, brief, "Sources") for m in messages)


def test_the_limits_stated_without_the_sdk_are_slack_sdk_s() -> None:
    # render.py states them without importing slack_sdk at module level (its import is slow).
    assert SectionBlock.text_max_length == SECTION_TEXT_MAX
    assert HeaderBlock.text_max_length == HEADER_TEXT_MAX
    assert SectionBlock.fields_max_length == FIELDS_MAX
    assert ContextBlock.elements_max_length == CONTEXT_MAX_ELEMENTS
