from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from telegram import Update
from telegram.constants import CallbackQueryLimit, ChatType, MessageLimit

from bot.core.messages import OutMessage
from bot.platforms.telegram import incoming, receive, render
from bot.platforms.telegram.render import parse_html, render_telegram, visible_length, visible_text
from digest.models import Brief, PaperItem, PaperLinks, Section, abs_url, pdf_url
from tests.fixtures_reference import reference_brief
from tests.render_checks import assert_in_order, assert_links_in_order
from tests.strategies import briefs, examples

PROPERTY = settings(
    max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _brief(*items: PaperItem, overview: str = "ov", title: str = "Brief") -> Brief:
    day = dt.date(2026, 5, 31)
    return Brief(
        date=day,
        language="en",
        reader="r",
        title=title,
        overview=overview,
        mode="llm",
        generated_at=dt.datetime(2026, 5, 31, 8),
        window_start=day,
        window_end=day,
        sections=[Section(kind="top_picks", title="Top picks", items=list(items))],
    )


def _paper(pid: str = "2605.29559", **kw: object) -> PaperItem:
    links = PaperLinks(abs=abs_url(pid), pdf=pdf_url(pid), project=kw.pop("project", None))
    return PaperItem(paper_id=pid, title=kw.pop("title", "A paper"), links=links, **kw)


def check_limits(messages: list[OutMessage]) -> None:
    assert messages, "a brief always yields at least one message"
    for i, m in enumerate(messages):
        assert m.part == i and m.method == "sendMessage" and m.platform == "telegram"
        html_text = m.payload["text"]
        assert m.payload["parse_mode"] == "HTML"
        parsed = parse_html(html_text)
        assert parsed.errors == [], parsed.errors
        # Only the tags we mean to produce; anything else came from data.
        assert set(_tags(html_text)) <= {"b", "a"}
        assert 0 < visible_length(html_text) <= MessageLimit.MAX_TEXT_LENGTH
        assert parsed.entities <= MessageLimit.MESSAGE_ENTITIES
        assert m.text == visible_text(html_text)


def _tags(html_text: str) -> list[str]:
    import re

    return re.findall(r"<([a-z-]+)[\s>]", html_text)


@PROPERTY
@given(briefs())
def test_any_brief_renders_within_limits_losslessly(brief: Brief) -> None:
    messages = render_telegram(brief)
    check_limits(messages)
    assert_in_order([m.text for m in messages], brief)
    hrefs = [h for m in messages for h in parse_html(m.payload["text"]).hrefs]
    assert_links_in_order(hrefs, brief)


def test_reference_brief_within_limits_and_complete() -> None:
    brief = reference_brief()
    messages = render_telegram(brief)
    check_limits(messages)
    assert_in_order([m.text for m in messages], brief)
    assert_links_in_order([h for m in messages for h in parse_html(m.payload["text"]).hrefs], brief)
    assert messages[0].text.startswith(brief.title)
    assert brief.overview in messages[0].text
    # Packing fills messages and the glance list is one line a paper: three messages.
    assert len(messages) <= 3


def test_markup_in_titles_is_shown_literally() -> None:
    title = '<b>x</b> &amp; <a href="http://evil">y</a> <tg-spoiler>s</tg-spoiler>'
    messages = render_telegram(_brief(_paper(title=title)))
    check_limits(messages)
    assert title in messages[0].text
    hrefs = parse_html(messages[0].payload["text"]).hrefs
    assert "http://evil" not in hrefs


def test_preview_shows_first_pick_then_is_disabled() -> None:
    brief = _brief(_paper("2605.00001", contribution="c" * 5000), _paper("2605.00002"))
    messages = render_telegram(brief)
    assert len(messages) >= 2
    assert messages[0].payload["link_preview_options"] == {
        "is_disabled": False,
        "url": "https://arxiv.org/abs/2605.00001",
    }
    assert all(m.payload["link_preview_options"] == {"is_disabled": True} for m in messages[1:])
    off = render_telegram(brief, preview_first=False)
    assert all(m.payload["link_preview_options"] == {"is_disabled": True} for m in off)


def test_non_web_urls_are_not_links() -> None:
    messages = render_telegram(_brief(_paper(project="javascript:alert(1)")))
    hrefs = parse_html(messages[0].payload["text"]).hrefs
    assert not any(h.startswith("javascript") for h in hrefs)
    assert "javascript:alert(1)" in messages[0].text  # still shown, as text


def test_visible_length_counts_code_points_after_parsing() -> None:
    assert visible_length("<b>a&amp;b</b>") == 3
    assert visible_length("👍🏽") == 2  # two code points (four UTF-16 units)
    assert visible_text('<a href="https://x.org/?a=1&amp;b=2">t&lt;</a>') == "t<"


def test_long_chinese_text_splits_at_sentence_ends_with_continued_heading() -> None:
    sentence = "强化学习让智能体在环境中学习并不断改进。"
    brief = _brief(_paper(contribution=sentence * 600))
    messages = render_telegram(brief)
    check_limits(messages)
    assert len(messages) >= 3
    for m in messages[1:]:
        assert m.text.startswith("Top picks (continued)")
    for m in messages[:-1]:
        assert m.text.rstrip().endswith("。"), m.text[-20:]
    assert_in_order([m.text for m in messages], brief)


def test_the_limits_stated_without_the_sdk_are_the_bot_api_s() -> None:
    # render.py states them without importing python-telegram-bot (its import is slow).
    assert render.MAX_TEXT_LENGTH == MessageLimit.MAX_TEXT_LENGTH
    assert render.MESSAGE_ENTITIES == MessageLimit.MESSAGE_ENTITIES
    assert render.CAPTION_LENGTH == MessageLimit.CAPTION_LENGTH
    # and the receiver's, likewise
    assert receive.TOAST_MAX == CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH
    assert receive.ALLOWED_UPDATES == (Update.MESSAGE, Update.CALLBACK_QUERY)
    assert {ChatType.GROUP, ChatType.SUPERGROUP} == incoming.GROUP_TYPES
