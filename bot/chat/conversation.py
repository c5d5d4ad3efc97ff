"""The conversation: a platform event in, the same answers on every platform out.

    receiver (platform SDK) ──► Incoming ──► Conversation.handle ──► handlers registry
                                                  │ answers (documents)
    adapter.render + sender.send ◄── Conversation.deliver

A receiver turns its platform's update/event into an `Incoming` (who, where, the text
with the bot's mention removed, which messages it replies to, a clicked button) and calls
`Conversation.respond`. Everything else is here, once: deduplication of retried events,
command parsing (`/paper@bot ID`, `paper ID` in a DM or a mention), admin-only commands,
per-user and per-chat limits on LLM work, thread questions, feedback, clear answers to bad
input, and a polite "something went wrong" when a handler crashes (logged with its
traceback, never stopping other chats). Graceful shutdown: `close()` stops new work and
waits a bounded time for answers in flight.

Metrics (bot/core/observability.py): every event (`paperdrop_events_total{platform,kind}`),
every command with its outcome and its handler's time (`paperdrop_commands_total`,
`paperdrop_command_seconds`), every answer message sent (`paperdrop_messages_sent_total`
with kind="answer"). Log lines carry the chat and user ids hashed, never raw.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.chat import replies
from bot.chat.outbox import remember, remember_quietly, send_answer
from bot.core.chat import Answer, AnswerQueue, Incoming, Post, event_key, parse_command
from bot.core.intake import (
    EVENT_NS,
    Claim,
    CommandLimiter,
    Deferred,
    FloodGate,
    busy_line,
    claim_event,
    flood_line,
    one_moment,
    process_owner,
)
from bot.core.leases import nap
from bot.core.observability import count_event, count_sent, hashed, record_command
from bot.core.ports import AdminCheck, CommandCheck, Sender, Sleep
from bot.core.profiles import chat_profile
from bot.core.reconnect import Backoff
from digest.chatstate import get_prefs, thread_key
from digest.clients import shared_llm
from digest.errors import (
    InvalidPaperId,
    PaperNotFound,
    SourceError,
    StoreError,
)
from digest.ids import is_arxiv_id
from digest.llm import LLM
from digest.models import Document, Language, Reply
from digest.settings import Settings
from digest.store.base import Store
from handlers import load_commands
from handlers.context import (
    Args,
    Chat,
    HandlerContext,
    ThreadContext,
    Unavailable,
    UsageError,
    User,
    tr,
)
from handlers.registry import COMMANDS

__all__ = ["Conversation"]

log = logging.getLogger(__name__)

# An event the platform will not deliver again is tried this long while the Store is
# unreachable (then the chat is told to try again), with this backoff between tries.
UNAVAILABLE_PATIENCE = 300.0
UNAVAILABLE_BACKOFF = Backoff(base=2.0, cap=30.0)
_NOTED_MAX = 1024  # events whose chat was told "one moment" (remembered, bounded)


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
        # Set (serve in a fleet): LLM-heavy answers are enqueued for the workers.
        self.jobs = jobs
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
        self._clock = clock
        self._sleep = sleep
        # Who holds an event's lease while answering it (a restart is another owner).
        self.owner = process_owner()
        self._claimed: set[str] = set()  # events being answered in this process
        self._noted: dict[str, None] = {}  # events whose chat was told "one moment"
        self.gate = gate or FloodGate(clock=clock)

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
        any other is tried again here with backoff, for `UNAVAILABLE_PATIENCE` seconds,
        then the chat is told to try again in a minute. Never silently dropped.
        """
        count_event(incoming.platform, "click" if incoming.button is not None else "message")
        chat = incoming.chat_key
        if not self.gate.admit(chat):
            # A flood from one chat: dropped, the chat told once; others never wait.
            count_event(incoming.platform, "flood")
            if self.gate.tell(chat):
                log.warning("flood from one chat limited: chat=%s", hashed(chat))
                await self._say(incoming, sender, post, flood_line)
            return []
        try:
            return await self._respond_admitted(
                incoming, sender, is_admin, post, queue, redeliverable
            )
        finally:
            self.gate.finished(chat)

    async def _respond_admitted(
        self,
        incoming: Incoming,
        sender: Sender,
        is_admin: AdminCheck | None,
        post: Post | None,
        queue: bool,
        redeliverable: bool,
    ) -> list[Answer]:
        started = self._clock()
        attempt = 0
        while True:
            try:
                return await self._respond_once(
                    incoming, sender, is_admin, post, queue, redeliverable
                )
            except _Unavailable as exc:
                reason = str(exc)
            key = event_key(incoming) or f"{incoming.chat_key}|{incoming.message_ref}"
            if key not in self._noted:
                self._noted[key] = None
                if len(self._noted) > _NOTED_MAX:
                    self._noted.pop(next(iter(self._noted)))
                await self._say(incoming, sender, post, one_moment)
            if redeliverable:
                raise Deferred(reason)
            if self._closing or self._clock() - started > UNAVAILABLE_PATIENCE:
                log.error(
                    "could not answer: the Store stayed unreachable (%s): platform=%s chat=%s",
                    reason,
                    incoming.platform,
                    hashed(incoming.chat_key),
                )
                await self._say(incoming, sender, post, busy_line)
                return []
            await nap(self._sleep, UNAVAILABLE_BACKOFF.delay(attempt), self._closed)
            attempt += 1

    async def _respond_once(
        self,
        incoming: Incoming,
        sender: Sender,
        is_admin: AdminCheck | None,
        post: Post | None,
        queue: bool,
        redeliverable: bool,
    ) -> list[Answer]:
        """One try: claim, answer, send, mark done. `_Unavailable` when the Store failed
        before anything was sent (the claim is let go: nothing half-done remains)."""
        claim = await self._claim(incoming, redeliverable)
        if claim is None:
            return []
        sent = 0
        try:
            handed = queue and self.jobs is not None and self.heavy(incoming)
            if handed and await self._hand_over(incoming):
                await claim.done()
                return []
            answers = await self._answers(incoming, is_admin)
            for answer in answers:
                if post is not None and await post(answer):
                    count_sent(incoming.platform, "ok")
                    sent += 1
                    continue
                refs = await send_answer(incoming, answer, sender)
                sent += len(refs)
                await remember_quietly(self.store, incoming, answer, refs)
        except StoreError as exc:
            if sent == 0:
                await claim.release()
                raise _Unavailable(str(exc)) from None
            log.warning("the rest of an answer was not sent: %s", exc)
        except asyncio.CancelledError:
            await asyncio.shield(claim.release())
            raise
        except Exception:
            chat = hashed(incoming.chat_key)
            log.exception(
                "answering failed: platform=%s chat=%s",
                incoming.platform,
                chat,
                extra={"platform": incoming.platform, "chat": chat},
            )
            await claim.done()  # a bug, not an outage: a redelivery would fail the same way
            return []
        await claim.done()
        return answers

    async def _claim(self, inc: Incoming, redeliverable: bool) -> Claim | None:
        """This process's claim on `inc` (None: a duplicate, ignored). Another process
        answering it: a duplicate, unless the platform delivers it again (Deferred: it
        is answered then, by whoever holds it by then)."""
        key = event_key(inc)
        try:
            claim = await claim_event(self.store, key, self.owner, claimed=self._claimed)
        except StoreError as exc:
            raise _Unavailable(str(exc)) from None
        if claim is None:
            elsewhere = redeliverable and key is not None and key not in self._claimed
            if elsewhere and not await self._answered(key or ""):
                raise Deferred("another process holds this event's lease")
            count_event(inc.platform, "duplicate")
            log.info(
                "duplicate event ignored: platform=%s",
                inc.platform,
                extra={"platform": inc.platform},
            )
        return claim

    async def _answered(self, key: str) -> bool:
        try:
            return await self.store.cache_get(EVENT_NS, key) is not None
        except StoreError as exc:
            raise _Unavailable(str(exc)) from None

    def heavy(self, inc: Incoming) -> bool:
        """Whether answering `inc` costs LLM calls (/paper, /ideas, a question in a
        thread, a bare arXiv id in a DM): what a fleet's workers answer."""
        if inc.button is not None:
            return False
        text = inc.text.strip()
        if not text or len(text) > self.settings.max_input_chars:
            return False
        parsed = parse_command(text, inc.bot_name)
        if parsed is None:
            return bool(inc.thread_refs) or (not inc.is_group and is_arxiv_id(text))
        cmd = COMMANDS.get(parsed[0])
        return cmd is not None and cmd.llm and not cmd.hidden

    async def _hand_over(self, inc: Incoming) -> bool:
        """Enqueue the answer to `inc` for a worker (its event is claimed here, so the job
        carries none); False when the queue is unreachable: answered here instead."""
        assert self.jobs is not None
        unclaimed = dataclasses.replace(inc, event_id=None)
        try:
            await self.jobs.enqueue_answer(unclaimed, key=event_key(inc))
        except Exception as exc:
            log.warning("queue unreachable, answering here: %s", exc.__class__.__name__)
            return False
        return True

    async def _say(
        self,
        inc: Incoming,
        sender: Sender,
        post: Post | None,
        line: Callable[[Language], str],
    ) -> None:
        """A short line to the chat without the Store (it may be what is down), in the
        configured language; best effort: a failure is only logged."""
        language: Language = "zh" if self.settings.language == "zh" else "en"
        reply_to = (
            None if inc.button else (inc.reply_ref if (inc.is_group or inc.thread_refs) else None)
        )
        answer = Answer(Reply.text(language, line(language)), reply_to=reply_to)
        try:
            if post is None or not await post(answer):
                await send_answer(inc, answer, sender)
        except Exception as exc:
            log.info("a short note to the chat was not sent: %s", exc.__class__.__name__)

    async def handle(self, inc: Incoming, *, is_admin: AdminCheck | None = None) -> list[Answer]:
        """The answers to one message or click (no sending); [] for a duplicate."""
        claim = await claim_event(self.store, event_key(inc), self.owner, claimed=self._claimed)
        if claim is None:
            count_event(inc.platform, "duplicate")
            return []
        try:
            answers = await self._answers(inc, is_admin)
        except BaseException:
            await asyncio.shield(claim.release())
            raise
        await claim.done()
        return answers

    async def _answers(self, inc: Incoming, is_admin: AdminCheck | None) -> list[Answer]:
        ctx = await self.context(inc, is_admin)
        # A click is answered by a toast (or an ephemeral note), whatever the outcome.
        notice = inc.button is not None
        reply_to = (
            None if notice else (inc.reply_ref if (inc.is_group or inc.thread_refs) else None)
        )

        def say(text: str) -> list[Answer]:
            return [Answer(Reply.text(ctx.language, text), reply_to=reply_to, notice=notice)]

        try:
            if inc.button is not None:
                action, value = inc.button
                name = "feedback" if action == "fb" else action
                if name not in COMMANDS:
                    log.info("click on an unknown button action ignored: %r", action[:20])
                    return []
                if COMMANDS[name].admin and inc.is_group and not await ctx.is_admin():
                    record_command(name, "forbidden")
                    return say(replies.admins_only(ctx.language, f"{inc.command_prefix}{name}"))
                doc = await self._run(ctx, name, value)
                return [Answer(doc, reply_to=None, notice=True)]
            return await self._text(ctx, inc, reply_to)
        except UsageError as exc:
            return say(str(exc))
        except InvalidPaperId as exc:
            return say(replies.bad_id(ctx.language, exc))
        except PaperNotFound as exc:
            return say(replies.not_found(ctx.language, exc.paper_id))
        except StoreError:
            raise  # the Store is down: not this command's fault (answered once it is back)
        except SourceError as exc:
            log.warning("source failed for a command: %s", exc, extra={"source": exc.source})
            return say(replies.sources_down(ctx.language))
        except Exception:
            chat = hashed(inc.chat_key)
            log.exception(
                "command failed: platform=%s chat=%s",
                inc.platform,
                chat,
                extra={"platform": inc.platform, "chat": chat},
            )
            return say(replies.went_wrong(ctx.language))

    async def _text(self, ctx: HandlerContext, inc: Incoming, reply_to: str | None) -> list[Answer]:
        lang = ctx.language
        text = inc.text.strip()
        if len(text) > self.settings.max_input_chars:
            msg = tr(
                lang,
                f"That message is too long ({len(text)} characters; at most "
                f"{self.settings.max_input_chars}). Please shorten it.",
                f"消息太长了({len(text)} 个字符,最多 {self.settings.max_input_chars}),"
                "请精简后再发。",
            )
            record_command("unknown", "too_long")
            return [Answer(Reply.text(lang, msg), reply_to=reply_to)]
        parsed = parse_command(text, inc.bot_name)
        if parsed == ("", ""):
            return []  # a command for another bot in the same group
        if parsed is None:
            if ctx.thread is not None and (inc.addressed or not inc.is_group) and text:
                doc = await self._run(ctx, "ask", text, limited=True)
                return [Answer(doc, reply_to=reply_to, thread=ctx.thread, question=text)]
            if not inc.addressed:
                return []  # group chatter not meant for the bot
            if not inc.is_group and is_arxiv_id(text):
                return [Answer(await self._run(ctx, "paper", text, limited=True), reply_to)]
            return [Answer(Reply.text(lang, replies.pointer(lang, inc.command_prefix)), reply_to)]
        name, args = parsed
        cmd = COMMANDS.get(name)
        if cmd is None or cmd.hidden:
            record_command("unknown", "unknown")  # never the typed name: labels stay bounded
            msg = replies.unknown(lang, name, inc.command_prefix)
            return [Answer(Reply.text(lang, msg), reply_to=reply_to)]
        if cmd.admin and inc.is_group and not await ctx.is_admin():
            record_command(name, "forbidden")
            msg = replies.admins_only(lang, f"{inc.command_prefix}{name}")
            return [Answer(Reply.text(lang, msg), reply_to=reply_to)]
        doc = await self._run(ctx, name, args, limited=cmd.llm)
        return [Answer(doc, reply_to=reply_to)]

    async def _run(
        self, ctx: HandlerContext, name: str, args: str, *, limited: bool = False
    ) -> Document:
        """Run the registered command `name`, counting its outcome and timing its handler."""
        if limited and not await self.limiter.check(ctx.user.user_id, ctx.chat.key):
            record_command(name, "limited")
            raise UsageError(
                ctx.t(
                    "Slow down a little: too many requests in a short time. Try again in a minute.",
                    "请稍等:短时间内请求太多了,一分钟后再试。",
                )
            )
        started = time.perf_counter()
        outcome = "error"
        try:
            doc = await COMMANDS[name].handler(ctx, Args(args))
            outcome = "ok"
            return doc
        except Unavailable:
            outcome = "unavailable"
            raise
        except UsageError:
            outcome = "usage"
            raise
        except (InvalidPaperId, PaperNotFound):
            outcome = "bad_input"
            raise
        except SourceError:
            outcome = "source_error"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            record_command(name, outcome, time.perf_counter() - started)

    async def context(self, inc: Incoming, is_admin: AdminCheck | None) -> HandlerContext:
        sub = await self.store.get_subscription(inc.platform, inc.chat_id)
        prefs = await get_prefs(self.store, inc.chat_key)
        language: Language = (
            sub.language
            if sub is not None
            else prefs.language
            or (self.settings.language if self.settings.language in ("zh", "en") else "en")  # type: ignore[assignment]
        )
        profile = await chat_profile(self.settings, self.store, inc.chat_key, sub, language)
        thread = await self._thread(inc)
        return HandlerContext(
            settings=self.settings,
            store=self.store,
            chat=Chat(inc.platform, inc.chat_id, inc.is_group),
            user=User(inc.user_id, inc.user_name),
            subscription=sub,
            profile=profile,
            language=language,
            llm=self.llm,
            now=self._now,
            is_admin=is_admin or _no,
            thread=thread,
            command_prefix=inc.command_prefix,
        )

    async def _thread(self, inc: Incoming) -> ThreadContext | None:
        for ref in inc.thread_refs:
            key = thread_key(inc.platform, inc.chat_id, ref)
            data = await self.store.get_thread(key)
            if data is not None:
                return ThreadContext.from_json(key, data)
        return None

    # --- sending ------------------------------------------------------------------------

    async def deliver(self, inc: Incoming, answer: Answer, sender: Sender) -> list[str]:
        """Render the answer for the platform and send it; remember what it is about."""
        refs = await send_answer(inc, answer, sender)
        await self.remember(inc, answer, refs)
        return refs

    async def remember(self, inc: Incoming, answer: Answer, refs: Sequence[str]) -> None:
        """Thread context: which paper the sent messages are about; a thread's Q&A."""
        await remember(self.store, inc, answer, refs)


class _Unavailable(Exception):
    """The Store (or the fleet's Redis) failed before anything was sent."""


async def _no() -> bool:
    return False
