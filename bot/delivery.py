"""Deliver the morning brief: complete, never twice, never half.

`deliver` sends one chat's rendered parts in order and records each part in the Store
the moment the platform accepted it, so a retry or a restart skips exactly what already
arrived and resumes at the first missing part (in the parent's thread, if threaded).

`push` delivers a day's brief to every active subscription: chats that want the same
brief (same profile key and language) share one build, which is cached in the Store for
the day, so a resumed delivery sends the rest of *the same* brief rather than a rebuilt
one. Chats are served concurrently; the shared RateLimiter keeps each platform's limits,
and one chat's failure never stops the others.

The Store unreachable mid-delivery (Redis restarting) pauses the delivery instead of
failing it: each Store step (what arrived, the fleet's send limiter, the record of a part
that went out) is tried again with backoff until it answers, for `STORE_PATIENCE` at most,
and the delivery goes on where it was. A part the platform accepted is recorded before the
next one is sent, however long that takes, so no part is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import inspect
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from bot.observability import count_sent, hashed
from bot.platforms import PLATFORMS
from bot.platforms.base import OutMessage
from bot.ratelimit import Limiter, RateLimiter
from bot.reconnect import Backoff, Link
from bot.sending import Sender
from digest.chatstate import (
    BRIEF_NS,
    day_brief_key,
    get_day_brief,
    put_day_brief,
    record_brief,
    thread_key,
)
from digest.errors import (
    ChatGone,
    ConfigError,
    DeliveryError,
    PaperdropError,
    ProfileError,
    StoreError,
)
from digest.models import Brief, Language, PaperItem, Platform, Subscription
from digest.profile import Profile, example_profile, load_profile
from digest.reader import reader_profile
from digest.settings import Settings
from digest.store.base import Store

__all__ = [
    "BRIEF_NS",
    "DONE_NS",
    "STORE_LINK",
    "BriefBuilder",
    "ChatOutcome",
    "DeliveryResult",
    "PushReport",
    "day_key",
    "deliver",
    "is_delivered",
    "keep_lock",
    "last_outcome",
    "nap",
    "patiently",
    "profile_for",
    "push",
    "render_for",
    "report_rows",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Store namespace of "this chat got all of today's parts" (the day's brief: chatstate).
DONE_NS = "delivered"
# The last push outcome of (chat, day), for `paperdrop status`.
PUSHLOG_NS = "pushlog"
DONE_TTL = dt.timedelta(days=10)
# How long a pick's message can be discussed in its thread.
THREAD_TTL = dt.timedelta(days=14)
# Chats delivered at once; the RateLimiter, not this, sets the pace.
MAX_CONCURRENT_CHATS = 256
# A profile's name is at most this long (digest.profile.Profile.name).
PROFILE_NAME_MAX = 80
# One build of a (profile, language, day) brief across every process: the builder holds
# this lease (renewed while it builds); the others poll the day's brief cache.
BUILD_LEASE = dt.timedelta(minutes=5)
BUILD_POLL = 1.0  # seconds between looks while another process builds
# One process delivers a chat at a time: a lease per (chat, day) around `deliver`, so two
# workers given the same chat (a re-enqueued job, a takeover) never both send its parts.
CHAT_LEASE = dt.timedelta(minutes=10)
BUSY = "busy: another worker is delivering this chat"
# The Store unreachable: a delivery waits this long at most (see the module docstring).
STORE_PATIENCE = 600.0
STORE_BACKOFF = Backoff(base=1.0, cap=30.0)
# This process's view of the Store: down and up said once each (the scheduler's too).
STORE_LINK = Link("store", "connection", logger=log)


class BriefBuilder(Protocol):
    """Builds one group's brief (digest.pipeline.build_brief). `languages` are every
    language the day's groups read, so shared work (summaries) is done once for all."""

    def __call__(
        self,
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = ...,
        languages: Collection[Language] | None = ...,
    ) -> Awaitable[Brief]: ...


def _takes_languages(builder: BriefBuilder) -> bool:
    """Whether `builder` accepts `languages` (builders written before it was added do not)."""
    try:
        params = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "languages" or p.kind is p.VAR_KEYWORD for p in params)


Renderer = Callable[[Brief, Subscription], list[OutMessage]]


