"""Contract tests: the real SDKs (python-telegram-bot, slack_sdk) and httpx against the fakes."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.base import OutMessage
from bot.ratelimit import RateLimiter
from bot.senders import FeishuSender, SlackSender, TelegramSender, _SleepingRateLimitHandler
from bot.slack import render_slack
from bot.telegram import render_telegram
from digest.errors import ChatGone, ConfigError, DeliveryError
from digest.models import Subscription
from digest.settings import Settings
from tests.delivery_helpers import VirtualClock, reference_or_built_brief
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import FakeTelegram

DAY = dt.date(2026, 5, 31)


def tg_settings(tg: FakeTelegram) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
    )


def slack_settings(slack: FakeSlack) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr(slack.token),
        slack_api_url=slack.base_url,
    )


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def tg_sender(tg: FakeTelegram, vclock: VirtualClock) -> AsyncIterator[TelegramSender]:
    sender = TelegramSender(
        tg_settings(tg), limiter=RateLimiter(clock=vclock, sleep=vclock.sleep), sleep=vclock.sleep
    )
    yield sender
    await sender.aclose()


@pytest.fixture
async def slack_sender(slack: FakeSlack, vclock: VirtualClock) -> AsyncIterator[SlackSender]:
    sender = SlackSender(
        slack_settings(slack),
        limiter=RateLimiter(clock=vclock, sleep=vclock.sleep),
        sleep=vclock.sleep,
    )
    yield sender
    await sender.aclose()


def text_part(platform: str, part: int, text: str, **kw: object) -> OutMessage:
    method = {"telegram": "sendMessage", "slack": "chat.postMessage"}[platform]
    return OutMessage(
        platform=platform,  # type: ignore[arg-type]
        part=part,
        method=method,
        payload={"text": text},
        text=text,
        **kw,  # type: ignore[arg-type]
    )


# --- Telegram ---------------------------------------------------------------------------


async def test_telegram_brief_accepted_in_order(
    tg: FakeTelegram, tg_sender: TelegramSender, vclock: VirtualClock
) -> None:
    messages = render_telegram(reference_or_built_brief())
    assert len(messages) > 1
    sub = Subscription(platform="telegram", chat_id="4242")
    refs = [await tg_sender.send(sub, m, None, day=DAY) for m in messages]
    got = tg.by_chat(4242)
    assert tg.rejections == []
    assert [m.text for m in got] == [m.text for m in messages]
    assert refs == [str(m.message_id) for m in got]
    # The first part carries the link preview, the rest do not.
    assert got[0].link_preview_options == messages[0].payload["link_preview_options"]
    # The limiter spaced the parts of one chat at least a second apart.
    assert sum(s for s in vclock.sleeps if s > 0) >= len(messages) - 1 - 1e-6


async def test_telegram_429_waited_out_and_sent_once(
    tg: FakeTelegram, tg_sender: TelegramSender, vclock: VirtualClock
) -> None:
    tg.fail_next(429, retry_after=7, count=2, chat="55")
    ref = await tg_sender.send(
        Subscription(platform="telegram", chat_id="55"), text_part("telegram", 0, "hello"), None
    )
    assert [m.text for m in tg.by_chat(55)] == ["hello"]
    assert ref == "1"
    assert vclock.sleeps.count(7.0) == 2
    assert [r.status for r in tg.rejections] == [429, 429]


async def test_telegram_429_retries_are_bounded(tg: FakeTelegram, vclock: VirtualClock) -> None:
    sender = TelegramSender(tg_settings(tg), sleep=vclock.sleep, max_rate_retries=2)
    tg.fail_next(429, retry_after=1, count=5)
    try:
        with pytest.raises(DeliveryError, match="still rate limited after 3 attempts"):
            await sender.send(
                Subscription(platform="telegram", chat_id="1"), text_part("telegram", 0, "x"), None
            )
    finally:
        await sender.aclose()
    assert tg.messages == []


@pytest.mark.parametrize("chat", ["77", "-100500"])
async def test_telegram_blocked_or_kicked_is_chat_gone(
    tg: FakeTelegram, tg_sender: TelegramSender, chat: str, caplog: pytest.LogCaptureFixture
) -> None:
    tg.block_chat(chat)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ChatGone) as info:
        await tg_sender.send(
            Subscription(platform="telegram", chat_id=chat), text_part("telegram", 0, "x"), None
        )
    assert "blocked" in info.value.reason or "kicked" in info.value.reason
    assert tg.token not in str(info.value)
    assert tg.token not in caplog.text


async def test_telegram_other_refusal_is_delivery_error_with_reason(
    tg: FakeTelegram, tg_sender: TelegramSender
) -> None:
    broken = OutMessage(
        platform="telegram",
        part=0,
        method="sendMessage",
        payload={"text": "<b>unclosed", "parse_mode": "HTML"},
        text="unclosed",
    )
    with pytest.raises(DeliveryError) as info:
        await tg_sender.send(Subscription(platform="telegram", chat_id="9"), broken, None)
    assert not isinstance(info.value, ChatGone)
    assert "can't parse entities" in info.value.reason.lower()
    assert tg.token not in str(info.value)


async def test_telegram_reply_to_parent(tg: FakeTelegram, tg_sender: TelegramSender) -> None:
    sub = Subscription(platform="telegram", chat_id="31")
    parent = await tg_sender.send(sub, text_part("telegram", 0, "parent", parent=True), None)
    await tg_sender.send(sub, text_part("telegram", 1, "reply", in_thread=True), parent)
    got = tg.by_chat(31)
    assert got[1].reply_to == int(parent)


async def test_telegram_wrong_token_is_a_clear_error(tg: FakeTelegram) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_token=SecretStr("999:WrongTokenValue"),
        telegram_api_url=tg.base_url,
    )
    sender = TelegramSender(settings)
    try:
        with pytest.raises(DeliveryError) as info:
            await sender.send(
                Subscription(platform="telegram", chat_id="1"), text_part("telegram", 0, "x"), None
            )
    finally:
        await sender.aclose()
    assert "WrongTokenValue" not in str(info.value)


def test_telegram_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="PAPERDROP_TELEGRAM_TOKEN"):
        TelegramSender(Settings(_env_file=None))  # type: ignore[call-arg]


# --- Slack ------------------------------------------------------------------------------


async def test_slack_threads_parent_then_replies(
    slack: FakeSlack, slack_sender: SlackSender
) -> None:
    messages = render_slack(reference_or_built_brief(), threads=True)
    assert len(messages) > 1 and messages[0].parent
    sub = Subscription(platform="slack", chat_id="C100", threads=True)
    parent = await slack_sender.send(sub, messages[0], None)
    for m in messages[1:]:
        await slack_sender.send(sub, m, parent)
    got = slack.by_channel("C100")
    assert slack.rejections == [] and slack.warnings == []
    assert got[0].thread_ts is None and got[0].ts == parent
    assert all(m.thread_ts == parent for m in got[1:])
    assert not any(m.mass_mentions for m in got)


async def test_slack_without_threads_all_in_channel(
    slack: FakeSlack, slack_sender: SlackSender
) -> None:
    messages = render_slack(reference_or_built_brief(), threads=False)
    sub = Subscription(platform="slack", chat_id="C200")
    refs = [await slack_sender.send(sub, m, "ignored") for m in messages]
    got = slack.by_channel("C200")
    assert [m.ts for m in got] == refs
    assert all(m.thread_ts is None for m in got)


async def test_slack_429_waited_out_through_sdk_handler_and_our_retry(
    slack: FakeSlack, slack_sender: SlackSender, vclock: VirtualClock
) -> None:
    # The SDK's handler retries twice, then our own loop takes over for the rest.
    slack.fail_next(429, retry_after=4, count=4, chat="C5")
    ts = await slack_sender.send(
        Subscription(platform="slack", chat_id="C5"), text_part("slack", 0, "hi"), None
    )
    assert [m.ts for m in slack.by_channel("C5")] == [ts]
    assert vclock.sleeps.count(4.0) == 4
    assert any(isinstance(h, _SleepingRateLimitHandler) for h in slack_sender.retry_handlers)


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
async def test_slack_not_in_channel_is_chat_gone(
    slack: FakeSlack, slack_sender: SlackSender, error: str
) -> None:
    slack.block_channel("C9", error)
    with pytest.raises(ChatGone) as info:
        await slack_sender.send(
            Subscription(platform="slack", chat_id="C9"), text_part("slack", 0, "x"), None
        )
    assert info.value.reason == error


async def test_slack_other_refusal_names_the_error(
    slack: FakeSlack, slack_sender: SlackSender
) -> None:
    too_many = OutMessage(
        platform="slack",
        part=0,
        method="chat.postMessage",
        payload={"text": "x", "blocks": [{"type": "divider"}] * 51},
        text="x",
    )
    with pytest.raises(DeliveryError) as info:
        await slack_sender.send(Subscription(platform="slack", chat_id="C1"), too_many, None)
    assert not isinstance(info.value, ChatGone)
    assert info.value.reason.startswith("invalid_blocks")
    assert slack.token not in str(info.value)


def test_slack_needs_a_token() -> None:
    with pytest.raises(ConfigError):
        SlackSender(Settings(_env_file=None))  # type: ignore[call-arg]


def test_reprs_hide_secrets() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=SecretStr("xoxb-secret"),
        feishu_app_id="cli_x",
        feishu_app_secret=SecretStr("app-secret"),
    )
    assert "secret" not in repr(SlackSender(settings))
    assert "secret" not in repr(FeishuSender(settings))
