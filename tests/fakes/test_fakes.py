"""Contract tests of the fake platform servers, driven by the real SDKs.

Each fake must accept what the real SDK sends for a valid request and refuse what the
platform refuses, with the platform's error shape, so that delivery tests built on them
mean something. Rate limits run on a fake clock: nothing here sleeps.
"""

from __future__ import annotations

import datetime as dtm
import json
from typing import Any

import httpx
import pytest
import telegram
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient
from telegram import LinkPreviewOptions, ReplyParameters
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.fakes.feishu_server import (
    CARD_MAX_CONTENT,
    TEXT_MAX_CONTENT,
    WEBHOOK_MAX_BODY,
    FakeFeishu,
    feishu_sign,
    validate_card,
)
from tests.fakes.ratelimit import SlidingWindows, Window, retry_after_seconds
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_html import HtmlParseError, parse_telegram_html
from tests.fakes.telegram_server import FakeTelegram


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when RetryAfter is built unless opted in; with filterwarnings=error
    # the warning would replace the RetryAfter a 429 should raise.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


# -- sliding windows -----------------------------------------------------------------------


def test_sliding_window_admits_exactly_limit_per_period_and_says_when_a_slot_frees() -> None:
    clock = FakeClock()
    windows = SlidingWindows(clock)
    w = Window(2, 10.0)
    assert windows.acquire(("k", w)).ok
    clock.advance(3)
    assert windows.acquire(("k", w)).ok
    clock.advance(1)
    verdict = windows.acquire(("k", w))
    assert not verdict.ok and verdict.wait == pytest.approx(6.0) and verdict.window == w
    assert windows.acquire(("other", w)).ok  # keys are independent
    clock.advance(6)  # the first event ages out exactly now
    assert windows.acquire(("k", w)).ok
    assert windows.count("k", w) == 2


def test_sliding_windows_record_all_or_nothing_and_report_the_longest_wait() -> None:
    clock = FakeClock()
    windows = SlidingWindows(clock)
    fast, slow = Window(1, 1.0, "fast"), Window(2, 60.0, "slow")
    assert windows.acquire(("a", fast), ("a", slow)).ok
    clock.advance(1)
    assert windows.acquire(("a", fast), ("a", slow)).ok
    clock.advance(1)
    verdict = windows.acquire(("a", fast), ("a", slow))
    assert verdict.window == slow and verdict.wait == pytest.approx(58.0)
    assert windows.count("a", fast) == 0  # the refused attempt recorded nothing


@pytest.mark.parametrize(("wait", "seconds"), [(0.01, 1), (0.6, 1), (1.0, 1), (1.2, 2), (40, 40)])
def test_retry_after_is_rounded_up_and_at_least_one(wait: float, seconds: int) -> None:
    assert retry_after_seconds(wait) == seconds


# -- Telegram HTML parser ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <del>d</del>", "bold it u s d"),
        ('<a href="https://arxiv.org/abs/2405.01234?a=1&amp;b=2">paper</a>', "paper"),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#233; &#x1F600;", '<tag> & "q" é 😀'),
        ("&nbsp;&copy; stay literal", "&nbsp;&copy; stay literal"),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st"),
        ('<pre><code class="language-python">x = 1 &lt; 2</code></pre>', "x = 1 < 2"),
        ("<blockquote expandable>long\nquote</blockquote>", "long\nquote"),
        ("<B>upper</B> case tags", "upper case tags"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
    ],
)
def test_html_parser_accepts_what_telegram_accepts(source: str, visible: str) -> None:
    assert parse_telegram_html(source)[0] == visible


