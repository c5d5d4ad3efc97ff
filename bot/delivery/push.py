"""Deliver a day's brief to every active subscription: chats that want the same brief
share one build; chats are served concurrently; one chat's failure never stops the others."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

from bot.core.leases import patiently
from bot.core.messages import OutMessage
from bot.core.observability import hashed
from bot.core.ports import Sender
from bot.core.profiles import profile_for
from bot.core.ratelimit import Limiter, RateLimiter
from bot.delivery.build import BriefBuilder, Stopped, group_brief, unless_stopped
from bot.delivery.deliver import day_key, deliver, remember_delivery
from bot.delivery.outcomes import save_last_outcomes
from bot.delivery.report import ChatOutcome, PushReport
from bot.platforms import PLATFORMS
from digest.errors import (
    ConfigError,
    PaperdropError,
)
from digest.models import Brief, Language, Platform, Subscription
from digest.pipeline import build_brief, mark_seen
from digest.profile import Profile
from digest.reader import reader_profile
from digest.settings import Settings
from digest.store.base import Store

log = logging.getLogger(__name__)

# Chats delivered at once; the RateLimiter, not this, sets the pace.
MAX_CONCURRENT_CHATS = 256
# One process delivers a chat at a time: a lease per (chat, day) around `deliver`, so two
# workers given the same chat (a re-enqueued job, a takeover) never both send its parts.
CHAT_LEASE = dt.timedelta(minutes=10)
BUSY = "busy: another worker is delivering this chat"

Renderer = Callable[[Brief, Subscription], list[OutMessage]]


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
    owner = f"push:{uuid.uuid4().hex}"
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
            brief = await unless_stopped(
                group_brief(
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
        await save_last_outcomes(store, report)
    return report
