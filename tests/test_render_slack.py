from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from slack_sdk.models.blocks import Block

from bot.platforms.base import OutMessage
from bot.platforms.slack.render import (
    CONTEXT_MAX_ELEMENTS,
    HEADER_TEXT_MAX,
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    escape,
    link,
    render_slack,
    slack_len,
    visible_text,
)
from digest.models import Brief, PaperItem, PaperLinks, Section, TextItem, abs_url, pdf_url
from tests.fixtures_reference import reference_brief
from tests.render_checks import assert_in_order, assert_links_in_order
from tests.strategies import briefs

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
                assert 0 < slack_len(block["text"]["text"]) <= HEADER_TEXT_MAX
            elif block["type"] == "section":
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < slack_len(block["text"]["text"]) <= SECTION_TEXT_MAX
            elif block["type"] == "actions":
                # Feedback buttons: last block, values are "fb|up:<id>" / "fb|down:<id>".
                assert block is blocks[-1] and m.in_thread and m.paper_id
                values = [e["value"] for e in block["elements"]]
                assert values == [f"fb|up:{m.paper_id}", f"fb|down:{m.paper_id}"]
            else:
                assert block["type"] == "context"
                assert len(block["elements"]) <= CONTEXT_MAX_ELEMENTS
            total += sum(slack_len(t) for t in _texts(block))
        assert total < OBSERVED_TOO_LONG
        # Nobody gets notified, whatever the data said.
        assert not NOTIFYING.search(json.dumps(p, ensure_ascii=False))


@PROPERTY
@given(briefs())
def test_any_brief_renders_within_limits_losslessly(brief: Brief) -> None:
    messages = render_slack(brief)
    check_limits(messages)
    assert_in_order([m.text for m in messages], brief)
    assert_links_in_order(_hrefs(messages), brief)


@PROPERTY
@given(briefs())
def test_threads_put_the_head_in_the_parent_and_each_pick_alone(brief: Brief) -> None:
    messages = render_slack(brief, threads=True)
    check_limits(messages)
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
    # Every formatting marker is fenced by zero-width spaces, so none opens or closes.
    assert not re.search(r"(?<!\u200b)[*_~`]|[*_~`](?!\u200b)", mrkdwn.split("|", 1)[1])
    assert visible_text(mrkdwn).replace("\u200b", "") == title


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
