"""The conversation: a platform event in, the same answers on every platform out.

    receiver (platform SDK) ──► Incoming ──► Conversation.respond ──► the pipeline
                                                                           │ answers
    adapter.render + sender.send ◄── Send (a middleware of the pipeline) ◄─┘

A receiver turns its platform's update/event into an `Incoming` (who, where, the text
with the bot's mention removed, which messages it replies to, a clicked button) and calls
`Conversation.respond`. The event then goes through a chain of middlewares
(`bot/chat/middleware/`), each one concern, each able to answer itself and stop there;
the list below (`Conversation.pipeline`) is the whole order, the first one outermost:

    count_events   every event counted (a message or a click)
    Flood          one chat's flood dropped, the chat told once
    Outage         the Store down: told once, tried again here or Deferred (redelivered)
    Dedupe         a retried event answered once (claimed; done, or let go on a raise)
    crashes        a crash logged, nothing said; the event done (a retry would crash too)
    HandOver       a fleet's LLM-heavy message enqueued for a worker
    Send           the answers rendered, sent (or `post`ed) and remembered
    Context        the handler's context: subscription, language, profile, thread
    errors         a command's failure told in one clear line ("something went wrong")
    Router         which command; too long, a pointer, unknown, chatter answered here
    admin          admin-only commands in a group
    Limits         LLM work limited per user and per chat
    dispatch       (the end) the handler runs, counted and timed; its document answers

`handle` (answers without sending) is Dedupe and the middlewares from Context on.
Graceful shutdown: `close()` stops new work and waits a bounded time for answers in flight.

Metrics (bot/core/observability.py): every event (`paperdrop_events_total{platform,kind}`),
every command with its outcome and its handler's time (`paperdrop_commands_total`,
`paperdrop_command_seconds`), every answer message sent (`paperdrop_messages_sent_total`
with kind="answer"). Log lines carry the chat and user ids hashed, never raw.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.chat.middleware import (
    Context,
    Dedupe,
    Flood,
    HandOver,
    Limits,
    Middleware,
    Outage,
    Request,
    Router,
    Send,
    admin,
    chain,
    count_events,
    crashes,
    dispatch,
    errors,
    handler_context,
)
from bot.chat.outbox import remember, send_answer
from bot.core.chat import Answer, AnswerQueue, Incoming, Post
from bot.core.intake import CommandLimiter, FloodGate, process_owner
from bot.core.ports import AdminCheck, CommandCheck, Sender, Sleep
from digest.clients import shared_llm
from digest.llm import LLM
from digest.settings import Settings
from digest.store.base import Store
from handlers import load_commands
from handlers.context import HandlerContext

__all__ = ["Conversation"]

log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Conversation:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        llm: LLM | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
        clock: Callable[[], float] = time.monotonic,
        jobs: AnswerQueue | None = None,
        command_limiter: CommandCheck | None = None,
        gate: FloodGate | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        load_commands()
        self.settings = settings
        self.store = store
        self._llm = llm  # given: the caller's; else the process's shared client
        self._now = now
        # A fleet passes the Redis one: every replica and worker counts the same windows.
        self.limiter: CommandCheck = command_limiter or CommandLimiter(
            settings.command_rate_user,
            settings.command_rate_chat,
            settings.command_rate_window,
            clock,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._closed = asyncio.Event()  # wakes answers waiting for the Store
        # Who holds an event's lease while answering it (a restart is another owner).
        self.owner = process_owner()
        self.gate = gate or FloodGate(clock=clock)
        dedupe = Dedupe(store, self.owner)
        # From the event's context to the command's answers (before they are sent).
        answering: list[Middleware] = [
            Context(self.context),
            errors,
            Router(settings),
            admin,
            Limits(self.limiter),
        ]
        # Every event's way, the first outermost (the module docstring says why each).
        self.pipeline: list[Middleware] = [
            count_events,
            Flood(self.gate, settings),
            Outage(settings, clock=clock, sleep=sleep, closed=self._closed),
            dedupe,
            crashes,
            HandOver(jobs, settings),  # set (serve in a fleet): heavy answers to workers
            Send(store),
            *answering,
        ]
        self._respond = chain(self.pipeline, dispatch)
        self._handle = chain([dedupe, *answering], dispatch)

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def llm(self) -> LLM | None:
        if self._llm is None and self.settings.llm_enabled:
            # The process's client (digest.clients): one pool and one concurrency bound
            # shared with the builds and every other command; closed with the loop.
            return shared_llm(self.settings)
        return self._llm

    @property
    def accepting(self) -> bool:
        return not self._closing

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `work` in the background, tracked for graceful shutdown."""
        if self._closing:
            work.close()
            return None
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self, grace: float | None = None) -> None:
        """Take no new work; wait up to `grace` seconds for answers in flight, then cancel."""
        self._closing = True
        self._closed.set()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            wait = self.settings.shutdown_grace if grace is None else grace
            _, late = await asyncio.wait(pending, timeout=wait)
            for task in late:
                task.cancel()
            if late:
                log.warning("shutdown: %d answer(s) abandoned after %.1fs", len(late), wait)
                await asyncio.gather(*late, return_exceptions=True)

    # --- the conversation -----------------------------------------------------------------

    async def respond(
        self,
        incoming: Incoming,
        sender: Sender,
        *,
        is_admin: AdminCheck | None = None,
        post: Post | None = None,
        queue: bool = True,
        redeliverable: bool = False,
    ) -> list[Answer]:
        """Handle `incoming` and send its answers; never raises but `Deferred` (one
        chat's trouble never stops the others). `post` may take an answer over (e.g. a
        Slack response_url); it returns False to fall back to the sender. With a job
        queue, an LLM-heavy message is answered by a worker instead (unless `queue` is
        False: a worker's own call, or an answer that must go where only this receiver
        can post it).

        The Store unreachable (Redis restarting): the chat is told once to wait a moment;
        an event the platform delivers again (`redeliverable`: a Telegram update whose
        offset is not confirmed yet) raises `Deferred` and is answered on redelivery;
        any other is tried again here with backoff, for `UNAVAILABLE_PATIENCE` seconds
        (`Outage`), then the chat is told to try again in a minute. Never silently dropped.
        """
        req = Request(
            incoming, sender, is_admin, post=post, queue=queue, redeliverable=redeliverable
        )
        return await self._respond(req)

    async def handle(self, inc: Incoming, *, is_admin: AdminCheck | None = None) -> list[Answer]:
        """The answers to one message or click (no sending); [] for a duplicate."""
        return await self._handle(Request(inc, is_admin=is_admin))

    async def context(self, inc: Incoming, is_admin: AdminCheck | None) -> HandlerContext:
        """What a handler is given for `inc` (read from the Store)."""
        return await handler_context(
            self.settings, self.store, inc, is_admin, llm=self.llm, now=self._now
        )

    # --- sending ------------------------------------------------------------------------

    async def deliver(self, inc: Incoming, answer: Answer, sender: Sender) -> list[str]:
        """Render the answer for the platform and send it; remember what it is about."""
        refs = await send_answer(inc, answer, sender)
        await self.remember(inc, answer, refs)
        return refs

    async def remember(self, inc: Incoming, answer: Answer, refs: Sequence[str]) -> None:
        """Thread context: which paper the sent messages are about; a thread's Q&A."""
        await remember(self.store, inc, answer, refs)
