"""Deliver a day's brief to every active subscription: chats that want the same brief
share one build; chats are served concurrently; one chat's failure never stops the others."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.leases import patiently
from bot.core.messages import OutMessage
from bot.core.observability import hashed
from bot.core.ports import Sender
from bot.core.profiles import profile_for
from bot.core.ratelimit import Limiter, RateLimiter
from bot.delivery.build import BriefBuilder, Stopped, group_brief, unless_stopped
from bot.delivery.deliver import DeliveryResult, day_key, deliver, delivery_writes
from bot.delivery.outcomes import save_last_outcomes
from bot.delivery.report import ChatOutcome, PushReport
from bot.platforms import PLATFORMS
from digest.errors import (
    ConfigError,
    PaperdropError,
)
from digest.models import Brief, Language, Platform, Subscription
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.reader import ReaderData, reader_data, with_reader
from digest.settings import Settings
from digest.store.base import DropLock, MarkSeen, Store, Write

log = logging.getLogger(__name__)

# Chats delivered at once; the RateLimiter, not this, sets the pace.
MAX_CONCURRENT_CHATS = 256
# One process delivers a chat at a time: a lease per (chat, day) around `deliver`, so two
# workers given the same chat (a re-enqueued job, a takeover) never both send its parts.
CHAT_LEASE = dt.timedelta(minutes=10)
BUSY = "busy: another worker is delivering this chat"

Renderer = Callable[[Brief, Subscription], list[OutMessage]]
# Chats that share a brief, by profile key.
Groups = dict[str, tuple[Profile, list[Subscription]]]


def render_for(brief: Brief, sub: Subscription) -> list[OutMessage]:
    """The brief rendered for the subscription's platform and options."""
    return PLATFORMS[sub.platform].render(brief, sub)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def push(
    settings: Settings,
    store: Store,
    day: dt.date,
    *,
    chat: str | None = None,
    dry_run: bool = False,
    builder: BriefBuilder = build_brief,
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
    run = _Push(settings, store, day, dry_run, builder, render, stop, sleep)
    run.report = PushReport(day=day, dry_run=dry_run, started_at=now())
    subs = await _chosen(store, subscriptions, chat)
    groups = await run.group(subs)
    # Every language of the day: a summary the LLM writes is written in all of them at once.
    run.languages = frozenset(p.language for p, _ in groups.values()) | frozenset(languages or ())
    if not dry_run:
        platforms = dict.fromkeys(s.platform for _, members in groups.values() for s in members)
        run.open_senders(platforms, senders or {}, limiter or RateLimiter())
    try:
        per_group = await asyncio.gather(*(run.one_group(p, m) for p, m in groups.values()))
    finally:
        for sender in run.owned.values():
            await sender.aclose()
    for outcomes in per_group:
        run.report.outcomes.extend(outcomes)
    run.report.outcomes.sort(key=lambda o: o.sub.key)
    run.report.finished_at = now()
    if not dry_run:
        await save_last_outcomes(store, run.report)
    return run.report


async def _chosen(
    store: Store, subscriptions: Sequence[Subscription] | None, chat: str | None
) -> list[Subscription]:
    """The active subscriptions of the run (all, the given ones, or `chat`'s)."""
    subs = list(subscriptions) if subscriptions is not None else await store.list_subscriptions()
    subs = [s for s in subs if s.active]
    if chat is not None:
        subs = [s for s in subs if chat in (s.chat_id, s.key)]
        if not subs:
            raise ConfigError(f"no active subscription for chat {chat}")
    return subs


@dataclass
class _Push:
    """One push's state and its steps: group chats by brief, open senders, build each
    group's brief once, render once per platform and options, deliver each chat under its
    lease, remember what it got."""

    settings: Settings
    store: Store
    day: dt.date
    dry_run: bool
    builder: BriefBuilder
    render: Renderer
    stop: asyncio.Event | None
    sleep: Callable[[float], Awaitable[None]]
    report: PushReport = field(init=False)
    languages: frozenset[Language] = frozenset()
    owner: str = field(default_factory=lambda: f"push:{uuid.uuid4().hex}")
    available: dict[Platform, Sender] = field(default_factory=dict)
    owned: dict[Platform, Sender] = field(default_factory=dict)
    setup_errors: dict[Platform, str] = field(default_factory=dict)
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_CHATS))
    # Chats sharing a brief get the same payloads: render once per (brief, platform,
    # options), not once per chat (the payloads carry no chat id; nothing mutates them).
    rendered: dict[tuple[int, str, str], list[OutMessage]] = field(default_factory=dict)
    # What the Store held about each chat's reader when the run began (one read for all).
    readers: dict[str, ReaderData] = field(default_factory=dict)

    async def group(
        self, subs: list[Subscription]
    ) -> dict[str, tuple[Profile, list[Subscription]]]:
        """Chats that share a brief, by profile key; a bad profile fails its chats only."""
        groups: Groups = {}
        based: list[tuple[Subscription, Profile]] = []
        files: dict[tuple[object, ...], Profile | PaperdropError] = {}
        for sub in subs:
            try:
                based.append((sub, self._profile_for(sub, files)))
            except PaperdropError as exc:
                self._no_profile(sub, exc)
        try:
            self.readers = await reader_data(self.store, [sub.key for sub, _ in based])
        except PaperdropError as exc:
            for sub, _ in based:
                self._no_profile(sub, exc)
            return groups
        for sub, profile in based:
            # A chat's seeds, authors and votes: once its model weighs in, the chat gets a
            # brief of its own (the evidence is part of the profile's key).
            profile = with_reader(profile, sub.key, self.readers[sub.key])
            groups.setdefault(profile.key, (profile, []))[1].append(sub)
        return groups

    def _profile_for(
        self, sub: Subscription, files: dict[tuple[object, ...], Profile | PaperdropError]
    ) -> Profile:
        """`profile_for(sub)`; one made from a file (or the example) is read once per run
        for all the chats that use it, not parsed again for each."""
        if sub.interests:
            return profile_for(sub, self.settings)
        key = (sub.profile_path, sub.language, sub.tz)
        if key not in files:
            try:
                files[key] = profile_for(sub, self.settings)
            except PaperdropError as exc:
                files[key] = exc
        found = files[key]
        if isinstance(found, PaperdropError):
            raise found
        return found

    def _no_profile(self, sub: Subscription, exc: PaperdropError) -> None:
        self.report.outcomes.append(ChatOutcome(sub, error=str(exc)))
        log.warning("no profile: chat=%s reason=%s", hashed(sub.key), exc)

    def open_senders(
        self, platforms: Iterable[Platform], given: Mapping[Platform, Sender], limiter: Limiter
    ) -> None:
        """A sender per platform (the given ones, else made here on one shared limiter)."""
        self.available = dict(given)
        for platform in platforms:
            if platform in self.available:
                continue
            try:
                made = PLATFORMS[platform].make_sender(
                    self.settings, limiter=limiter, sleep=asyncio.sleep
                )
            except ConfigError as exc:
                self.setup_errors[platform] = str(exc)
                continue
            self.owned[platform] = self.available[platform] = made

    async def one_group(self, profile: Profile, members: list[Subscription]) -> list[ChatOutcome]:
        """The group's brief (built once), then each member's delivery."""
        try:
            brief = await unless_stopped(
                group_brief(
                    self.settings,
                    self.store,
                    self.day,
                    profile,
                    [s.key for s in members],
                    self.builder,
                    dry_run=self.dry_run,
                    report=self.report,
                    languages=self.languages,
                    owner=self.owner,
                    sleep=self.sleep,
                ),
                self.stop,
            )
        except Stopped:
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
        return list(await asyncio.gather(*(self.one_chat(s, brief) for s in members)))

    def render_once(self, brief: Brief, sub: Subscription) -> list[OutMessage]:
        if self.render is not render_for:
            return self.render(brief, sub)
        key = (id(brief), sub.platform, PLATFORMS[sub.platform].render_key(sub))
        if key not in self.rendered:
            self.rendered[key] = self.render(brief, sub)
        return self.rendered[key]

    async def one_chat(self, sub: Subscription, brief: Brief) -> ChatOutcome:
        """Render and deliver one chat's brief; every failure is its outcome, not a raise."""
        outcome = ChatOutcome(sub)
        try:
            messages = self.render_once(brief, sub)
        except Exception as exc:  # a renderer bug must not stop the other chats
            outcome.error = f"rendering failed: {exc.__class__.__name__}: {exc}"
            log.exception("render failed: chat=%s", hashed(sub.key))
            return outcome
        outcome.parts = len(messages)
        if self.dry_run:
            outcome.preview = messages
            return outcome
        if sub.platform in self.setup_errors:
            outcome.error = self.setup_errors[sub.platform]
            log.warning("cannot send: chat=%s reason=%s", hashed(sub.key), outcome.error)
            return outcome
        async with self.gate:
            try:
                outcome.result = await self._deliver_leased(sub, brief, messages, outcome)
            except Exception as exc:  # e.g. the Store failed mid-way: report, keep going
                outcome.error = f"{exc.__class__.__name__}: {exc}"
                log.warning("delivery aborted: chat=%s reason=%s", hashed(sub.key), outcome.error)
                return outcome
        return outcome

    async def _deliver_leased(
        self, sub: Subscription, brief: Brief, messages: list[OutMessage], outcome: ChatOutcome
    ) -> DeliveryResult | None:
        """`deliver` under the chat's lease for the day; None (and the outcome says why)
        when shutting down or another process holds the lease. The lease and the parts
        already delivered are one round trip; a complete delivery's last record, what the
        chat now has (seen marks, its briefs, thread contexts) and the lease's release
        another."""
        if self.stop is not None and self.stop.is_set():
            outcome.error = "stopped: shutting down"
            return None
        lease = f"deliver:{day_key(sub.key, self.day)}"
        done = await patiently(
            functools.partial(
                self.store.lease_delivery, lease, self.owner, CHAT_LEASE, sub.key, self.day
            ),
            stop=self.stop,
            sleep=self.sleep,
        )
        if done is None:
            outcome.busy = True
            outcome.error = BUSY
            return None
        result: DeliveryResult | None = None
        try:
            result = await deliver(
                sub,
                self.day,
                messages,
                store=self.store,
                sender=self.available[sub.platform],
                stop=self.stop,
                sleep=self.sleep,
                done=done,
                finish=functools.partial(self._remember, sub, brief, messages, lease),
            )
            return result
        finally:
            if result is None or not result.complete:  # a complete one released it
                with contextlib.suppress(PaperdropError):
                    await self.store.release_lock(lease, self.owner)

    def _remember(
        self,
        sub: Subscription,
        brief: Brief,
        messages: list[OutMessage],
        lease: str,
        result: DeliveryResult,
    ) -> list[Write]:
        """What the chat now has (written with its delivery's completion): the papers
        shown, its briefs, its thread contexts; then the lease goes."""
        ttl = dt.timedelta(days=self.settings.seen_ttl_days)
        reader = self.readers.get(sub.key)
        return [
            MarkSeen(sub.key, tuple(brief.paper_ids()), ttl),
            *delivery_writes(sub, brief, messages, result, reader.briefs if reader else ()),
            # The brief is complete: whoever holds the lease now finds nothing to send.
            DropLock(lease),
        ]
