"""Contract tests: the real SDKs (python-telegram-bot, slack_sdk) and httpx against the fakes."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.core.messages import OutMessage
from bot.core.ratelimit import RateLimiter
from bot.platforms.feishu.render import render_feishu
from bot.platforms.feishu.send import FeishuSender, feishu_sign, feishu_uuid
from bot.platforms.slack.render import render_slack
from bot.platforms.slack.send import SlackSender, _sleeping_rate_limit_handler
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.send import TRANSIENT_RETRIES, TelegramSender
from digest.errors import ChatGone, ConfigError, DeliveryError
from digest.models import Subscription
from digest.settings import Settings
from tests.delivery_helpers import VirtualClock, built_brief, reference_or_built_brief
from tests.fakes.feishu_server import FakeFeishu
from tests.fakes.feishu_server import feishu_sign as fake_feishu_sign
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings

DAY = dt.date(2026, 5, 31)


def tg_settings(tg: FakeTelegram) -> Settings:
    return make_settings(
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
    )


def slack_settings(slack: FakeSlack) -> Settings:
    return make_settings(
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


async def test_telegram_429_on_getme_is_waited_out_not_a_failed_push(
    tg: FakeTelegram, tg_sender: TelegramSender, vclock: VirtualClock
) -> None:
    tg.fail_next(429, retry_after=5, method="getMe")
    await tg_sender.send(
        Subscription(platform="telegram", chat_id="56"), text_part("telegram", 0, "hi"), None
    )
    assert [m.text for m in tg.by_chat(56)] == ["hi"]
    assert 5.0 in vclock.sleeps


async def test_telegram_transient_errors_are_retried_with_backoff(
    tg: FakeTelegram, tg_sender: TelegramSender, vclock: VirtualClock
) -> None:
    tg.fail_next(502, count=2, chat="57")
    await tg_sender.send(
        Subscription(platform="telegram", chat_id="57"), text_part("telegram", 0, "hi"), None
    )
    assert [m.text for m in tg.by_chat(57)] == ["hi"]
    assert [r.status for r in tg.rejections] == [502, 502]
    tg.fail_next(502, count=TRANSIENT_RETRIES + 1, chat="58")
    with pytest.raises(DeliveryError):
        await tg_sender.send(
            Subscription(platform="telegram", chat_id="58"), text_part("telegram", 0, "x"), None
        )
    assert tg.by_chat(58) == []


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
    settings = make_settings(
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
    handler = _sleeping_rate_limit_handler()
    assert any(isinstance(h, handler) for h in slack_sender.retry_handlers)


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
    settings = make_settings(
        slack_bot_token=SecretStr("xoxb-secret"),
        feishu_app_id="cli_x",
        feishu_app_secret=SecretStr("app-secret"),
    )
    assert "secret" not in repr(SlackSender(settings))
    assert "secret" not in repr(FeishuSender(settings))


# --- Feishu -----------------------------------------------------------------------------


def feishu_settings(fs: FakeFeishu, *, secret: str | None = None) -> Settings:
    return make_settings(
        feishu_base_url=fs.base_url,
        feishu_app_id=fs.app_id,
        feishu_app_secret=SecretStr(secret or fs.app_secret),
    )


@pytest.fixture
async def fs() -> AsyncIterator[FakeFeishu]:
    async with FakeFeishu(chats=["oc_team", "oc_other"]) as fake:
        yield fake


class WallClock:
    """Unix time the test controls (token expiry, webhook timestamps)."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fs_sender(fs: FakeFeishu, vclock: VirtualClock) -> AsyncIterator[FeishuSender]:
    sender = FeishuSender(
        feishu_settings(fs),
        limiter=RateLimiter(clock=vclock, sleep=vclock.sleep),
        sleep=vclock.sleep,
    )
    yield sender
    await sender.aclose()


def hook_sub(url: str, secret: str | None = None) -> Subscription:
    return Subscription(
        platform="feishu",
        chat_id="hook-team",
        options={"webhook": SecretStr(url), **({"secret": SecretStr(secret)} if secret else {})},
    )


