from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings

from bot.core.messages import OutMessage
from bot.platforms.feishu.render import (
    APP_CONTENT_LIMIT,
    ELEMENT_MAX_BYTES,
    MAX_ELEMENTS,
    WEBHOOK_BODY_LIMIT,
    escape,
    render_feishu,
    visible_text,
)
from digest.models import Brief, PaperItem, PaperLinks, Section, abs_url, pdf_url
from tests.fixtures_reference import reference_brief
from tests.render_checks import assert_in_order, assert_links_in_order
from tests.strategies import briefs, examples

PROPERTY = settings(
    max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
Mode = Literal["webhook", "app"]


def _card(m: OutMessage) -> dict[str, Any]:
    if m.method == "webhook":
        return m.payload["card"]  # type: ignore[no-any-return]
    card = json.loads(m.payload["content"])
    assert isinstance(card, dict)
    return card


def _signed_body(payload: dict[str, Any]) -> bytes:
    """The body a signing sender posts: the payload plus timestamp and sign."""
    timestamp = "1780000000"
    key = f"{timestamp}\nsecret".encode()
    sign = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return json.dumps(
        {**payload, "timestamp": timestamp, "sign": sign}, ensure_ascii=False
    ).encode()


def check_limits(messages: list[OutMessage], brief: Brief, mode: Mode) -> None:
    assert messages
    total = len(messages)
    for i, m in enumerate(messages):
        assert m.part == i and m.platform == "feishu"
        assert m.payload["msg_type"] == "interactive"
        if mode == "webhook":
            assert m.method == "webhook"
            assert len(_signed_body(m.payload)) <= WEBHOOK_BODY_LIMIT
        else:
            assert m.method == "im/v1/messages"
            assert isinstance(m.payload["content"], str)
            # Also counted as it travels inside the request body (escaped once more).
            assert len(json.dumps(m.payload["content"], ensure_ascii=False).encode()) <= (
                APP_CONTENT_LIMIT
            )
        card = _card(m)
        assert card["schema"] == "2.0"
        header = card["header"]
        assert header["title"] == {"tag": "plain_text", "content": brief.title}
        subtitle = header["subtitle"]["content"]
        assert subtitle.startswith(str(brief.date))
        assert subtitle.endswith(f"({i + 1}/{total})") == (total > 1)
        elements = card["body"]["elements"]
        assert len(elements) <= MAX_ELEMENTS
        for element in elements:
            assert element["tag"] == "markdown" and element["content"]
            # No element is huge: sections, items, then lines become elements of their own.
            assert len(element["content"].encode()) <= ELEMENT_MAX_BYTES
            # Data never reaches the markdown as syntax: no raw tag, no at-mention.
            assert "<" not in element["content"]


def _bodies(messages: list[OutMessage]) -> list[str]:
    """Visible texts without the card headers (checked in `check_limits`), except the
    first card's title, which is where the brief's title shows."""
    out = []
    for i, m in enumerate(messages):
        header = _card(m)["header"]
        title, subtitle = header["title"]["content"], header["subtitle"]["content"]
        prefix = f"{title}\n{subtitle}\n"
        assert m.text.startswith(prefix)
        out.append((title + "\n" if i == 0 else "") + m.text[len(prefix) :])
    return out


def _hrefs(messages: list[OutMessage]) -> list[str]:
    return [
        url
        for m in messages
        for e in _card(m)["body"]["elements"]
        for url in re.findall(r"\]\(([^()\s]*)\)", e["content"])
    ]


@PROPERTY
@given(briefs())
def test_webhook_cards_within_limits_losslessly(brief: Brief) -> None:
    messages = render_feishu(brief)
    check_limits(messages, brief, "webhook")
    assert_in_order(_bodies(messages), brief)
    assert_links_in_order(_hrefs(messages), brief)


@PROPERTY
@given(briefs())
def test_app_cards_within_limits_losslessly(brief: Brief) -> None:
    messages = render_feishu(brief, mode="app")
    check_limits(messages, brief, "app")
    assert_in_order(_bodies(messages), brief)
    assert_links_in_order(_hrefs(messages), brief)


@pytest.mark.parametrize("mode", ["webhook", "app"])
def test_reference_brief_within_limits_and_complete(mode: Mode) -> None:
    brief = reference_brief()
    messages = render_feishu(brief, mode=mode)
    check_limits(messages, brief, mode)
    assert_in_order(_bodies(messages), brief)
    assert_links_in_order(_hrefs(messages), brief)
    first = _card(messages[0])["body"]["elements"][0]["content"]
    assert first.startswith("#### 一句话总览")
    assert len(messages) <= (2 if mode == "webhook" else 1)


def test_a_section_bigger_than_an_element_is_split_into_small_elements() -> None:
    brief = _brief("t", contribution="强化学习让智能体在环境中学习并不断改进。" * 300)
    messages = render_feishu(brief, mode="app")
    check_limits(messages, brief, "app")
    sizes = [len(e["content"].encode()) for m in messages for e in _card(m)["body"]["elements"]]
    assert len(sizes) > 3 and max(sizes) <= ELEMENT_MAX_BYTES
    assert_in_order(_bodies(messages), brief)


def _brief(title: str, contribution: str = "") -> Brief:
    day = dt.date(2026, 5, 31)
    pid = "2605.29559"
    paper = PaperItem(
        paper_id=pid,
        title=title,
        links=PaperLinks(abs=abs_url(pid), pdf=pdf_url(pid)),
        contribution=contribution,
    )
    return Brief(
        date=day,
        language="zh",
        reader="r",
        title="简报",
        overview="ov",
        mode="llm",
        generated_at=dt.datetime(2026, 5, 31, 8),
        window_start=day,
        window_end=day,
        sections=[Section(kind="top_picks", title="重点推荐", items=[paper])],
    )


def test_markdown_and_mentions_in_data_stay_text() -> None:
    title = '<at user_id="all"></at> [x](http://evil) **b** # h `c` <font color=red>r</font>'
    messages = render_feishu(_brief(title))
    content = "\n".join(e["content"] for e in _card(messages[0])["body"]["elements"])
    assert "<at" not in content and "](http://evil)" not in content and "**b**" not in content
    assert _hrefs(messages) == [abs_url("2605.29559")] * 2 + ["https://arxiv.org/pdf/2605.29559"]
    assert title in messages[0].text


def test_escape_covers_line_start_markers() -> None:
    text = "- a\n+ b\n12. c\n> d\n# e\n=== f"
    escaped = escape(text)
    for line in escaped.split("\n"):
        assert not re.match(r"\s*([-+>#=]|\d+\.)", line), line
    assert visible_text(escaped) == text


def test_split_cards_number_their_parts_and_repeat_the_heading() -> None:
    brief = _brief("t", contribution="强化学习让智能体在环境中学习并不断改进。" * 700)
    messages = render_feishu(brief)
    check_limits(messages, brief, "webhook")
    assert len(messages) >= 2
    for m in messages[1:]:
        first = _card(m)["body"]["elements"][0]["content"]
        assert first == "#### 重点推荐 &#40;续&#41;" or first.startswith("#### 重点推荐 (续)")
    assert_in_order(_bodies(messages), brief)
