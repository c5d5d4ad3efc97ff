"""Telegram's offset moves past an update only once it was handled, and long polling
comes back by itself after Telegram's 5xx storms: the real receiver against the fake Bot
API, which drops an update for good once a getUpdates offset confirms it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.core.chat import ReceiverDeps
from bot.core.reconnect import Backoff
from bot.platforms.telegram.receive import TelegramReceiver
from digest.models import Document, Reply
from digest.store.base import Store
from handlers.context import Args, HandlerContext
from handlers.registry import COMMANDS, Command
from tests.chat_helpers import WAIT
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings
from tests.waiting import eventually

FAST = Backoff(base=0.01, cap=0.05)  # real seconds, tiny: the storms are short


class Slow:
    """A command whose answer waits until the test releases it (an LLM thinking)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, ctx: HandlerContext, args: Args) -> Document:
        self.entered.set()
        await self.release.wait()
        return Reply.text(ctx.language, "the slow answer")


@contextlib.asynccontextmanager
async def receiving(store: Store, tg: FakeTelegram) -> AsyncIterator[TelegramReceiver]:
    settings = make_settings(
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
        hf_base_url="http://127.0.0.1:9",
        http_timeout=5.0,
        language="en",
    )
    conversation = Conversation(settings, store)
    receiver = TelegramReceiver(
        ReceiverDeps(settings, store, conversation),
        poll_timeout=1,
        backoff=FAST,
        busy_poll=0.05,
    )
    await asyncio.wait_for(receiver.start(), WAIT)
    try:
        yield receiver
    finally:
        await asyncio.wait_for(receiver.stop(), WAIT)
        await conversation.close(grace=WAIT)


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Slow:
    handler = Slow()
    command = Command("slowpoke", handler, "", "a slow command", "", False, False, False)
    monkeypatch.setitem(COMMANDS, "slowpoke", command)
    return handler


async def test_the_offset_waits_for_a_slow_answer_while_later_updates_are_answered(
    store: Store, slow: Slow
) -> None:
    async with FakeTelegram() as tg, receiving(store, tg) as receiver:
        first = tg.user_says(1, "/slowpoke")["update_id"]
        await asyncio.wait_for(slow.entered.wait(), WAIT)
        second = tg.user_says(2, "/help")["update_id"]
        await eventually(lambda: bool(tg.by_chat(2)), "the second chat answered")
        # Telegram keeps the slow update (the offset never passed it), and is asked
        # again and again meanwhile without the bot answering either one twice.
        polls = sum(1 for method, _ in tg.requests if method == "getUpdates")
        await eventually(
            lambda: sum(1 for method, _ in tg.requests if method == "getUpdates") >= polls + 3,
            "three more polls while the slow answer runs",
        )
        assert next(u["update_id"] for u in tg.pending_updates) == first
        assert tg.confirmed_offset <= first
        assert len(tg.by_chat(2)) == 1 and tg.by_chat(1) == []
        slow.release.set()
        await eventually(lambda: bool(tg.by_chat(1)), "the slow answer")
        await eventually(lambda: tg.confirmed_offset == second + 1, "both confirmed")
        assert tg.pending_updates == []
        assert receiver.poller.in_flight == 0
    assert [m.text for m in tg.by_chat(1)] == ["the slow answer"]


async def test_a_5xx_storm_on_getupdates_is_ridden_out_and_logged_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeTelegram() as tg, receiving(store, tg) as receiver:
        await tg.wait_for_poll()
        tg.fail_next(502, count=6, method="getUpdates")
        tg.user_says(3, "/help")  # wakes the waiting poll; the next six polls fail
        await eventually(lambda: not receiver.running, "the link down")
        assert receiver.link.reason.startswith("getUpdates: ")
        await eventually(lambda: receiver.running, "up again after the storm")
        tg.user_says(4, "/help")
        await eventually(lambda: bool(tg.by_chat(4)), "answered after the storm")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("long polling down" in m for m in messages) == 1, messages
    assert sum("long polling up again after 6 failed tries" in m for m in messages) == 1
    assert tg.token not in caplog.text
    assert len(tg.by_chat(3)) == 1 and len(tg.by_chat(4)) == 1
