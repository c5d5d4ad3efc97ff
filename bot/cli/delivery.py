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
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.table import Table

from bot.cli.common import (
    FAILED,
    USAGE,
    Lang,
    err_console,
    fail,
    load_settings,
    parse_day,
    with_store,
)
from bot.platforms import PLATFORMS, adapter
from digest.errors import PaperdropError, ProfileError
from digest.models import Brief, Language, Subscription
from digest.profile import load_profile
from digest.store.base import Store

__all__ = ["register"]

_out = Console(highlight=False, soft_wrap=True)

_MAX_INTERESTS = 50


# The registry's platforms, as a CLI choice.
PlatformOpt = StrEnum("PlatformOpt", {name: name for name in PLATFORMS})  # type: ignore[misc]


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
    platform: Annotated[PlatformOpt, typer.Option("--platform", help="Where to deliver.")],
    chat: Annotated[
        str,
        typer.Option(
            "--chat",
            help="Telegram chat id, Slack channel id, Feishu chat_id (app) or a name (webhook).",
        ),
    ],
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="Feishu custom-bot webhook URL.")
    ] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="Feishu webhook signing secret.")
    ] = None,
    time: Annotated[str, typer.Option("--time", help="Local delivery time, HH:MM.")] = "08:00",
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. Asia/Shanghai.")] = "UTC",
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Reader profile (TOML).", dir_okay=False)
    ] = None,
    interests: Annotated[
        str | None, typer.Option("--interests", help='Inline interests, "a; b".')
    ] = None,
    lang: Annotated[Lang | None, typer.Option("--lang", help="Language of the brief.")] = None,
    threads: Annotated[
        bool,
        typer.Option(
            "--threads/--no-threads",
            help="Each top pick its own message in the brief's thread, with 👍/👎.",
        ),
    ] = False,
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
        err_console.print(
            f"[yellow]warning:[/] {target.title} credentials are not set: "
            "nothing can be delivered to this chat until they are",
            markup=True,
        )

    async def save(store: Store) -> None:
        await store.save_subscription(sub)

    with_store(settings, save)
    _out.print(f"subscribed {sub.key}: {hhmm} {zone}, {language}")


def unsubscribe(
    platform: Annotated[PlatformOpt, typer.Option("--platform", help="Platform of the chat.")],
    chat: Annotated[str, typer.Option("--chat", help="Chat id as subscribed.")],
) -> None:
    """Stop delivering to a chat."""
    settings = load_settings()

    async def delete(store: Store) -> bool:
        return await store.delete_subscription(adapter(platform.value).name, chat.strip())

    if not with_store(settings, delete):
        fail(f"no subscription for {platform.value}:{chat.strip()}")
    _out.print(f"unsubscribed {platform.value}:{chat.strip()}")


def subscriptions() -> None:
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


def push_command(
    date: Annotated[
        str | None,
        typer.Option("--date", help="Day of the brief, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render and report, send nothing.")
    ] = False,
    chat: Annotated[
        str | None, typer.Option("--chat", help="Only this chat (id or platform:id).")
    ] = None,
) -> None:
    """Deliver a day's brief now to every active subscription (skips what already arrived)."""
    from bot.delivery import push, report_rows

    settings = load_settings()
    day = parse_day(date)

    async def go(store: Store) -> Any:
        stop = asyncio.Event()
        _stop_on_signals(stop, "the push")
        return await push(settings, store, day, chat=chat, dry_run=dry_run, stop=stop)

    report = with_store(settings, go)
    table = Table(title=f"push {day}" + (" (dry run)" if dry_run else ""))
    for column in ("chat", "parts", "sent", "already there", "status", "error"):
        table.add_column(column)
    for row in report_rows(report):
        table.add_row(
            row["chat"],
            str(row["parts"]),
            str(row["sent"]),
            str(row["skipped"]),
            row["status"],
            row["error"] or "",
        )
    _out.print(table)
    _out.print(report.summary())
    if report.failed:
        raise typer.Exit(FAILED)


def _stop_on_signals(stop: asyncio.Event, what: str) -> None:
    """First SIGINT/SIGTERM: set `stop` (finish the part being sent, then exit). A second
    one: stop waiting (the running task is cancelled)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def handle() -> None:
        if not stop.is_set():
            err_console.print(f"[yellow]stopping {what}…[/] (again to abandon at once)")
            stop.set()
        elif main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on every platform; Ctrl-C still ends asyncio.run there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handle)


def serve(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between scheduler checks.", min=1.0)
    ] = 60.0,
    once: Annotated[
        bool, typer.Option("--once", help="Run the scheduler once and exit (for cron).")
    ] = False,
) -> None:
    """Run the bot: answer every platform whose credentials are set, and deliver each
    chat's brief at its local time (one replica schedules)."""
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
                err_console.print(f"warning: {error}")
            return
        stop = asyncio.Event()
        _stop_on_signals(stop, "paperdrop serve")

        def started(service: Service) -> None:
            where = f"{service.address[0]}:{service.address[1]}" if service.address else "-"
            talking = ", ".join(service.platforms) or "no platform (set a bot token)"
            err_console.print(
                f"[dim]serving on {where} (GET /healthz); answering: {talking}; "
                f"scheduler checks every {interval:g}s[/]"
            )
            for error in service.errors:
                err_console.print(f"[yellow]warning:[/] {error}", markup=True)

        try:
            await run_service(settings, store, interval=interval, stop=stop, on_started=started)
        except asyncio.CancelledError:
            err_console.print("abandoned")

    with_store(settings, go)


def render(
    platform: Annotated[PlatformOpt, typer.Option("--platform", help="Render for this platform.")],
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Brief JSON (default: stdin).", dir_okay=False)
    ] = None,
    threads: Annotated[bool, typer.Option("--threads", help="Slack: thread the parts.")] = False,
    mode: Annotated[
        ModeOpt, typer.Option("--mode", help="Feishu: webhook or app payloads.")
    ] = ModeOpt.webhook,
) -> None:
    """Print the messages a brief becomes on a platform, as a JSON array of payloads."""
    try:
        raw = input_path.read_text(encoding="utf-8") if input_path else sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {input_path}: {exc.__class__.__name__}", USAGE)
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


def register(app: typer.Typer) -> None:
    """Add the delivery commands to the main `paperdrop` app."""
    app.command("subscribe")(subscribe)
    app.command("unsubscribe")(unsubscribe)
    app.command("subscriptions")(subscriptions)
    app.command("push")(push_command)
    app.command("serve")(serve)
    app.command("render")(render)
