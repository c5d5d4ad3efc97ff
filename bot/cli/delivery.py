"""Delivery commands of the `paperdrop` CLI: subscribe, unsubscribe, subscriptions, push,
serve, render. `register(app)` adds them to the main typer app.

Errors are one line on stderr; usage errors (bad options, bad input) exit with 2, a
failed run with 1. Webhook URLs and secrets are never printed: the table masks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.cli.common import (
    CONTEXT,
    FAILED,
    USAGE,
    Command,
    Lang,
    Progress,
    Verbose,
    clean_message,
    err_console,
    fail,
    load_settings,
    parse_day,
    with_store,
)
from bot.platforms import PLATFORMS, OutMessage, PlatformAdapter, adapter
from digest.errors import ConfigError, PaperdropError, ProfileError, StoreError
from digest.models import Brief, Language, Subscription
from digest.profile import load_profile
from digest.store.base import Store

__all__ = ["register"]

_out = Console(highlight=False, soft_wrap=True)

_MAX_INTERESTS = 50


# The registry's platforms, as a CLI choice.
PlatformOpt = StrEnum("PlatformOpt", {name: name for name in PLATFORMS})  # type: ignore[misc]
PLATFORM_METAVAR = "|".join(PLATFORMS)


class ModeOpt(StrEnum):
    webhook = "webhook"
    app = "app"


# --- validation ---------------------------------------------------------------------------


def check_time(value: str) -> str:
    from bot.scheduler import parse_hhmm

    try:
        return parse_hhmm(value).strftime("%H:%M")
    except ValueError as exc:
        fail(str(exc), USAGE)


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin", USAGE)
    return value


def check_webhook(url: str) -> None:
    """https, or plain http to the loopback address (local fakes). Never echoes the URL."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    loopback = False
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and loopback:
        return
    fail("--webhook must be an https:// URL (plain http only to 127.0.0.1)", USAGE)


def parse_interests(value: str) -> list[str]:
    items = [" ".join(p.split()) for p in value.split(";")]
    items = [p for p in items if p]
    if not items:
        fail('--interests needs at least one phrase, e.g. "LLM agents; code models"', USAGE)
    if len(items) > _MAX_INTERESTS or any(len(p) > 200 for p in items):
        fail(f"--interests: at most {_MAX_INTERESTS} phrases of 1-200 characters", USAGE)
    return list(dict.fromkeys(items))


def mask(secret: SecretStr | None) -> str:
    """What the table shows of a webhook URL or secret: only that it is set."""
    return "•••• (set)" if secret is not None and secret.get_secret_value() else "—"


# --- commands -----------------------------------------------------------------------------