def test_html_parser_reports_entities_in_utf16_units() -> None:
    text, entities = parse_telegram_html('😀 <b>x</b> <a href="https://e.org">y</a>')
    assert text == "😀 x y"
    got = [e.to_dict() for e in entities]
    assert got == [
        {"type": "bold", "offset": 3, "length": 1},
        {"type": "text_link", "offset": 5, "length": 1, "url": "https://e.org"},
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
        ("é<h1>x</h1>", 'Unsupported start tag "h1" at byte offset 2'),  # bytes, not chars
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("cut <b", "Unclosed start tag at byte offset 4"),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<i    aba>x</i>", 'Expected equal sign in declaration of an attribute of the tag "i"'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ("&#57311;", "invalid Unicode characters"),
        ("<code><b>x</b></code>", "(fake strict nesting)"),
        ("<blockquote>a<blockquote>b</blockquote></blockquote>", "(fake strict nesting)"),
        ('<a href="https://a.b"><a href="https://c.d">x</a></a>', "(fake strict nesting)"),
    ],
)
def test_html_parser_refuses_like_telegram(source: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_telegram_html(source)
    assert error in str(info.value)


def test_strict_nesting_can_be_relaxed_to_telegrams_silent_drop() -> None:
    text, _ = parse_telegram_html("<code><b>x</b></code>", strict_nesting=False)
    assert text == "x"


# -- Telegram through python-telegram-bot --------------------------------------------------


async def test_telegram_real_bot_initializes_and_sends_html() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        assert bot.username == tg.username  # initialize() called getMe
        first = await bot.send_message(
            chat_id=42,
            text='<b>Daily brief</b> &amp; <a href="https://arxiv.org/abs/2405.01234">paper</a>',
            parse_mode="HTML",
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        second = await bot.send_message(chat_id=42, text="plain <not a tag>")
        other = await bot.send_message(chat_id=-1001234, text="<i>group</i>", parse_mode="HTML")
    assert first.text == "Daily brief & paper"
    assert [e.type for e in first.entities] == ["bold", "text_link"]
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert other.chat.type == "supergroup"
    sent = tg.by_chat(42)
    assert [m.text for m in sent] == ["Daily brief & paper", "plain <not a tag>"]
    assert sent[0].html.startswith("<b>Daily brief</b>")
    assert sent[0].link_preview_options == {"is_disabled": True}
    assert sent[1].parse_mode is None
    assert tg.rejections == []


@pytest.mark.parametrize(
    ("token", "status"),
    [("123456789:AAWrongTokenWrongTokenWrongToken_0000", 401), ("not-a-token", 404)],
)
async def test_telegram_wrong_token_is_refused(token: str, status: int) -> None:
    async with FakeTelegram() as tg:
        bot = telegram.Bot(token, base_url=tg.base_url)
        with pytest.raises(InvalidToken):
            await bot.initialize()
        await bot.shutdown()
    assert [r.status for r in tg.rejections] == [status]


async def test_telegram_counts_visible_text_not_html_source() -> None:
    fits = "<b>" + "&amp;" * 4000 + "</b>" + "x" * 96  # 4096 visible, ~20k source
    too_long = "<i>" + "y" * 4097 + "</i>"
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        message = await bot.send_message(7, fits, parse_mode="HTML")
        assert message.text is not None
        assert len(fits) > 4096 and len(message.text) == 4096
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(7, too_long, parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(7, "<b> </b>\n", parse_mode="HTML")
    assert [m.text for m in tg.messages] == ["&" * 4000 + "x" * 96]
    assert [r.error for r in tg.rejections] == [
        "Bad Request: message is too long",
        "Bad Request: message text is empty",
    ]


async def test_telegram_bad_html_reaches_the_sdk_as_cant_parse_entities() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        with pytest.raises(BadRequest) as info:
            await bot.send_message(7, "<b><i>x</b></i>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "p" at byte offset 0'):
            await bot.send_message(7, "<p>x</p>", parse_mode="HTML")
    # PTB strips "Bad Request: " and capitalize()s the rest (lower-casing it).
    assert "can't parse entities: unmatched end tag at byte offset 7" in info.value.message.lower()
    assert tg.messages == []
    assert len(tg.rejections) == 2


async def test_telegram_replies_and_threads() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        parent = await bot.send_message(5, "parent")
        await bot.send_message(6, "elsewhere")
        reply = await bot.send_message(
            5, "child", reply_parameters=ReplyParameters(parent.message_id), message_thread_id=9
        )
        assert reply.reply_to_message is not None
        assert reply.reply_to_message.message_id == parent.message_id
        with pytest.raises(BadRequest, match="Message to be replied not found"):
            await bot.send_message(6, "x", reply_parameters=ReplyParameters(99))
        lenient = await bot.send_message(
            6, "y", reply_parameters=ReplyParameters(99, allow_sending_without_reply=True)
        )
        assert lenient.reply_to_message is None
    child = tg.by_chat(5)[-1]
    assert (child.reply_to, child.message_thread_id) == (1, 9)


async def test_telegram_blocked_and_kicked_chats_answer_403() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        tg.block_chat(11)
        tg.block_chat(-22)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(11, "x")
        with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
            await bot.send_message(-22, "x")
        tg.unblock_chat(11)
        await bot.send_message(11, "back")
    assert [(r.target, r.status) for r in tg.rejections] == [("11", 403), ("-22", 403)]
    assert [m.text for m in tg.messages] == ["back"]


async def test_telegram_injected_429_reaches_ptb_as_retry_after() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        tg.fail_next(status=429, retry_after=7, count=2, chat=3)
        await bot.send_message(4, "other chats are not affected")
        for _ in range(2):
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(3, "x")
            assert info.value.retry_after == dtm.timedelta(seconds=7)
        await bot.send_message(3, "third try passes")
        tg.fail_next(status=500)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(3, "x")
        tg.fail_next(status=400, description="Bad Request: chat not found")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(3, "x")
    assert [m.text for m in tg.messages] == ["other chats are not affected", "third try passes"]
    assert [(r.status, r.retry_after, r.injected) for r in tg.rejections[:2]] == [
        (429, 7, True),
        (429, 7, True),
    ]
    assert tg.pending_failures == 0


async def test_telegram_enforced_limits_per_chat_per_group_and_overall() -> None:
    clock = FakeClock()
    async with (
        FakeTelegram(clock=clock, enforce_rate_limits=True) as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        await bot.send_message(1, "a")
        clock.advance(0.4)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(1, "b")
        assert info.value.retry_after == dtm.timedelta(seconds=1)  # 0.6 s rounded up
        clock.advance(0.6)
        await bot.send_message(1, "b")

        for _ in range(20):  # a group: 20 per minute, one per second
            clock.advance(1.0)
            await bot.send_message(-5, "g")
        clock.advance(1.0)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(-5, "21st")
        assert info.value.retry_after == dtm.timedelta(seconds=40)

        clock.advance(5.0)
        for chat in range(100, 130):  # 30 chats in the same instant: the overall cap
            await bot.send_message(chat, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(130, "31st")
    assert len(tg.messages) == 2 + 20 + 30
    assert [r.retry_after for r in tg.rejections] == [1, 40, 1]


async def test_telegram_limits_are_off_by_default() -> None:
    async with FakeTelegram(clock=FakeClock()) as tg, httpx.AsyncClient() as http:
        for _ in range(5):
            answer = await http.post(
                f"{tg.base_url}{tg.token}/sendMessage", json={"chat_id": 1, "text": "x"}
            )
            assert answer.json()["ok"] is True
    assert [m.message_id for m in tg.messages] == [1, 2, 3, 4, 5]


# -- Slack through slack_sdk ---------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_slack_real_client_posts_typed_blocks() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        assert (await client.auth_test())["ok"] is True
        blocks = [
            HeaderBlock(text="Brief for 2026-05-31"),
            SectionBlock(text=MarkdownTextObject(text="*Paper* &lt;x&gt;")),
            DividerBlock(),
            ContextBlock(elements=[MarkdownTextObject(text="arXiv 2405.01234")]),
        ]
        answer = await client.chat_postMessage(channel="C1", text="Brief", blocks=blocks)
        reply = await client.chat_postMessage(
            channel="C1", text="more", thread_ts=answer["ts"], reply_broadcast=True
        )
    assert answer["ok"] and answer["channel"] == "C1"
    parent, child = slack.by_channel("C1")
    assert parent.ts == answer["ts"] and parent.text == "Brief"
    assert [b["type"] for b in parent.blocks or []] == ["header", "section", "divider", "context"]
    assert (child.thread_ts, child.reply_broadcast, child.ts) == (parent.ts, True, reply["ts"])
    assert slack.warnings == [] and slack.rejections == []


async def test_slack_form_encoded_calls_are_understood() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        await client.api_call(
            "chat.postMessage",
            params={"channel": "C2", "text": "t", "blocks": json.dumps([_section("hi")])},
        )
    assert slack.messages[0].blocks == [_section("hi")]


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth"), ("", "not_authed")])
async def test_slack_bad_token(token: str, error: str) -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=token or None, base_url=slack.base_url)
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="C1", text="x")
    assert info.value.response["error"] == error
    assert slack.messages == []


def _blocks_case(name: str) -> list[dict[str, Any]]:
    fields = [{"type": "mrkdwn", "text": "f"}]
    cases: dict[str, list[dict[str, Any]]] = {
        "51 blocks": [_section("x")] * 51,
        "section 3001": [_section("x" * 3001)],
        "header 151": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        "header mrkdwn": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
        "11 fields": [{"type": "section", "fields": fields * 11}],
        "field 2001": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
        "11 context": [{"type": "context", "elements": fields * 11}],
        "block_id 256": [{**_section("x"), "block_id": "b" * 256}],
        "duplicate block_id": [
            {**_section("x"), "block_id": "a"},
            {**_section("y"), "block_id": "a"},
        ],
        "unknown type": [{"type": "paragraph", "text": "x"}],
        "empty text": [_section("")],
    }
    return cases[name]


@pytest.mark.parametrize(
    ("case", "pointer"),
    [
        ("51 blocks", "/blocks]"),
        ("section 3001", "/blocks/0/text/text"),
        ("header 151", "/blocks/0/text/text"),
        ("header mrkdwn", "/blocks/0/text/type"),
        ("11 fields", "/blocks/0/fields"),
        ("field 2001", "/blocks/0/fields/0/text"),
        ("11 context", "/blocks/0/elements"),
        ("block_id 256", "/blocks/0/block_id"),
        ("duplicate block_id", "/blocks/1/block_id"),
        ("unknown type", "/blocks/0/type"),
        ("empty text", "/blocks/0/text/text"),
    ],
)
async def test_slack_invalid_blocks_are_refused(case: str, pointer: str) -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="C1", text="t", blocks=_blocks_case(case))
    response = info.value.response
    assert response["error"] == "invalid_blocks"
    assert any(pointer in m for m in response["response_metadata"]["messages"])
    assert slack.messages == [] and slack.rejections[0].error == "invalid_blocks"


async def test_slack_limits_are_inclusive() -> None:
    fields = [{"type": "mrkdwn", "text": "f" * 2000}] * 10
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="t", blocks=[_section("x")] * 50)
        await client.chat_postMessage(channel="C1", text="t", blocks=[_section("x" * 3000)])
        await client.chat_postMessage(
            channel="C1", text="t", blocks=[{"type": "section", "fields": fields[:6]}]
        )
        with pytest.raises(SlackApiError) as info:  # 5 × 2,900 > 13,000 in total
            await client.chat_postMessage(channel="C1", text="t", blocks=[_section("y" * 2900)] * 5)
    assert info.value.response["error"] == "msg_blocks_too_long"
    assert len(slack.messages) == 3


async def test_slack_missing_text_fallback_is_a_recorded_warning() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        with pytest.warns(UserWarning, match="top-level `text` argument is missing"):
            answer = await client.chat_postMessage(channel="C1", blocks=[_section("x")])
        with pytest.raises(SlackApiError) as info, pytest.warns(UserWarning):
            await client.chat_postMessage(channel="C1", text="")
    assert answer["ok"] and answer["response_metadata"]["warnings"] == ["missing_text"]
    assert [(w.channel, w.warning) for w in slack.warnings] == [("C1", "missing_text")]
    assert info.value.response["error"] == "no_text"


async def test_slack_threads_must_exist_in_that_channel() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        parent = await client.chat_postMessage(channel="C1", text="parent")
        for channel, ts in (("C1", "1.000001"), ("C2", parent["ts"])):
            with pytest.raises(SlackApiError) as info:
                await client.chat_postMessage(channel=channel, text="x", thread_ts=ts)
            assert info.value.response["error"] == "thread_not_found"
    assert len(slack.messages) == 1


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
async def test_slack_blocked_channels(error: str) -> None:
    async with FakeSlack() as slack:
        slack.block_channel("C9", error)
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="C9", text="x")
        await client.chat_postMessage(channel="C8", text="x")
    assert info.value.response["error"] == error
    assert [(r.target, r.error) for r in slack.rejections] == [("C9", error)]


async def test_slack_mass_mentions_are_flagged() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="&lt;!channel&gt; is escaped")
        await client.chat_postMessage(channel="C1", text="t", blocks=[_section("hi <!here>")])
    assert [m.mass_mentions for m in slack.messages] == [False, True]