async def test_feishu_signed_webhook_accepted(fs: FakeFeishu, fs_sender: FeishuSender) -> None:
    url = fs.register_webhook("tok-signed", secret="s3cret")
    messages = render_feishu(reference_or_built_brief(), mode="webhook")
    refs = [await fs_sender.send(hook_sub(url, "s3cret"), m, None, day=DAY) for m in messages]
    got = fs.by_chat("tok-signed")
    assert fs.rejections == []
    assert len(got) == len(messages) and refs == ["webhook"] * len(messages)
    assert all("sign" in m.body and "timestamp" in m.body for m in got)
    assert [m.card for m in got] == [m.payload["card"] for m in messages]
    assert not any(m.mass_mentions for m in got)


async def test_feishu_wrong_secret_is_a_clear_error_without_secrets(
    fs: FakeFeishu, fs_sender: FeishuSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = fs.register_webhook("tok-hidden", secret="right-secret")
    msg = render_feishu(reference_or_built_brief(), mode="webhook")[0]
    with pytest.raises(DeliveryError) as info:
        await fs_sender.send(hook_sub(url, "wrong-secret"), msg, None)
    assert not isinstance(info.value, ChatGone)
    assert "signature rejected" in info.value.reason and "19021" in info.value.reason
    for secret in ("tok-hidden", "wrong-secret", url):
        assert secret not in str(info.value)
        assert secret not in caplog.text
    assert fs.messages == []


async def test_feishu_removed_custom_bot_is_chat_gone(
    fs: FakeFeishu, fs_sender: FeishuSender
) -> None:
    url = fs.register_webhook("tok-gone")
    fs.block_chat("tok-gone")
    msg = render_feishu(reference_or_built_brief(), mode="webhook")[0]
    with pytest.raises(ChatGone, match="19001"):
        await fs_sender.send(hook_sub(url), msg, None)


async def test_feishu_webhook_frequency_limit_waited_out(
    fs: FakeFeishu, fs_sender: FeishuSender, vclock: VirtualClock
) -> None:
    url = fs.register_webhook("tok-busy")
    fs.fail_next(429, count=2, chat="tok-busy", endpoint="webhook")
    msg = render_feishu(reference_or_built_brief(), mode="webhook")[0]
    await fs_sender.send(hook_sub(url), msg, None)
    assert len(fs.by_chat("tok-busy")) == 1
    assert [r.error.split(":")[0] for r in fs.rejections] == ["11232", "11232"]
    assert vclock.sleeps.count(1.0) >= 2


async def test_feishu_app_cards_accepted_with_stable_uuid(
    fs: FakeFeishu, fs_sender: FeishuSender
) -> None:
    messages = render_feishu(reference_or_built_brief(), mode="app")
    sub = Subscription(platform="feishu", chat_id="oc_team")
    refs = [await fs_sender.send(sub, m, None, day=DAY) for m in messages]
    got = fs.by_chat("oc_team")
    assert fs.rejections == []
    assert [m.message_id for m in got] == refs
    assert [m.uuid for m in got] == [feishu_uuid("oc_team", DAY, m.part) for m in messages]
    assert all(len(m.uuid or "") <= 50 for m in got)
    # A resend of the same (chat, day, part), e.g. after a crash before it was recorded,
    # is deduplicated by Feishu itself and answers the first message's id.
    again = await fs_sender.send(sub, messages[0], None, day=DAY)
    assert again == refs[0]
    assert fs.deduplicated == [got[0].uuid]
    assert len(fs.by_chat("oc_team")) == len(messages)
    # Another day is another message.
    other = await fs_sender.send(sub, messages[0], None, day=DAY + dt.timedelta(days=1))
    assert other not in refs


async def test_feishu_app_uuid_same_across_429_retries(
    fs: FakeFeishu, fs_sender: FeishuSender, vclock: VirtualClock
) -> None:
    fs.fail_next(429, retry_after=3, count=2, chat="oc_team", endpoint="im.message.create")
    msg = render_feishu(reference_or_built_brief(), mode="app")[0]
    sub = Subscription(platform="feishu", chat_id="oc_team")
    ref = await fs_sender.send(sub, msg, None, day=DAY)
    assert vclock.sleeps.count(3.0) == 2
    assert [m.message_id for m in fs.by_chat("oc_team")] == [ref]
    assert fs.by_chat("oc_team")[0].uuid == feishu_uuid("oc_team", DAY, msg.part)


async def test_feishu_token_cached_then_refreshed_once_when_invalid(
    fs: FakeFeishu, vclock: VirtualClock
) -> None:
    wall = WallClock()
    sender = FeishuSender(feishu_settings(fs), sleep=vclock.sleep, clock=wall)
    sub = Subscription(platform="feishu", chat_id="oc_team")
    msgs = render_feishu(built_brief(papers=2), mode="app")
    try:
        await sender.send(sub, msgs[0], None, day=DAY)
        await sender.send(sub, msgs[0], None, day=DAY + dt.timedelta(days=1))
        assert sender.token_fetches == 1  # cached
        fs.expire_tokens()  # Feishu no longer accepts it: refreshed once, then sent
        await sender.send(sub, msgs[0], None, day=DAY + dt.timedelta(days=2))
        assert sender.token_fetches == 2
        assert len(fs.tokens_issued) == 2
        # Close to its expiry (5 minutes before) the token is fetched again unprompted.
        wall.now += 7200 - 300 + 1
        await sender.send(sub, msgs[0], None, day=DAY + dt.timedelta(days=3))
        assert sender.token_fetches == 3
    finally:
        await sender.aclose()
    assert len(fs.by_chat("oc_team")) == 4
    assert [r.error.split(":")[0] for r in fs.rejections] == ["99991663"]


async def test_feishu_bad_app_secret_is_a_clear_error(fs: FakeFeishu) -> None:
    sender = FeishuSender(feishu_settings(fs, secret="not-the-secret"))
    msg = render_feishu(built_brief(papers=2), mode="app")[0]
    try:
        with pytest.raises(DeliveryError, match="tenant token refused: code 10014") as info:
            await sender.send(Subscription(platform="feishu", chat_id="oc_team"), msg, None)
    finally:
        await sender.aclose()
    assert "not-the-secret" not in str(info.value)


async def test_feishu_app_without_credentials(fs: FakeFeishu) -> None:
    sender = FeishuSender(make_settings(feishu_base_url=fs.base_url))
    msg = render_feishu(built_brief(papers=2), mode="app")[0]
    try:
        with pytest.raises(DeliveryError, match="--webhook"):
            await sender.send(Subscription(platform="feishu", chat_id="oc_team"), msg, None)
    finally:
        await sender.aclose()


async def test_feishu_bot_not_in_chat_is_chat_gone(fs: FakeFeishu, fs_sender: FeishuSender) -> None:
    msg = render_feishu(built_brief(papers=2), mode="app")[0]
    with pytest.raises(ChatGone, match="230002"):
        await fs_sender.send(Subscription(platform="feishu", chat_id="oc_nowhere"), msg, None)


async def test_feishu_app_thread_reply(fs: FakeFeishu, fs_sender: FeishuSender) -> None:
    msgs = render_feishu(built_brief(papers=2), mode="app")
    sub = Subscription(platform="feishu", chat_id="oc_team")
    parent = await fs_sender.send(sub, msgs[0].model_copy(update={"parent": True}), None, day=DAY)
    reply = msgs[0].model_copy(update={"part": 1, "in_thread": True})
    await fs_sender.send(sub, reply, parent, day=DAY)
    got = fs.by_chat("oc_team")
    assert got[1].parent_id == parent and got[1].reply_in_thread


def test_feishu_sign_matches_the_documented_recipe() -> None:
    # base64(HMAC-SHA256(key="{timestamp}\n{secret}", msg=b"")), as the fake checks it.
    assert feishu_sign("1700000000", "abc") == fake_feishu_sign(1700000000, "abc")
    assert feishu_sign("1700000000", "abc") != feishu_sign("1700000001", "abc")