def subscribe(
    platform: Annotated[
        PlatformOpt,
        typer.Option("--platform", help="Where to deliver.", metavar=PLATFORM_METAVAR),
    ],
    chat: Annotated[
        str,
        typer.Option(
            "--chat",
            help="Telegram chat id, Slack channel id, Feishu chat_id (app) or a name (webhook).",
            metavar="ID",
        ),
    ],
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", help="Feishu custom-bot webhook URL.", metavar="URL"),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="Feishu webhook signing secret.", metavar="SECRET"),
    ] = None,
    time: Annotated[
        str, typer.Option("--time", help="Local delivery time.", metavar="HH:MM")
    ] = "08:00",
    tz: Annotated[
        str, typer.Option("--tz", help="IANA time zone, e.g. Asia/Shanghai.", metavar="ZONE")
    ] = "UTC",
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="Reader profile (TOML).", dir_okay=False, metavar="FILE"),
    ] = None,
    interests: Annotated[
        str | None,
        typer.Option(
            "--interests",
            help='Inline interests, "a; b" (instead of --profile).',
            metavar="PHRASES",
        ),
    ] = None,
    lang: Annotated[
        Lang | None,
        typer.Option(
            "--lang",
            help="Language of the brief.",
            metavar="zh|en",
            show_default="the profile's, else PAPERDROP_LANGUAGE, else en",
        ),
    ] = None,
    threads: Annotated[
        bool,
        typer.Option(
            "--threads/--no-threads",
            help="Each top pick its own message in the brief's thread, with 👍/👎.",
        ),
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Subscribe a chat to the morning brief (re-subscribing replaces and reactivates)."""
    settings = load_settings()
    chat = chat.strip()
    target = adapter(platform.value)
    if not target.chat_id_pattern.match(chat):
        fail(f"--chat {chat!r} is not a {target.name} chat id ({target.chat_id_help})", USAGE)
    hhmm = check_time(time)
    zone = check_zone(tz)
    if profile is not None and interests is not None:
        fail("use --profile or --interests, not both", USAGE)
    if secret is not None and webhook is None:
        fail("--secret signs a Feishu webhook: give --webhook too", USAGE)
    if webhook is not None:
        check_webhook(webhook)
    language: Language = lang.value if lang is not None else "en"
    profile_path: str | None = None
    if profile is not None:
        try:
            loaded = load_profile(profile)
        except ProfileError as exc:
            fail(str(exc), USAGE)
        profile_path = str(profile.expanduser().resolve())
        if lang is None:
            language = loaded.language
    elif lang is None and settings.language in ("zh", "en"):
        language = settings.language  # type: ignore[assignment]
    sub = Subscription(
        platform=platform.value,
        chat_id=chat,
        webhook=SecretStr(webhook.strip()) if webhook else None,
        secret=SecretStr(secret) if secret else None,
        profile_path=profile_path,
        interests=parse_interests(interests) if interests is not None else [],
        language=language,
        time=hhmm,
        tz=zone,
        threads=threads,
    )
    problem = target.check_subscription(sub, settings)
    if problem is not None:
        fail(problem, USAGE)
    if not target.configured(settings) and sub.webhook is None:
        warn(
            f"{missing_credentials(target, settings)}: nothing can be delivered to "
            f"{sub.key} until it is set (`paperdrop push --dry-run --sample` shows what "
            "it would get)"
        )

    async def save(store: Store) -> None:
        await store.save_subscription(sub)

    with_store(settings, save)
    _out.print(f"subscribed {sub.key}: {hhmm} {zone}, {language}")


def unsubscribe(
    platform: Annotated[
        PlatformOpt,
        typer.Option("--platform", help="Platform of the chat.", metavar=PLATFORM_METAVAR),
    ],
    chat: Annotated[str, typer.Option("--chat", help="Chat id as subscribed.", metavar="ID")],
    _verbose: Verbose = False,
) -> None:
    """Stop delivering to a chat."""
    settings = load_settings()

    async def delete(store: Store) -> bool:
        return await store.delete_subscription(adapter(platform.value).name, chat.strip())

    if not with_store(settings, delete):
        fail(
            f"no subscription for {platform.value}:{chat.strip()} "
            "(`paperdrop subscriptions` lists them)",
            USAGE,
        )
    _out.print(f"unsubscribed {platform.value}:{chat.strip()}")


def subscriptions(_verbose: Verbose = False) -> None:
    """List the subscriptions (webhook URLs and secrets are masked)."""
    settings = load_settings()

    async def fetch(store: Store) -> list[Subscription]:
        return await store.list_subscriptions()

    subs = with_store(settings, fetch)
    if not subs:
        _out.print("no subscriptions yet: add one with `paperdrop subscribe`")
        return
    table = Table(title="Subscriptions")
    table.add_column("chat", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("lang")
    table.add_column("profile / interests")
    table.add_column("options")
    table.add_column("active")
    for s in subs:
        reader = Path(s.profile_path).name if s.profile_path else "; ".join(s.interests) or "—"
        options = []
        if s.threads:
            options.append("threads")
        if s.webhook is not None:
            options.append(f"webhook {mask(s.webhook)}")
        if s.secret is not None:
            options.append(f"secret {mask(s.secret)}")
        active = "yes" if s.active else f"no: {s.inactive_reason or 'stopped'}"
        table.add_row(
            s.key, f"{s.time} {s.tz}", s.language, reader, ", ".join(options) or "—", active
        )
    _out.print(table)


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


def status(
    fmt: Annotated[
        StatusFormat, typer.Option("--format", help="A table, or JSON for programs.")
    ] = StatusFormat.table,
    _verbose: Verbose = False,
) -> None:
    """Today's push at a glance: each chat delivered, failed (why), due, scheduled or
    inactive, on its own local day."""
    import datetime as dt

    from bot.scheduler import push_status

    settings = load_settings()

    async def fetch(store: Store) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        rows = await push_status(store, dt.datetime.now(dt.UTC))
        if not settings.queue:
            return rows, None
        from bot.queue import JobQueue

        jobs = JobQueue.from_settings(settings)
        try:
            return rows, await jobs.depth()
        except Exception as exc:
            raise StoreError(f"the job queue cannot be read: {exc.__class__.__name__}") from None
        finally:
            await jobs.close()

    rows, depth = with_store(settings, fetch)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    # Without PAPERDROP_QUEUE one process delivers by itself: there is no queue.
    summary = {"chats": len(rows), **counts, "queue": depth}
    if fmt is StatusFormat.json:
        sys.stdout.write(json.dumps({"summary": summary, "chats": rows}, indent=2) + "\n")
        return
    if not rows:
        _out.print("no subscriptions yet: add one with `paperdrop subscribe`")
        return
    table = Table(title="Push status (each chat's local day)")
    for column in ("chat", "when", "day", "state", "reason"):
        table.add_column(column, no_wrap=column != "reason")
    for row in rows:
        table.add_row(row["chat"], row["when"], row["day"] or "—", row["state"], row["error"] or "")
    _out.print(table)
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    queue = (
        f"{depth['queued']} job(s) queued, {depth['running']} running"
        if depth is not None
        else "none (one process delivers)"
    )
    _out.print(f"{len(rows)} chat(s): {parts}; queue: {queue}")


def push_command(
    date: Annotated[
        str | None,
        typer.Option(
            "--date", help="Day of the brief.", metavar="YYYY-MM-DD", show_default="today, UTC"
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the messages each chat would get; send nothing."),
    ] = False,
    chat: Annotated[
        str | None,
        typer.Option("--chat", help="Only this chat (id or platform:id).", metavar="ID"),
    ] = None,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="With --dry-run: the offline sample brief (2026-05-08) instead of the day's; "
            "with no subscription yet, as each platform would show it.",
        ),
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Deliver a day's brief now to every active subscription (skips what already arrived)."""
    from bot.delivery import PushReport, push

    settings = load_settings()
    if sample and not dry_run:
        fail("--sample only previews: add --dry-run", USAGE)
    if sample and date is not None:
        fail("--sample is the fixed day 2026-05-08; drop --date", USAGE)
    from digest.pipeline import SAMPLE_DATE

    day = SAMPLE_DATE if sample else parse_day(date)

    with Progress() as progress:

        async def go(store: Store) -> PushReport | list[Preview] | None:
            active = [s for s in await store.list_subscriptions() if s.active]
            if not active and chat is None:
                return await platform_previews(settings, store, progress) if sample else None
            stop = asyncio.Event()
            _stop_on_signals(stop, "the push")
            builder = sample_builder(progress) if sample else None
            return await push(
                settings, store, day, chat=chat, dry_run=dry_run, stop=stop, builder=builder
            )

        report = with_store(settings, go)
    if report is None:
        _out.print(
            "no active subscription: add one with `paperdrop subscribe` "
            "(`paperdrop push --dry-run --sample` shows what a chat would get)"
        )
        return
    if isinstance(report, list):
        print_previews(report)
        _out.print(
            f"dry run, sample of {day}: no subscription yet, so this is the brief as each "
            "platform would show it; nothing was sent. Subscribe a chat with "
            "`paperdrop subscribe`."
        )
        return
    if report.dry_run:
        print_previews(_outcome_previews(report))
        _credential_warnings(report, settings)
    _print_report(report, sample=sample)
    if report.failed:
        raise typer.Exit(FAILED)


# --- what a dry run shows -----------------------------------------------------------------

# Who would get these messages (subscription keys, or a platform's name), and the messages.
Preview = tuple[list[str], list[OutMessage]]


def sample_builder(progress: Progress) -> Any:
    """A BriefBuilder that makes the offline sample for each reader profile."""
    from digest.pipeline import SAMPLE_DATE, build_brief

    async def build(
        settings: Any, profile: Any, day: Any, *, store: Store, readers: Any = ()
    ) -> Brief:
        return await build_brief(
            settings,
            profile,
            SAMPLE_DATE,
            store=store,
            readers=[],
            include_seen=True,
            sample=True,
            progress=progress,
        )

    return build


async def platform_previews(settings: Any, store: Store, progress: Progress) -> list[Preview]:
    """With no subscription yet: the sample brief as each platform would show it, for the
    default reader (PAPERDROP_PROFILE_PATH or the example profile, PAPERDROP_LANGUAGE)."""
    from digest.profile import example_profile

    language = settings.language if settings.language in ("zh", "en") else None
    try:
        if settings.profile_path is not None:
            reader = load_profile(settings.profile_path, language)
        else:
            reader = example_profile(language)
    except ProfileError as exc:
        raise ConfigError(str(exc)) from None
    brief = await sample_builder(progress)(settings, reader, None, store=store)
    previews: list[Preview] = []
    for name, target in PLATFORMS.items():
        # A stand-in chat: Feishu as a custom bot (webhook), the setup that needs no app.
        sub = Subscription(
            platform=name,
            chat_id="preview",
            language=brief.language,
            webhook=SecretStr("https://preview.invalid/") if name == "feishu" else None,
        )
        previews.append(([target.title], target.render(brief, sub)))
    return previews


def _credential_warnings(report: Any, settings: Any) -> None:
    """A dry run to a platform without credentials: the real push would fail there."""
    chats: dict[str, list[str]] = {}
    for outcome in report.outcomes:
        if outcome.error is None and outcome.sub.webhook is None:
            chats.setdefault(outcome.sub.platform, []).append(outcome.sub.key)
    for name, keys in chats.items():
        target = adapter(name)
        if not target.configured(settings):
            warn(
                f"{missing_credentials(target, settings)}: a real push to "
                f"{', '.join(keys)} would fail"
            )


def _outcome_previews(report: Any) -> list[Preview]:
    """The dry run's messages, once per distinct content (chats that share a brief and a
    platform get the same messages)."""
    seen: dict[tuple[str, tuple[str, ...]], Preview] = {}
    for outcome in report.outcomes:
        if not outcome.preview:
            continue
        key = (outcome.sub.platform, tuple(m.text for m in outcome.preview))
        if key in seen:
            seen[key][0].append(outcome.sub.key)
        else:
            seen[key] = ([outcome.sub.key], list(outcome.preview))
    return list(seen.values())


def print_previews(previews: list[Preview]) -> None:
    for who, messages in previews:
        _out.rule(Text(f"{', '.join(who)} · {len(messages)} message(s)"), align="left")
        for msg in messages:
            where = " · in the thread" if msg.in_thread else ""
            _out.print(
                Text(
                    f"── {msg.part + 1}/{len(messages)}{where} · {len(msg.text):,} characters",
                    style="dim",
                )
            )
            _out.print(Text(msg.text))
        _out.print()


def _print_report(report: Any, *, sample: bool) -> None:
    from bot.delivery import report_rows

    title = f"push {report.day}" + (" (dry run)" if report.dry_run else "")
    if sample:
        title += ", offline sample"
    table = Table(title=title)
    for column in ("chat", "parts", "sent", "already there", "status", "error"):
        table.add_column(column)
    for row in report_rows(report):
        table.add_row(
            row["chat"],
            str(row["parts"]),
            str(row["sent"]),
            str(row["skipped"]),
            row["status"],
            clean_message(row["error"]) if row["error"] else "",
        )
    _out.print(table)
    _out.print(report.summary())


def warn(message: str) -> None:
    err_console.print(Text.assemble(("warning:", "yellow"), " ", clean_message(message)))


def missing_credentials(target: PlatformAdapter, settings: Any) -> str:
    """What the platform needs, in its adapter's words (e.g. "Telegram needs
    PAPERDROP_TELEGRAM_TOKEN")."""
    try:
        sender = target.make_sender(settings, limiter=None, sleep=asyncio.sleep)
    except ConfigError as exc:
        return str(exc)
    with contextlib.suppress(Exception):
        asyncio.run(sender.aclose())
    return f"{target.title} credentials are not set"


# Signals this close together are one request to stop: Ctrl-C under `uv run` reaches the
# process twice (from the terminal and forwarded by uv), and supervisors signal the whole
# process group (the process and its `uv run` parent, which forwards it).
SAME_SIGNAL = 1.0  # seconds


def _stop_on_signals(stop: asyncio.Event, what: str) -> None:
    """First SIGINT/SIGTERM: set `stop` (finish the part being sent, then exit); more
    within `SAME_SIGNAL` seconds count as the same one. A later one: stop waiting (the
    running task is cancelled)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    first: list[float] = []

    def handle() -> None:
        now = time.monotonic()
        if not stop.is_set():
            first.append(now)
            err_console.print(f"[yellow]stopping {what}…[/] (again to abandon at once)")
            stop.set()
        elif first and now - first[0] < SAME_SIGNAL:
            return  # the same stop, delivered twice
        elif main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on every platform; Ctrl-C still ends asyncio.run there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handle)


def serve(
    interval: Annotated[
        float,
        typer.Option(
            "--interval", help="Seconds between scheduler checks.", min=1.0, metavar="SECONDS"
        ),
    ] = 60.0,
    once: Annotated[
        bool, typer.Option("--once", help="Run the scheduler once and exit (for cron).")
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Run the bot: answer every platform whose credentials are set, and deliver each chat's
    brief at its local time (one replica schedules)."""
    from bot.scheduler import Scheduler
    from bot.serve import Service, run_service

    settings = load_settings()

    async def go(store: Store) -> None:
        if once:
            scheduler = Scheduler(settings, store, interval=interval)
            tick = await scheduler.run_once()
            await store.release_lock("scheduler", scheduler.owner)
            state = "leader" if tick.leader else "another replica leads"
            _out.print(f"{state}: {len(tick.due)} chat(s) due")
            for error in tick.errors:
                warn(error)
            return
        stop = asyncio.Event()
        _stop_on_signals(stop, "paperdrop serve")

        def started(service: Service) -> None:
            where = f"{service.address[0]}:{service.address[1]}" if service.address else "-"
            talking = ", ".join(service.connected) or "no platform"
            if not service.platforms:
                talking += " (set a bot token)"
            err_console.print(
                f"[dim]serving on {where} (GET /healthz, /readyz); answering: {talking}; "
                f"scheduler checks every {interval:g}s[/]",
                markup=True,
            )
            for name, link in service.booting.items():
                if name not in service.started and name not in service.refused:
                    warn(
                        f"{name}: not connected yet ({link.reason}): trying again in the background"
                    )
            for error in service.errors:
                warn(error)

        try:
            await run_service(settings, store, interval=interval, stop=stop, on_started=started)
        except asyncio.CancelledError:
            err_console.print("abandoned")

    with_store(settings, go, wait_for_store=not once)


def worker(_verbose: Verbose = False) -> None:
    """Run queue jobs (the morning fan-out, LLM-heavy answers) for a fleet of `serve`
    replicas with PAPERDROP_QUEUE=true; needs PAPERDROP_REDIS_URL. Run as many as you like."""
    from bot.worker import start_worker, stop_worker

    settings = load_settings()
    if not settings.redis_url:
        fail("paperdrop worker needs Redis: set PAPERDROP_REDIS_URL", USAGE)

    async def go(store: Store) -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop, "paperdrop worker")
        running = await start_worker(settings, store)
        where = f"{running.address[0]}:{running.address[1]}" if running.address else "-"
        sending = ", ".join(running.platforms) or "no platform (set a bot token)"
        err_console.print(
            f"[dim]worker on {where} (GET /healthz); {settings.worker_jobs} job(s) at once; "
            f"sending to: {sending}[/]"
        )
        for error in running.errors:
            warn(error)
        try:
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, running.task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        finally:
            await stop_worker(running, grace=settings.shutdown_grace)
        if running.task.done() and not stop.is_set():
            fail("the job loop ended unexpectedly (see the log)", FAILED)

    with_store(settings, go, wait_for_store=True)