async def test_slack_injected_429_reaches_the_sdk_with_retry_after() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        slack.fail_next(status=429, retry_after=3, chat="C1")
        await client.chat_postMessage(channel="C2", text="other channel")
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="C1", text="x")
        slack.fail_next(status=200, error="fatal_error")
        with pytest.raises(SlackApiError) as fatal:
            await client.chat_postMessage(channel="C1", text="x")
    response = info.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response["error"] == "ratelimited"
    assert fatal.value.response["error"] == "fatal_error"
    assert [r.injected for r in slack.rejections] == [True, True]


class RecordingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (its retry decision and the client's retry loop) with the
    wait recorded instead of slept: the stock one sleeps Retry-After + random() seconds
    on the wall clock, which tests must not."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=2)
        self.waits: list[int] = []

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        headers = {k.lower(): v for k, v in response.headers.items()}
        self.waits.append(int(headers["retry-after"][0]))
        state.next_attempt_requested = True
        state.increment_current_attempt()


async def test_slack_rate_limit_handler_retries_an_injected_429() -> None:
    handler = RecordingRateLimitHandler()
    assert isinstance(handler, AsyncRetryHandler)
    async with FakeSlack() as slack:
        client = AsyncWebClient(
            token=slack.token, base_url=slack.base_url, retry_handlers=[handler]
        )
        slack.fail_next(status=429, retry_after=2, count=2)
        answer = await client.chat_postMessage(channel="C1", text="after two 429s")
        slack.fail_next(status=429, retry_after=5, count=3)  # more than the handler allows
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="C1", text="gives up")
    assert answer["ok"] and [m.text for m in slack.messages] == ["after two 429s"]
    assert handler.waits == [2, 2, 5, 5]
    assert info.value.response.status_code == 429


