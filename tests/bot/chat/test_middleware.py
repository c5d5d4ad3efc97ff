"""The conversation as a chain of middlewares (bot/chat/middleware/): how a chain runs,
the order the conversation assembles it in, and what single middlewares stop or let
through. Real Stores (SQLite and Redis); nothing sleeps on a wall clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.chat import conversation as conversation_module
from bot.chat.conversation import Conversation
from bot.chat.middleware import (
    Dedupe,
    Middleware,
    Next,
    Request,
    chain,
    dispatch,
    errors,
    handler_context,
)
from bot.core.chat import Answer
from bot.core.intake import EVENT_LEASE, Deferred
from bot.core.ports import AdminCheck
from digest.errors import StoreError
from digest.models import Reply
from digest.store.base import Store
from handlers.context import Args, HandlerContext, UsageError
from handlers.registry import COMMANDS, Command
from tests.bot.core.test_intake import Chat, message, no_wait, settings

NOW = dt.datetime(2026, 5, 8, 9, 0, tzinfo=dt.UTC)
ANSWER = Answer(Reply.text("en", "the end"))

# The order the conversation answers an event in, outermost first (see the docstring of
# bot/chat/conversation.py for what each does and why it sits where it does).
PIPELINE = [
    "count_events",
    "Flood",
    "Outage",
    "Dedupe",
    "crashes",
    "HandOver",
    "Send",
    "Context",
    "errors",
    "Router",
    "admin",
    "Limits",
]


def name_of(middleware: Middleware) -> str:
    return getattr(middleware, "__name__", type(middleware).__name__)


def traced(name: str, trace: list[str]) -> Middleware:
    """A middleware that notes when the event passes it, on the way in and out."""

    async def middleware(req: Request, call_next: Next) -> list[Answer]:
        trace.append(f"{name} in")
        answers = await call_next(req)
        trace.append(f"{name} out")
        return answers

    return middleware


def ending(trace: list[str]) -> Next:
    async def end(req: Request) -> list[Answer]:
        trace.append("end")
        return [ANSWER]

    return end


@pytest.fixture
async def conv(store: Store) -> AsyncIterator[Conversation]:
    made = Conversation(settings(), store, sleep=no_wait)
    yield made
    await made.close(0)


# --- the chain ----------------------------------------------------------------------------


async def test_a_chain_runs_its_middlewares_in_order_around_its_end() -> None:
    trace: list[str] = []
    run = chain([traced("a", trace), traced("b", trace), traced("c", trace)], ending(trace))
    assert await run(Request(message("/help"))) == [ANSWER]
    assert trace == ["a in", "b in", "c in", "end", "c out", "b out", "a out"]


async def test_a_middleware_that_answers_itself_stops_the_chain() -> None:
    trace: list[str] = []

    async def stop(req: Request, call_next: Next) -> list[Answer]:
        trace.append("stop")
        return []

    run = chain([traced("a", trace), stop, traced("b", trace)], ending(trace))
    assert await run(Request(message("/help"))) == []
    assert trace == ["a in", "stop", "a out"]


def test_the_conversation_assembles_its_pipeline_in_the_documented_order(
    conv: Conversation,
) -> None:
    assert [name_of(m) for m in conv.pipeline] == PIPELINE
    # The module's docstring lists them in the same order, the end (dispatch) last.
    doc = conversation_module.__doc__ or ""
    table = [line.split()[0] for line in doc.splitlines() if line.startswith("    ")]
    listed = [word for word in table if word in [*PIPELINE, dispatch.__name__]]
    assert listed == [*PIPELINE, "dispatch"]


# --- single middlewares --------------------------------------------------------------------


async def test_a_duplicate_stops_at_dedupe_and_never_reaches_dispatch(store: Store) -> None:
    trace: list[str] = []
    run = chain([Dedupe(store, "host:1:test")], ending(trace))
    inc = message("/help", event="d1")
    assert await run(Request(inc)) == [ANSWER]
    assert await run(Request(inc)) == []  # the platform's retry
    assert trace == ["end"]


async def test_dedupe_lets_an_event_go_when_the_rest_fails_so_it_is_answered_later(
    store: Store,
) -> None:
    dedupe = Dedupe(store, "host:1:test")
    inc = message("/help", event="d2")

    async def store_down(req: Request) -> list[Answer]:
        raise StoreError("Connection refused")

    with pytest.raises(StoreError):
        await chain([dedupe], store_down)(Request(inc))
    trace: list[str] = []
    assert await chain([dedupe], ending(trace))(Request(inc)) == [ANSWER]
    assert trace == ["end"]


@pytest.fixture
async def asked(store: Store) -> Request:
    """A message with its handler's context found (what `errors` sits behind)."""
    inc = message("/paper 2605.06663", event=None)
    req = Request(inc)
    req.ctx = await handler_context(settings(), store, inc, None, llm=None, now=lambda: NOW)
    return req


