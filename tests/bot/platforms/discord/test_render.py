"""Discord rendering: any brief as messages of embeds within Discord's limits, lossless and
in order, with data text that never becomes Markdown or a mention."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bot.core.messages import OutMessage
from bot.platforms.discord.render import (
    BUTTONS_PER_ROW,
    CUSTOM_ID_MAX,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    EMBEDS_MAX,
    ROWS_MAX,
    THREAD_NAME_MAX,
    TITLE_MAX,
    escape,
    link,
    render_discord,
    visible_text,
)
from bot.render.split import utf16_len
from digest.models import Brief, PaperItem, Reply
from tests.fakes.discord_server import check_body
from tests.fixtures_reference import reference_brief
from tests.render_checks import assert_in_order, assert_links_in_order, norm
from tests.strategies import COPYABLE, briefs, examples, texts

PROPERTY = settings(
    max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# A link's closing bracket follows an even run of backslashes (`\\]` is an escaped
# backslash, then the bracket; `\]` is an escaped bracket).
_LINK = re.compile(r"(?<!\\)(?:\\\\)*\]\((https?://[^)\s]+)\)")
# What would notify or format in Discord if it reached a message unescaped.
_MENTION = re.compile(r"@(everyone|here)|(?<!\\)<[@#]", re.IGNORECASE)


def _body(m: OutMessage) -> dict[str, Any]:
    return m.payload["message"] if m.method == "thread" else m.payload


def check_limits(messages: list[OutMessage]) -> None:
    for m in messages:
        body = _body(m)
        check_body(body)  # the fake's copy of Discord's rules: raises on any limit
        embeds = body["embeds"]
        assert 0 < len(embeds) <= EMBEDS_MAX
        total = 0
        for e in embeds:
            assert utf16_len(e.get("title", "")) <= TITLE_MAX
            assert utf16_len(e.get("description", "")) <= DESCRIPTION_MAX
            total += utf16_len(e.get("title", "")) + utf16_len(e.get("description", ""))
        assert total <= EMBED_TOTAL_MAX
        rows = body.get("components", [])
        assert len(rows) <= ROWS_MAX
        for row in rows:
            assert len(row["components"]) <= BUTTONS_PER_ROW
            assert all(len(b["custom_id"]) <= CUSTOM_ID_MAX for b in row["components"])
        assert body["allowed_mentions"] == {"parse": []}
        if m.method == "thread":
            assert 0 < len(m.payload["name"]) <= THREAD_NAME_MAX
        assert not _MENTION.search(json.dumps(body, ensure_ascii=False))


def _shown(m: OutMessage) -> str:
    """What Discord shows of a message we rendered: each embed's title and description."""
    parts = []
    for e in _body(m)["embeds"]:
        parts += [visible_text(e.get("title", "")), visible_text(e.get("description", ""))]
    return "\n".join(parts)


def _hrefs(messages: list[OutMessage]) -> list[str]:
    return [
        url
        for m in messages
        for e in _body(m)["embeds"]
        for url in _LINK.findall(e.get("description", ""))
    ]


@PROPERTY
@given(briefs())
def test_any_brief_renders_within_limits_losslessly(brief: Brief) -> None:
    for threads in (False, True):
        messages = render_discord(brief, threads=threads)
        check_limits(messages)
        assert [norm(_shown(m)) for m in messages] == [norm(m.text) for m in messages]
        assert_in_order([m.text for m in messages], brief)
        assert_links_in_order(_hrefs(messages), brief)


@PROPERTY
@given(briefs())
def test_threads_give_each_pick_its_message_buttons_and_thread(brief: Brief) -> None:
    messages = render_discord(brief, threads=True)
    assert messages[0].parent and not any(m.in_thread for m in messages)
    picks = brief.section("top_picks")
    pick_ids = [i.paper_id for i in picks.items if isinstance(i, PaperItem)] if picks else []
    opening = [m.paper_id for m in messages if m.method == "thread"]
    assert opening == (pick_ids if len(messages) > 1 or not pick_ids else [])
    for m in messages:
        buttons = [b["custom_id"] for r in _body(m).get("components", []) for b in r["components"]]
        if buttons:
            assert buttons == [f"fb|up:{m.paper_id}", f"fb|down:{m.paper_id}"]


def test_reference_brief_within_limits_and_complete() -> None:
    brief = reference_brief()
    for threads in (False, True):
        messages = render_discord(brief, threads=threads)
        check_limits(messages)
        assert_in_order([m.text for m in messages], brief)
        assert_links_in_order(_hrefs(messages), brief)
        assert messages[0].text.startswith(brief.title)


def test_mass_mentions_and_markup_are_inert_but_readable() -> None:
    hostile = "@everyone @here <@123> <#9> <@&7> **b** __u__ ~~s~~ ||spoiler|| `c` [x](http://e)"
    escaped = escape(hostile)
    assert not _MENTION.search(escaped)
    for raw in ("**b**", "__u__", "~~s~~", "||spoiler||", "`c`", "[x](http"):
        assert raw not in escaped
    assert visible_text(escaped).replace("@\u200b", "@") == hostile


@pytest.mark.parametrize(
    "line", ["# heading", "-# subtext", "> quote", "- item", "+ item", "1. item", "  2. item"]
)
def test_line_start_markers_are_escaped(line: str) -> None:
    escaped = escape(f"text\n{line}")
    assert escaped.split("\n")[1] != line
    assert visible_text(escaped) == f"text\n{line}"


def test_web_addresses_in_text_stay_as_written_and_links_cannot_be_ended_early() -> None:
    for address in COPYABLE[6:]:
        assert escape(f"see {address}.") == f"see {address}."
    assert (
        link("https://x.org/a_(b) c", "label [1]") == "[label \\[1\\]](https://x.org/a_%28b%29%20c)"
    )


@PROPERTY
@given(texts)
def test_data_never_becomes_formatting(text: str) -> None:
    escaped = escape(text)
    assert visible_text(escaped).replace("@\u200b", "@") == text
    assert not _MENTION.search(escaped)


def test_a_private_reply_renders_like_any_other() -> None:
    reply = Reply.text("en", "only for you")
    reply.private = True
    [m] = render_discord(reply)
    check_limits([m])
    assert m.text == "only for you"