async def test_slack_enforced_limit_is_one_per_second_per_channel() -> None:
    clock = FakeClock()
    async with FakeSlack(clock=clock, enforce_rate_limits=True) as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="1")
        await client.chat_postMessage(channel="C2", text="other channel")
        clock.advance(0.25)
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="C1", text="too soon")
        clock.advance(0.75)
        await client.chat_postMessage(channel="C1", text="2")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1"
    assert [m.text for m in slack.by_channel("C1")] == ["1", "2"]


# -- Feishu / Lark over httpx ----------------------------------------------------------------


def _card(*elements: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {"title": {"tag": "plain_text", "content": "Brief"}, "template": "blue"},
        "body": {"elements": list(elements)},
    }


GOOD_CARD = _card(
    {"tag": "markdown", "content": "**Paper** [link](https://arxiv.org/abs/2405.01234)"},
    {"tag": "hr"},
    {
        "tag": "column_set",
        "columns": [{"tag": "column", "elements": [{"tag": "markdown", "content": "a"}]}],
    },
    {"tag": "table", "columns": [{"name": "c", "display_name": "C"}], "rows": [{"c": "1"}]},
)


async def _token(http: httpx.AsyncClient, fs: FakeFeishu) -> str:
    answer = await http.post(
        "/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": fs.app_id, "app_secret": fs.app_secret},
    )
    body = answer.json()
    assert body["code"] == 0
    return str(body["tenant_access_token"])