async def test_errors_turn_a_crash_into_the_user_facing_line_and_log_it(
    asked: Request, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash(req: Request) -> list[Answer]:
        raise RuntimeError("kaboom")

    answers = await errors(asked, crash)
    assert [a.text for a in answers] == ["Something went wrong, try again."]
    assert "kaboom" in caplog.text


async def test_errors_tell_a_usage_error_as_it_is(asked: Request) -> None:
    async def refuse(req: Request) -> list[Answer]:
        raise UsageError("Give me an arXiv id.")

    [answer] = await errors(asked, refuse)
    assert answer.text == "Give me an arXiv id." and not answer.notice


@pytest.mark.parametrize(
    "trouble",
    [Deferred("another process holds this event's lease"), StoreError("Connection refused")],
    ids=["deferred", "store down"],
)
async def test_errors_pass_a_deferral_and_an_outage_on(asked: Request, trouble: Exception) -> None:
    async def fail(req: Request) -> list[Answer]:
        raise trouble

    with pytest.raises(type(trouble)):
        await errors(asked, fail)


# --- the order, as the conversation answers -------------------------------------------------


async def test_a_deferred_event_leaves_the_pipeline_and_frees_its_flood_slot(
    store: Store, conv: Conversation
) -> None:
    chat = Chat()
    inc = message("/help", event="u70")
    assert await store.acquire_lock("event:telegram:u70", "host:1:other", EVENT_LEASE)
    with pytest.raises(Deferred):
        await conv.respond(inc, chat, redeliverable=True)
    assert chat.sent == [] and conv.gate.pending("telegram:42") == 0


class CrashingSender(Chat):
    """A platform whose every send fails with a bug (not a delivery error)."""

    tries: int = 0

    async def send(self, *args: Any, **kwargs: Any) -> str:
        self.tries += 1
        raise RuntimeError("the SDK broke")


async def test_a_crash_while_sending_is_logged_not_answered_and_the_event_is_done(
    conv: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    """Send sits outside `errors`: telling the chat "something went wrong" would be one
    more send; and the event counts as answered (its retry would crash the same way)."""
    sender = CrashingSender()
    inc = message("/help", event="c1")
    assert await conv.respond(inc, sender) == []
    assert sender.tries == 1 and "answering failed" in caplog.text
    assert await conv.respond(inc, sender) == [] and sender.tries == 1  # a duplicate


@dataclasses.dataclass
class CountingLimiter:
    """Allows everything; counts what it was asked."""

    asked: int = 0

    async def check(self, user_key: str, chat_key: str) -> bool:
        self.asked += 1
        return True


async def test_the_admin_check_comes_before_the_limits_and_a_duplicate_before_both(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused admin command costs no request of the user's limits; a duplicate asks
    the platform nothing."""

    async def purge(ctx: HandlerContext, args: Args) -> Reply:
        return Reply.text("en", "purged")

    command = Command("purge", purge, "", "Purges.", "", llm=True, admin=True, hidden=False)
    monkeypatch.setitem(COMMANDS, "purge", command)
    limiter = CountingLimiter()
    conv = Conversation(settings(), store, command_limiter=limiter, sleep=no_wait)
    chat, admins = Chat(), {"u1": False, "u2": True}
    admin_asked: list[str] = []

    def is_admin(event: str) -> AdminCheck:
        async def check() -> bool:
            admin_asked.append(event)
            return admins[event]

        return check

    try:
        for event in ("u1", "u1", "u2"):
            inc = dataclasses.replace(message("/purge", event=event), is_group=True)
            await conv.respond(inc, chat, is_admin=is_admin(event))
    finally:
        await conv.close(0)
    assert admin_asked == ["u1", "u2"]  # the retried u1 never got as far
    assert limiter.asked == 1  # only u2, the admin's
    refused, purged = chat.texts("42")
    assert "admin" in refused.lower() and purged == "purged"