@dataclass
class DeliveryResult:
    """What `deliver` did for one chat."""

    chat: str  # the subscription key, e.g. "telegram:12345"
    total: int
    sent: int = 0
    skipped: int = 0  # already delivered before
    failed: int = 0  # parts not delivered (the failed one and those after it)
    errors: list[str] = field(default_factory=list)
    gone: bool = False  # ChatGone: the subscription was saved inactive
    refs: dict[int, str] = field(default_factory=dict)  # part -> message reference

    @property
    def complete(self) -> bool:
        return self.failed == 0 and self.sent + self.skipped == self.total


async def patiently(
    step: Callable[[], Awaitable[T]],
    *,
    stop: asyncio.Event | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    must: bool = False,
    patience: float = STORE_PATIENCE,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`await step()`, tried again with backoff while it raises StoreError (the Store
    unreachable), at most `patience` seconds; `must`: even while shutting down (a part
    that went out must be recorded, or the next run sends it again)."""
    started = clock()
    attempt = 0
    forever = asyncio.Event()
    while True:
        asked_at = time.monotonic()  # the Link's clock
        try:
            result = await step()
        except StoreError as exc:
            STORE_LINK.down(str(exc))
            stopping = stop is not None and stop.is_set() and not must
            if stopping or clock() - started > patience:
                raise
            await nap(sleep, STORE_BACKOFF.delay(attempt), forever if must else (stop or forever))
            attempt += 1
            continue
        if STORE_LINK.up_now is False:
            STORE_LINK.up(asked_at=asked_at)
        return result


async def deliver(
    sub: Subscription,
    day: dt.date,
    messages: list[OutMessage],
    *,
    store: Store,
    sender: Sender,
    stop: asyncio.Event | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DeliveryResult:
    """Send the parts of `day` that have not reached `sub` yet, in order, recording each.

    Stops at the first refusal so that parts never arrive out of order; the next run
    resumes there. ChatGone saves the subscription inactive with the reason. When `stop`
    is set (shutdown), the part being sent is finished and recorded, and no other starts.
    The Store unreachable pauses it (see the module docstring).
    """
    ordered = sorted(messages, key=lambda m: m.part)
    result = DeliveryResult(chat=sub.key, total=len(ordered))
    done = await patiently(lambda: store.delivered_parts(sub.key, day), stop=stop, sleep=sleep)
    parent_ref: str | None = None
    for index, msg in enumerate(ordered):
        if msg.part in done:
            result.skipped += 1
            result.refs[msg.part] = done[msg.part]
            if msg.parent:
                parent_ref = done[msg.part]
            continue
        if stop is not None and stop.is_set():
            result.failed = len(ordered) - index
            result.errors.append("stopped: shutting down")
            break
        thread_ref = parent_ref if msg.in_thread else None
        try:
            # A StoreError from a send is the fleet's limiter, before anything went out.
            ref = await patiently(
                functools.partial(sender.send, sub, msg, thread_ref, day=day),
                stop=stop,
                sleep=sleep,
            )
        except ChatGone as exc:
            result.failed = len(ordered) - index
            result.errors.append(str(exc))
            result.gone = True
            await store.save_subscription(
                sub.model_copy(update={"active": False, "inactive_reason": exc.reason})
            )
            count_sent(sub.platform, "gone", kind="brief")
            log.warning(
                "chat gone, subscription deactivated: chat=%s reason=%s",
                hashed(sub.key),
                exc.reason,
            )
            break
        except DeliveryError as exc:
            result.failed = len(ordered) - index
            result.errors.append(str(exc))
            count_sent(sub.platform, "failed", kind="brief")
            log.warning(
                "delivery failed: chat=%s part=%d reason=%s", hashed(sub.key), msg.part, exc.reason
            )
            break
        # Recorded before the next part goes out: a crash after this line never repeats it.
        await patiently(
            functools.partial(store.mark_delivered, sub.key, day, msg.part, ref),
            sleep=sleep,
            must=True,
        )
        count_sent(sub.platform, "ok", kind="brief")
        result.sent += 1
        result.refs[msg.part] = ref
        if msg.parent:
            parent_ref = ref
    if result.complete:
        await patiently(
            functools.partial(
                store.cache_set, DONE_NS, day_key(sub.key, day), str(result.total), DONE_TTL
            ),
            sleep=sleep,
            must=True,
        )
    return result


async def remember_delivery(
    store: Store,
    sub: Subscription,
    brief: Brief,
    messages: Sequence[OutMessage],
    result: DeliveryResult,
) -> None:
    """What the chat now has: the brief (item numbers of `/paper 3`, `/ideas`), and which
    message holds which paper, so a question in a pick's thread is about that pick."""
    await record_brief(store, sub.key, brief)
    picks = brief.section("top_picks")
    pick_ids = [i.paper_id for i in picks.items if isinstance(i, PaperItem)] if picks else []
    for msg in messages:
        ref = result.refs.get(msg.part)
        if ref is None or ref == "webhook":  # a custom bot's message has no id to reply to
            continue
        key = thread_key(sub.platform, sub.chat_id, ref)
        if msg.paper_id is not None:
            await store.save_thread(key, {"paper_id": msg.paper_id}, THREAD_TTL)
        elif msg.parent and pick_ids:
            await store.save_thread(key, {"papers": pick_ids}, THREAD_TTL)


def day_key(chat_key: str, day: dt.date) -> str:
    """The Store key of what concerns one chat on one day (delivered, outcome, lease…)."""
    return f"{chat_key}|{day.isoformat()}"


async def is_delivered(store: Store, sub: Subscription, day: dt.date) -> bool:
    """True when every part of `day`'s brief reached `sub`."""
    return await store.cache_get(DONE_NS, day_key(sub.key, day)) is not None


# --- push --------------------------------------------------------------------------------


def profile_for(sub: Subscription, settings: Settings) -> Profile:
    """The reader profile of a subscription: its file, else its inline interests, in the
    subscription's time zone (the brief says when it was made in the reader's time).

    Raises ProfileError when the file cannot be used.
    """
    profile = _profile_of(sub, settings)
    if sub.tz != "UTC":  # a subscription left at UTC keeps the profile file's own zone
        profile = profile.model_copy(update={"timezone": sub.tz})
    return profile


def _profile_of(sub: Subscription, settings: Settings) -> Profile:
    if sub.profile_path:
        return load_profile(sub.profile_path, sub.language)
    if sub.interests:
        # The name titles the brief: the interests say more to the chat than its id does.
        name = ", ".join(sub.interests[:2])[:PROFILE_NAME_MAX] or sub.key[:PROFILE_NAME_MAX]
        data = {"name": name, "language": sub.language}
        try:
            return Profile.model_validate({**data, "interests": sub.interests})
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = str(first["msg"]).removeprefix("Value error, ")
            raise ProfileError(f"interests of {sub.key}: {reason}") from None
    if settings.profile_path is not None:
        return load_profile(settings.profile_path, sub.language)
    return example_profile(sub.language)


def render_for(brief: Brief, sub: Subscription) -> list[OutMessage]:
    """The brief rendered for the subscription's platform and options."""
    return PLATFORMS[sub.platform].render(brief, sub)


@dataclass
class ChatOutcome:
    sub: Subscription
    parts: int = 0
    result: DeliveryResult | None = None
    error: str | None = None  # before delivery: profile, brief or sender setup failed
    preview: list[OutMessage] = field(default_factory=list)  # dry run: what would be sent
    busy: bool = False  # another process holds the chat's lease: not a failure of this one

    @property
    def stopped(self) -> bool:
        """Stopped by a shutdown before anything was sent: not a failure of the chat."""
        return self.result is None and (self.error or "").startswith("stopped")

    @property
    def ok(self) -> bool:
        return self.busy or (self.error is None and (self.result is None or self.result.complete))


@dataclass
class PushReport:
    day: dt.date
    dry_run: bool
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    briefs_built: int = 0
    briefs_reused: int = 0
    outcomes: list[ChatOutcome] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        """Chats that have the whole brief (now or from an earlier run)."""
        return sum(1 for o in self.outcomes if o.result is not None and o.result.complete)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def sent(self) -> int:
        return sum(o.result.sent for o in self.outcomes if o.result is not None)

    @property
    def skipped(self) -> int:
        return sum(o.result.skipped for o in self.outcomes if o.result is not None)

    def summary(self) -> str:
        if self.dry_run:
            parts = sum(o.parts for o in self.outcomes)
            return f"dry run {self.day}: {len(self.outcomes)} chat(s), {parts} message(s) to send"
        return (
            f"{self.day}: {self.delivered}/{len(self.outcomes)} chat(s) complete, "
            f"{self.sent} message(s) sent, {self.skipped} already there, {self.failed} failed"
        )


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _group_brief(
    settings: Settings,
    store: Store,
    day: dt.date,
    profile: Profile,
    readers: list[str],
    builder: BriefBuilder,
    *,
    dry_run: bool,
    report: PushReport,
    languages: Collection[Language],
    owner: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Brief:
    """The day's brief of `profile`: the cached one, else built here under the build lease,
    else (another process is building it) the one it caches, waited for."""
    if dry_run:  # the day's brief if there is one; else built here and never cached
        cached = await get_day_brief(store, profile.key, day)
        if cached is not None:
            report.briefs_reused += 1
            return cached
        return await _build(settings, store, day, profile, readers, builder, report, languages)
    lock = f"build:{day_brief_key(profile.key, day)}"
    while True:
        cached = await get_day_brief(store, profile.key, day)
        if cached is not None:
            report.briefs_reused += 1
            return cached
        if await store.acquire_lock(lock, owner, BUILD_LEASE):
            break
        await sleep(BUILD_POLL)
    done = asyncio.Event()
    renew = asyncio.ensure_future(keep_lock(store, lock, owner, BUILD_LEASE, done, sleep))
    try:
        # Built and cached by another process between our look and our lock?
        cached = await get_day_brief(store, profile.key, day)
        if cached is not None:
            report.briefs_reused += 1
            return cached
        brief = await _build(settings, store, day, profile, readers, builder, report, languages)
        await put_day_brief(store, profile.key, day, brief)
        return brief
    finally:
        done.set()
        await asyncio.gather(renew, return_exceptions=True)
        with contextlib.suppress(PaperdropError):
            await store.release_lock(lock, owner)


async def _build(
    settings: Settings,
    store: Store,
    day: dt.date,
    profile: Profile,
    readers: list[str],
    builder: BriefBuilder,
    report: PushReport,
    languages: Collection[Language],
) -> Brief:
    if _takes_languages(builder):
        brief = await builder(
            settings, profile, day, store=store, readers=readers, languages=languages
        )
    else:
        brief = await builder(settings, profile, day, store=store, readers=readers)
    report.briefs_built += 1
    return brief


async def nap(
    sleep: Callable[[float], Awaitable[None]], seconds: float, wake: asyncio.Event
) -> None:
    """Sleep `seconds`, waking at once when `wake` is set."""
    napping = asyncio.ensure_future(sleep(seconds))
    woken = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({napping, woken}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (napping, woken):
            waiter.cancel()
        await asyncio.gather(napping, woken, return_exceptions=True)


async def keep_lock(
    store: Store,
    lock: str,
    owner: str,
    ttl: dt.timedelta,
    done: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]],
) -> bool:
    """Renew `lock` every third of its lease until `done` is set; False when it was lost.

    Never cancelled mid-renewal: a Store call cut off half-way could leave a transaction
    open, so the caller sets `done` and the loop finishes its current call.
    """
    while not done.is_set():
        await nap(sleep, ttl.total_seconds() / 3, done)
        if done.is_set():
            return True
        if not await store.acquire_lock(lock, owner, ttl):
            return False
    return True


async def push(
    settings: Settings,
    store: Store,
    day: dt.date,
    *,
    chat: str | None = None,
    dry_run: bool = False,
    builder: BriefBuilder | None = None,
    senders: Mapping[Platform, Sender] | None = None,
    now: Callable[[], dt.datetime] = _utc_now,
    render: Renderer = render_for,
    subscriptions: Sequence[Subscription] | None = None,
    limiter: Limiter | None = None,
    stop: asyncio.Event | None = None,
    languages: Collection[Language] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PushReport:
    """Deliver `day`'s brief to every active subscription (or to `chat` only).

    `chat` is a chat id or a subscription key ("slack:C123"). `subscriptions` restricts
    the run to these (the scheduler passes the due ones; a worker its job's chunk).
    `languages` are every language the day's readers read, when this run is one part of
    the day's fan-out (default: those of these chats). Senders not given are made from
    the settings, share one RateLimiter, and are closed at the end. Several pushes may
    run at once in several processes on one Store: each brief is built once, and each
    chat is delivered by one of them at a time.
    """
    owner = f"push:{uuid.uuid4().hex}"
    if builder is None:
        from digest.pipeline import build_brief

        builder = build_brief
    from digest.pipeline import mark_seen

    report = PushReport(day=day, dry_run=dry_run, started_at=now())
    subs = list(subscriptions) if subscriptions is not None else await store.list_subscriptions()
    subs = [s for s in subs if s.active]
    if chat is not None:
        subs = [s for s in subs if chat in (s.chat_id, s.key)]
        if not subs:
            raise ConfigError(f"no active subscription for chat {chat}")

    # Group chats that share a brief; a bad profile fails its chats only.
    groups: dict[str, tuple[Profile, list[Subscription]]] = {}
    for sub in subs:
        try:
            profile = profile_for(sub, settings)
            # A chat's seeds, authors and votes: once its model weighs in, the chat gets a
            # brief of its own (the evidence is part of the profile's key).
            profile = await reader_profile(store, sub.key, profile)
        except PaperdropError as exc:
            report.outcomes.append(ChatOutcome(sub, error=str(exc)))
            log.warning("no profile: chat=%s reason=%s", hashed(sub.key), exc)
            continue
        groups.setdefault(profile.key, (profile, []))[1].append(sub)
    # Every language of the day: a summary the LLM writes is written in all of them at once.
    day_languages = frozenset(profile.language for profile, _ in groups.values()) | frozenset(
        languages or ()
    )

    owned: dict[Platform, Sender] = {}
    setup_errors: dict[Platform, str] = {}
    available: dict[Platform, Sender] = dict(senders or {})
    if not dry_run:
        shared_limiter = limiter or RateLimiter()
        for platform in dict.fromkeys(
            s.platform for _, members in groups.values() for s in members
        ):
            if platform in available:
                continue
            try:
                made = PLATFORMS[platform].make_sender(
                    settings, limiter=shared_limiter, sleep=asyncio.sleep
                )
            except ConfigError as exc:
                setup_errors[platform] = str(exc)
                continue
            owned[platform] = available[platform] = made

    gate = asyncio.Semaphore(MAX_CONCURRENT_CHATS)

    # Chats sharing a brief get the same payloads: render once per (brief, platform,
    # options), not once per chat (the payloads carry no chat id; nothing mutates them).
    rendered: dict[tuple[int, str, bool, bool], list[OutMessage]] = {}

    def render_once(brief: Brief, sub: Subscription) -> list[OutMessage]:
        if render is not render_for:
            return render(brief, sub)
        key = (id(brief), sub.platform, sub.threads, sub.webhook is not None)
        if key not in rendered:
            rendered[key] = render(brief, sub)
        return rendered[key]

    async def one_chat(sub: Subscription, brief: Brief) -> ChatOutcome:
        outcome = ChatOutcome(sub)
        try:
            messages = render_once(brief, sub)
        except Exception as exc:  # a renderer bug must not stop the other chats
            outcome.error = f"rendering failed: {exc.__class__.__name__}: {exc}"
            log.exception("render failed: chat=%s", hashed(sub.key))
            return outcome
        outcome.parts = len(messages)
        if dry_run:
            outcome.preview = messages
            return outcome
        if sub.platform in setup_errors:
            outcome.error = setup_errors[sub.platform]
            log.warning("cannot send: chat=%s reason=%s", hashed(sub.key), outcome.error)
            return outcome
        lease = f"deliver:{day_key(sub.key, day)}"
        async with gate:
            try:
                if stop is not None and stop.is_set():
                    outcome.error = "stopped: shutting down"
                    return outcome
                held = await patiently(
                    functools.partial(store.acquire_lock, lease, owner, CHAT_LEASE),
                    stop=stop,
                    sleep=sleep,
                )
                if not held:
                    outcome.busy = True
                    outcome.error = BUSY
                    return outcome
                try:
                    result = await deliver(
                        sub,
                        day,
                        messages,
                        store=store,
                        sender=available[sub.platform],
                        stop=stop,
                        sleep=sleep,
                    )
                finally:
                    with contextlib.suppress(PaperdropError):
                        await store.release_lock(lease, owner)
            except Exception as exc:  # e.g. the Store failed mid-way: report, keep going
                outcome.error = f"{exc.__class__.__name__}: {exc}"
                log.warning("delivery aborted: chat=%s reason=%s", hashed(sub.key), outcome.error)
                return outcome
        outcome.result = result
        if result.complete:
            try:
                await mark_seen(store, sub.key, brief, settings)
                await remember_delivery(store, sub, brief, messages, result)
            except PaperdropError as exc:  # delivered all the same; only history is missing
                log.warning(
                    "could not remember the delivery: chat=%s reason=%s", hashed(sub.key), exc
                )
        return outcome

    async def one_group(profile: Profile, members: list[Subscription]) -> list[ChatOutcome]:
        try:
            brief = await _unless_stopped(
                _group_brief(
                    settings,
                    store,
                    day,
                    profile,
                    [s.key for s in members],
                    builder,
                    dry_run=dry_run,
                    report=report,
                    languages=day_languages,
                    owner=owner,
                    sleep=sleep,
                ),
                stop,
            )
        except _Stopped:
            return [ChatOutcome(s, error="stopped: shutting down") for s in members]
        except Exception as exc:
            reason = str(exc) if isinstance(exc, PaperdropError) else repr(exc)
            log.warning(
                "no brief for %d chat(s) (%s): %s",
                len(members),
                ", ".join(hashed(s.key) for s in members),
                reason,
            )
            return [ChatOutcome(s, error=f"no brief: {reason}") for s in members]
        return list(await asyncio.gather(*(one_chat(s, brief) for s in members)))

    try:
        per_group = await asyncio.gather(*(one_group(p, m) for p, m in groups.values()))
    finally:
        for sender in owned.values():
            await sender.aclose()
    for outcomes in per_group:
        report.outcomes.extend(outcomes)
    report.outcomes.sort(key=lambda o: o.sub.key)
    report.finished_at = now()
    if not dry_run:
        await _record_outcomes(store, report)
    return report


async def _record_outcomes(store: Store, report: PushReport) -> None:
    """Each chat's last outcome of the day, for `paperdrop status` (no secrets in it)."""
    at = (report.finished_at or report.started_at).isoformat()
    for row, outcome in zip(report_rows(report), report.outcomes, strict=True):
        if outcome.busy:  # the process delivering it records its own outcome
            continue
        key = day_key(outcome.sub.key, report.day)
        try:
            await store.cache_set(PUSHLOG_NS, key, json.dumps({**row, "at": at}), DONE_TTL)
        except PaperdropError as exc:  # the delivery happened; only the status line is lost
            log.warning("push outcome not recorded: chat=%s reason=%s", hashed(row["chat"]), exc)


async def last_outcome(store: Store, sub: Subscription, day: dt.date) -> dict[str, Any] | None:
    """What the last push of `day` reported for this chat (see `report_rows`), if any."""
    raw = await store.cache_get(PUSHLOG_NS, day_key(sub.key, day))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _Stopped(Exception):
    pass


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event | None) -> T:
    """Await `work`, but give up (cancelling it) as soon as `stop` is set: building a
    brief is abandoned on shutdown; nothing was sent yet."""
    if stop is None:
        return await work
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _Stopped
    return task.result()


def report_rows(report: PushReport) -> list[dict[str, Any]]:
    """One plain row per chat (for the CLI table and JSON), with no secrets in it."""
    rows = []
    for o in report.outcomes:
        r = o.result
        rows.append(
            {
                "chat": o.sub.key,
                "parts": o.parts,
                "sent": r.sent if r else 0,
                "skipped": r.skipped if r else 0,
                "failed": r.failed if r else (o.parts if o.error else 0),
                "status": (
                    "busy"
                    if o.busy
                    else "dry run"
                    if report.dry_run and o.error is None
                    else "gone"
                    if r is not None and r.gone
                    else "ok"
                    if o.ok
                    else "failed"
                ),
                "error": o.error or (r.errors[0] if r and r.errors else None),
            }
        )
    return rows