async def _send(
    http: httpx.AsyncClient, token: str, chat: str, msg_type: str, content: Any, **extra: Any
) -> httpx.Response:
    return await http.post(
        "/open-apis/im/v1/messages",
        params={"receive_id_type": "chat_id"},
        headers={"Authorization": f"Bearer {token}"},
        json={"receive_id": chat, "msg_type": msg_type, "content": content, **extra},
    )


def _signed(body: dict[str, Any], secret: str, timestamp: int) -> dict[str, Any]:
    return {"timestamp": str(timestamp), "sign": feishu_sign(timestamp, secret), **body}


async def test_feishu_webhook_accepts_a_signed_card() -> None:
    now = 1_780_000_000
    async with (
        FakeFeishu(wall_clock=lambda: now) as fs,
        httpx.AsyncClient() as http,
    ):
        url = fs.register_webhook("hook-1", secret="s3cret")
        body = _signed({"msg_type": "interactive", "card": GOOD_CARD}, "s3cret", now - 60)
        answer = await http.post(url, json=body)
        text = await http.post(
            url, json=_signed({"msg_type": "text", "content": {"text": "hi"}}, "s3cret", now)
        )
    assert answer.status_code == 200
    assert answer.json() == {
        "StatusCode": 0,
        "StatusMessage": "success",
        "code": 0,
        "data": {},
        "msg": "success",
    }
    assert text.json()["code"] == 0
    first, second = fs.by_chat("hook-1")
    assert (first.via, first.msg_type, first.card) == ("webhook", "interactive", GOOD_CARD)
    assert second.content == {"text": "hi"} and not second.mass_mentions


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bad sign", 19021),
        ("no sign", 19021),
        ("two hours old", 19021),
        ("unknown token", 19001),
        ("removed bot", 19001),
        ("unknown tag", 11246),
        ("v1 tag in a 2.0 card", 11246),
        ("elements at top level of 2.0", 11246),
        ("no msg_type", 19002),
        ("text without text", 9499),
        ("not json", 9499),
    ],
)
async def test_feishu_webhook_refusals(case: str, code: int) -> None:
    now = 1_780_000_000
    async with (
        FakeFeishu(wall_clock=lambda: now) as fs,
        httpx.AsyncClient() as http,
    ):
        fs.register_webhook("hook", secret="s")
        fs.register_webhook("open")
        token, content = "open", None
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": "x"}}
        if case == "bad sign":
            token, body = "hook", {**_signed(body, "s", now), "sign": feishu_sign(now, "other")}
        elif case == "no sign":
            token = "hook"
        elif case == "two hours old":
            token, body = "hook", _signed(body, "s", now - 7200)
        elif case == "unknown token":
            token = "nope"
        elif case == "removed bot":
            fs.block_chat("open")
        elif case == "unknown tag":
            body = {"msg_type": "interactive", "card": _card({"tag": "paragraph"})}
        elif case == "v1 tag in a 2.0 card":
            body = {"msg_type": "interactive", "card": _card({"tag": "note", "elements": []})}
        elif case == "elements at top level of 2.0":
            body = {"msg_type": "interactive", "card": {"schema": "2.0", "elements": []}}
        elif case == "no msg_type":
            body = {"content": {"text": "x"}}
        elif case == "text without text":
            body = {"msg_type": "text", "content": {}}
        elif case == "not json":
            content = b"{not json"
        url = f"{fs.base_url}/open-apis/bot/v2/hook/{token}"
        if content is None:
            answer = await http.post(url, json=body)
        else:
            answer = await http.post(url, content=content)
    assert answer.status_code == 200
    assert answer.json()["code"] == code
    assert fs.messages == [] and len(fs.rejections) == 1


