"""Before an event is answered: claimed once across processes (a killed process's event
is answered on its redelivery), the Store down (told once, answered when it is back, or
deferred to the platform's redelivery), and one chat's flood limited without holding up
the others. Real Stores (SQLite and Redis), the real conversation; nothing sleeps on a
wall clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.chat.conversation import Conversation
from bot.core.chat import Incoming
from bot.core.intake import EVENT_LEASE, MAX_PENDING, Deferred, FloodGate
from bot.core.messages import OutMessage
from digest.models import Platform, Subscription
from digest.settings import Settings
from digest.store.base import Store
from tests.store_helpers import Switchable

WAIT = 10.0


@dataclass
class Chat:
    """What the bot sent, per chat; `hold` keeps every send waiting (a slow platform)."""

    sent: list[tuple[str, str]] = field(default_factory=list)  # (chat, text)
    hold: asyncio.Event | None = None
    platform: Platform = "telegram"

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        if self.hold is not None:
            await self.hold.wait()
        self.sent.append((sub.chat_id, msg.text))
        return str(len(self.sent))

    async def aclose(self) -> None:
        return None

    def texts(self, chat: str) -> list[str]:
        return [t for c, t in self.sent if c == chat]


def settings() -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        hf_base_url="http://127.0.0.1:9",
        arxiv_api_url="http://127.0.0.1:9",
        language="en",
    )


def message(text: str, chat: str = "42", event: str | None = "u1", ref: str = "m1") -> Incoming:
    return Incoming(
        platform="telegram",
        chat_id=chat,
        user_id=chat,
        text=text,
        message_ref=ref,
        reply_ref=ref,
        event_id=event,
    )


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def convs(store: Store) -> AsyncIterator[list[Conversation]]:
    made: list[Conversation] = []
    yield made
    for conv in made:
        await conv.close(0)


def bot(store: Store, made: list[Conversation], **kw: Any) -> Conversation:
    conv = Conversation(settings(), store, sleep=no_wait, **kw)
    made.append(conv)
    return conv


# --- claims -------------------------------------------------------------------------------


async def test_an_event_delivered_to_two_processes_is_answered_once(
    store: Store, convs: list[Conversation]
) -> None:
    chat = Chat()
    first, second = bot(store, convs), bot(store, convs)
    assert first.owner != second.owner
    inc = message("/help")
    await asyncio.gather(first.respond(inc, chat), second.respond(inc, chat))
    assert len(chat.texts("42")) == 1 and "/paper" in chat.texts("42")[0]
    # And again later (a platform's retry hours after): still answered once.
    await second.respond(inc, chat)
    assert len(chat.texts("42")) == 1


async def test_a_killed_process_leaves_its_event_to_the_redelivery(
    store: Store, convs: list[Conversation]
) -> None:
    """A process killed mid-answer holds the event's lease, and never marks it done:
    the redelivery (Telegram's: the offset was not confirmed) waits for the lease to run
    out and is then answered, once."""
    chat = Chat()
    inc = message("/help", event="u77")
    dead = "host:1234:deadbeef"
    assert await store.acquire_lock("event:telegram:u77", dead, EVENT_LEASE)
    restarted = bot(store, convs)
    with pytest.raises(Deferred):
        await restarted.respond(inc, chat, redeliverable=True)
    assert chat.sent == []
    # A platform that never redelivers (Slack after its ack) must not wait: a duplicate.
    assert await restarted.respond(inc, chat) == [] and chat.sent == []
    await store.release_lock("event:telegram:u77", dead)  # its lease ran out
    assert len(await restarted.respond(inc, chat, redeliverable=True)) == 1
    [text] = chat.texts("42")
    assert "/paper" in text
    # Answered: the next redelivery is a duplicate, not a second answer.
    assert await restarted.respond(inc, chat, redeliverable=True) == []
    assert len(chat.texts("42")) == 1


async def test_an_answer_cancelled_by_shutdown_is_left_for_the_redelivery(
    store: Store, convs: list[Conversation]
) -> None:
    hold = asyncio.Event()
    chat = Chat(hold=hold)
    conv = bot(store, convs)
    inc = message("/help", event="u9")
    task = asyncio.ensure_future(conv.respond(inc, chat, redeliverable=True))
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    chat.hold = None
    # The lease was let go: the next process (or this one) answers the redelivery now.
    again = bot(store, convs)
    await again.respond(inc, chat, redeliverable=True)
    assert len(chat.texts("42")) == 1


# --- the Store down -------------------------------------------------------------------------


async def test_with_the_store_down_the_chat_is_told_once_and_answered_when_it_is_back(
    store: Store, convs: list[Conversation]
) -> None:
    flaky = Switchable(store)
    flaky.down = True
    chat = Chat()
    tries = 0

    async def store_back_after_three_tries(seconds: float) -> None:
        nonlocal tries
        tries += 1
        if tries == 3:
            flaky.down = False
        await asyncio.sleep(0)

    conv = Conversation(settings(), flaky, sleep=store_back_after_three_tries)
    convs.append(conv)
    answers = await asyncio.wait_for(conv.respond(message("/help"), chat), WAIT)
    texts = chat.texts("42")
    assert len(texts) == 2, texts
    assert texts[0].startswith("One moment: my storage is briefly unavailable")
    assert "/paper" in texts[1] and len(answers) == 1
    assert tries == 3 and flaky.refused >= 3


async def test_an_event_the_platform_redelivers_is_deferred_while_the_store_is_down(
    store: Store, convs: list[Conversation]
) -> None:
    flaky = Switchable(store)
    flaky.down = True
    chat = Chat()
    conv = Conversation(settings(), flaky, sleep=no_wait)
    convs.append(conv)
    inc = message("/help", event="u5")
    for _ in range(3):  # Telegram's redeliveries while Redis restarts
        with pytest.raises(Deferred):
            await conv.respond(inc, chat, redeliverable=True)
    assert len(chat.texts("42")) == 1  # told once, not once per redelivery
    flaky.down = False
    await conv.respond(inc, chat, redeliverable=True)
    texts = chat.texts("42")
    assert len(texts) == 2 and "/paper" in texts[1]


async def test_a_store_down_for_too_long_says_try_again_in_a_minute(
    store: Store, convs: list[Conversation]
) -> None:
    flaky = Switchable(store)
    flaky.down = True
    chat = Chat()
    clock = [0.0]

    async def time_passes(seconds: float) -> None:
        clock[0] += seconds
        await asyncio.sleep(0)

    conv = Conversation(settings(), flaky, sleep=time_passes, clock=lambda: clock[0])
    convs.append(conv)
    assert await asyncio.wait_for(conv.respond(message("/help"), chat), WAIT) == []
    texts = chat.texts("42")
    assert texts[0].startswith("One moment") and texts[-1].startswith("Busy just now")
    assert len(texts) == 2 and clock[0] >= 300


# --- floods -------------------------------------------------------------------------------


async def test_a_flood_from_one_chat_is_limited_and_other_chats_do_not_wait(
    store: Store, convs: list[Conversation]
) -> None:
    hold = asyncio.Event()
    slow = Chat(hold=hold)  # the flooding chat's sends wait (a platform's per-chat limit)
    conv = bot(store, convs, gate=FloodGate(clock=lambda: 0.0))
    flood = [
        asyncio.ensure_future(conv.respond(message("/help", event=f"f{i}", ref=f"m{i}"), slow))
        for i in range(60)
    ]
    await asyncio.sleep(0.2)
    assert conv.gate.pending("telegram:42") == MAX_PENDING  # the rest were dropped
    # Another chat is answered at once, while the flood's answers still wait.
    other = Chat()
    await asyncio.wait_for(conv.respond(message("/help", chat="7", event="o1"), other), WAIT)
    assert len(other.texts("7")) == 1
    hold.set()
    await asyncio.wait_for(asyncio.gather(*flood), WAIT)
    texts = slow.texts("42")
    notes = [t for t in texts if t.startswith("Too many messages at once")]
    assert len(notes) == 1  # told once
    assert len(texts) - len(notes) == MAX_PENDING  # the send queue stayed bounded


async def test_twin_deliveries_in_one_process_are_answered_once(
    store: Store, convs: list[Conversation]
) -> None:
    """Feishu or Slack delivering the same event twice at once to one process: its own
    lease says yes to itself, so the twin must be caught before the Store is asked."""
    chat = Chat()
    conv = bot(store, convs)
    inc = message("/help", event="twin")
    await asyncio.gather(*(conv.respond(inc, chat) for _ in range(5)))
    assert len(chat.texts("42")) == 1