def render(
    platform: Annotated[
        PlatformOpt,
        typer.Option("--platform", help="Render for this platform.", metavar=PLATFORM_METAVAR),
    ],
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Brief JSON, as `paperdrop brief --format json` prints it.",
            dir_okay=False,
            metavar="FILE",
            show_default="stdin",
        ),
    ] = None,
    threads: Annotated[bool, typer.Option("--threads", help="Slack: thread the parts.")] = False,
    mode: Annotated[
        ModeOpt,
        typer.Option("--mode", help="Feishu: webhook or app payloads.", metavar="webhook|app"),
    ] = ModeOpt.webhook,
    _verbose: Verbose = False,
) -> None:
    """Print the messages a brief becomes on a platform, as a JSON array of payloads."""
    try:
        raw = input_path.read_text(encoding="utf-8") if input_path else sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {input_path or 'stdin'}: {unreadable(exc)}", USAGE)
    if not raw.strip():
        fail(
            "no brief JSON given (use --input FILE or pipe `paperdrop brief --format json`)", USAGE
        )
    try:
        brief = Brief.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "brief"
        fail(f"not a brief: {where}: {first['msg']}", USAGE)
    # A stand-in subscription carries the options the payloads depend on.
    sub = Subscription(
        platform=platform.value,
        chat_id="render",
        threads=threads,
        webhook=SecretStr("https://render.invalid/") if mode is ModeOpt.webhook else None,
    )
    try:
        messages = adapter(platform.value).render(brief, sub)
    except PaperdropError as exc:
        fail(str(exc))
    payloads = [m.payload for m in messages]
    sys.stdout.write(json.dumps(payloads, ensure_ascii=False, indent=2) + "\n")


def unreadable(exc: OSError | UnicodeDecodeError) -> str:
    """Why a file could not be read, as a reader says it (not the exception's class)."""
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, FileNotFoundError):
        return "there is no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or exc.__class__.__name__).lower()


def register(app: typer.Typer) -> None:
    """Add the delivery commands to the main `paperdrop` app."""
    for name, command in (
        ("subscribe", subscribe),
        ("unsubscribe", unsubscribe),
        ("subscriptions", subscriptions),
        ("push", push_command),
        ("status", status),
        ("serve", serve),
        ("worker", worker),
        ("render", render),
    ):
        app.command(name, cls=Command, context_settings=CONTEXT)(command)