async def test_feishu_webhook_body_limit_is_20_kib() -> None:
    def body_of(size: int) -> bytes:
        skeleton = json.dumps({"msg_type": "text", "content": {"text": ""}}).encode()
        text = "x" * (size - len(skeleton))
        return json.dumps({"msg_type": "text", "content": {"text": text}}).encode()

    async with FakeFeishu() as fs, httpx.AsyncClient() as http:
        url = fs.register_webhook("hook")
        exact = body_of(WEBHOOK_MAX_BODY)
        over = body_of(WEBHOOK_MAX_BODY + 1)
        assert (len(exact), len(over)) == (20 * 1024, 20 * 1024 + 1)
        ok = await http.post(url, content=exact, headers={"Content-Type": "application/json"})
        refused = await http.post(url, content=over, headers={"Content-Type": "application/json"})
    assert ok.json()["code"] == 0
    assert refused.json()["code"] == 19036
    assert [m.size for m in fs.messages] == [20 * 1024]


async def test_feishu_app_token_flow_and_card_message() -> None:
    async with (
        FakeFeishu(chats=["oc_team"]) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        assert await _token(http, fs) == token  # reused while far from expiry
        answer = await _send(
            http, token, "oc_team", "interactive", json.dumps(GOOD_CARD), uuid="u-1"
        )
        wrong = await http.post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": fs.app_id, "app_secret": "wrong"},
        )
    body = answer.json()
    assert answer.status_code == 200 and body["code"] == 0
    (message,) = fs.messages
    assert body["data"]["message_id"] == message.message_id
    assert (message.via, message.chat, message.card, message.uuid) == (
        "app",
        "oc_team",
        GOOD_CARD,
        "u-1",
    )
    assert wrong.json()["code"] == 10014
    assert fs.tokens_issued == [token]


async def test_feishu_app_refusals() -> None:
    big_card = _card({"tag": "markdown", "content": "x" * CARD_MAX_CONTENT})
    async with (
        FakeFeishu(chats=["oc_team", "oc_left"]) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        as_object = await _send(http, token, "oc_team", "text", {"text": "object, not string"})
        not_in_chat = await _send(http, token, "oc_other", "text", json.dumps({"text": "x"}))
        fs.block_chat("oc_left")
        left = await _send(http, token, "oc_left", "text", json.dumps({"text": "x"}))
        too_big = await _send(http, token, "oc_team", "interactive", json.dumps(big_card))
        bad_card = await _send(
            http, token, "oc_team", "interactive", json.dumps(_card({"tag": "p"}))
        )
        no_token = await http.post(
            "/open-apis/im/v1/messages", params={"receive_id_type": "chat_id"}, json={}
        )
    assert (as_object.status_code, as_object.json()["code"]) == (400, 9499)
    assert "content" in as_object.json()["msg"]
    assert not_in_chat.json()["code"] == 230002 and left.json()["code"] == 230002
    assert too_big.json()["code"] == 230025
    assert bad_card.json()["code"] == 230099 and "ErrorValue: p" in bad_card.json()["msg"]
    assert no_token.json()["code"] == 99991661
    assert fs.messages == [] and len(fs.rejections) == 6


async def test_feishu_text_limit_is_150_kib_of_content() -> None:
    def content_of(size: int) -> str:
        return json.dumps({"text": "x" * (size - len(json.dumps({"text": ""})))})

    async with (
        FakeFeishu() as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        ok = await _send(http, token, "oc_fake_chat", "text", content_of(TEXT_MAX_CONTENT))
        over = await _send(http, token, "oc_fake_chat", "text", content_of(TEXT_MAX_CONTENT + 1))
    assert ok.json()["code"] == 0 and over.json()["code"] == 230025


async def test_feishu_uuid_deduplicates_for_an_hour() -> None:
    clock = FakeClock()
    async with (
        FakeFeishu(clock=clock) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        content = json.dumps({"text": "once"})
        first = await _send(http, token, "oc_fake_chat", "text", content, uuid="brief-1")
        clock.advance(3599)
        again = await _send(http, token, "oc_fake_chat", "text", content, uuid="brief-1")
        clock.advance(2)
        later = await _send(
            http, await _token(http, fs), "oc_fake_chat", "text", content, uuid="brief-1"
        )
    first_id = first.json()["data"]["message_id"]
    assert again.json()["data"]["message_id"] == first_id
    assert later.json()["data"]["message_id"] != first_id
    assert len(fs.messages) == 2 and fs.deduplicated == ["brief-1"]


async def test_feishu_expired_token_is_refused_until_refreshed() -> None:
    clock = FakeClock()
    async with (
        FakeFeishu(clock=clock) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        old = await _token(http, fs)
        fs.expire_tokens()
        refused = await _send(http, old, "oc_fake_chat", "text", json.dumps({"text": "x"}))
        new = await _token(http, fs)
        accepted = await _send(http, new, "oc_fake_chat", "text", json.dumps({"text": "x"}))
        clock.advance(7200)  # natural expiry
        stale = await _send(http, new, "oc_fake_chat", "text", json.dumps({"text": "x"}))
    assert (refused.status_code, refused.json()["code"]) == (400, 99991663)
    assert new != old and accepted.json()["code"] == 0
    assert stale.json()["code"] == 99991663


async def test_feishu_reply_in_thread() -> None:
    async with (
        FakeFeishu() as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        parent = await _send(http, token, "oc_fake_chat", "text", json.dumps({"text": "p"}))
        parent_id = parent.json()["data"]["message_id"]
        reply = await http.post(
            f"/open-apis/im/v1/messages/{parent_id}/reply",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "msg_type": "text",
                "content": json.dumps({"text": "r"}),
                "reply_in_thread": True,
            },
        )
        missing = await http.post(
            "/open-apis/im/v1/messages/om_nope/reply",
            headers={"Authorization": f"Bearer {token}"},
            json={"msg_type": "text", "content": json.dumps({"text": "r"})},
        )
    data = reply.json()["data"]
    child = fs.messages[-1]
    assert (child.parent_id, child.root_id, child.chat) == (parent_id, parent_id, "oc_fake_chat")
    assert child.reply_in_thread and child.thread_id == data["thread_id"]
    assert missing.json()["code"] == 230001


async def test_feishu_mass_mentions_are_flagged() -> None:
    async with FakeFeishu() as fs, httpx.AsyncClient(base_url=fs.base_url) as http:
        token = await _token(http, fs)
        for text in ('hi <at user_id="all">everyone</at>', "&lt;at user_id=all&gt; as text"):
            await _send(http, token, "oc_fake_chat", "text", json.dumps({"text": text}))
    assert [m.mass_mentions for m in fs.messages] == [True, False]


async def test_feishu_injected_failures() -> None:
    async with (
        FakeFeishu() as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        url = fs.register_webhook("hook")
        token = await _token(http, fs)
        fs.fail_next(status=429, endpoint="webhook")
        hook = await http.post(url, json={"msg_type": "text", "content": {"text": "x"}})
        fs.fail_next(status=429, retry_after=4, chat="oc_fake_chat")
        app = await _send(http, token, "oc_fake_chat", "text", json.dumps({"text": "x"}))
        fs.fail_next(status=500)
        server = await _send(http, token, "oc_fake_chat", "text", json.dumps({"text": "x"}))
        ok = await _send(http, token, "oc_fake_chat", "text", json.dumps({"text": "x"}))
    assert (hook.status_code, hook.json()["code"]) == (200, 11232)
    assert (app.status_code, app.json()["code"]) == (429, 99991400)
    assert app.headers["x-ogw-ratelimit-reset"] == "4"
    assert (server.status_code, server.json()["code"]) == (500, 2200)
    assert ok.json()["code"] == 0 and len(fs.messages) == 1
    assert all(r.injected for r in fs.rejections) and len(fs.rejections) == 3


async def test_feishu_enforced_limits() -> None:
    clock = FakeClock()
    async with (
        FakeFeishu(clock=clock, enforce_rate_limits=True, chats=["oc_a", "oc_b"]) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        url = fs.register_webhook("hook")
        text = {"msg_type": "text", "content": {"text": "x"}}
        codes = [(await http.post(url, json=text)).json()["code"] for _ in range(6)]
        assert codes == [0] * 5 + [11232]
        for _ in range(19):  # 5 per second up to 100 per minute
            clock.advance(1.0)
            for _ in range(5):
                assert (await http.post(url, json=text)).json()["code"] == 0
        clock.advance(1.0)
        assert (await http.post(url, json=text)).json()["code"] == 11232  # 100 in a minute

        token = await _token(http, fs)
        content = json.dumps({"text": "x"})
        per_chat = [
            (await _send(http, token, "oc_a", "text", content)).json()["code"] for _ in range(6)
        ]
        assert per_chat == [0] * 5 + [230020]
        assert (await _send(http, token, "oc_b", "text", content)).json()["code"] == 0
    assert len(fs.by_chat("hook")) == 100 and len(fs.by_chat("oc_a")) == 5


def test_validate_card_accepts_v1_and_templates() -> None:
    v1 = {
        "elements": [
            {"tag": "div", "text": {"tag": "lark_md", "content": "x"}},
            {"tag": "note", "elements": []},
        ]
    }
    assert validate_card(v1) is None
    assert validate_card({"type": "template", "data": {"template_id": "ctp_x"}}) is None
    assert validate_card(GOOD_CARD) is None
    assert validate_card({"elements": [{"tag": "div"}]}) is not None
