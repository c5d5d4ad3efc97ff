"""Delivery commands of the `paperdrop` CLI: subscribe, unsubscribe, subscriptions, push,
serve, render. `register(app)` adds them to the main typer app.

Errors are one line on stderr; usage errors (bad options, bad input) exit with 2, a
failed run with 1. Webhook URLs and secrets are never printed: the table masks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.table import Table

from digest.errors import PaperdropError, ProfileError
from digest.models import Brief, Language, Subscription
from digest.profile import load_profile
from digest.settings import Settings
from digest.store.base import Store

__all__ = ["register"]

T = TypeVar("T")
USAGE = 2  # exit code of usage errors (click's own convention)
FAILED = 1

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)

# Chat ids as each platform writes them.
_CHAT_ID = {
    "telegram": re.compile(r"^(-?\d{1,20}|@[A-Za-z0-9_]{4,64})$"),
    "slack": re.compile(r"^[A-Z0-9]{1,32}$"),
    "feishu": re.compile(r"^[A-Za-z0-9_\-]{1,100}$"),
}
_MAX_INTERESTS = 50


class PlatformOpt(StrEnum):
    telegram = "telegram"
    slack = "slack"
    feishu = "feishu"


class LangOpt(StrEnum):
    zh = "zh"
    en = "en"


class ModeOpt(StrEnum):
    webhook = "webhook"
    app = "app"


def _fail(message: str, code: int = FAILED) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]  # (no pydantic mypy plugin)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]).upper()
        # The value is never echoed: it may be a secret.
        _fail(f"bad setting PAPERDROP_{field}: {first['msg']}", USAGE)


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the Store, run `work`, close it; PaperdropError -> one line, exit 1."""
    from digest.store import open_store

    async def go() -> T:
        store = await open_store(settings)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except PaperdropError as exc:
        _fail(str(exc))


# --- validation ---------------------------------------------------------------------------


def check_time(value: str) -> str:
    from bot.scheduler import parse_hhmm

    try:
        return parse_hhmm(value).strftime("%H:%M")
    except ValueError as exc:
        _fail(str(exc), USAGE)


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin", USAGE)
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
    _fail("--webhook must be an https:// URL (plain http only to 127.0.0.1)", USAGE)


def parse_interests(value: str) -> list[str]:
    items = [" ".join(p.split()) for p in value.split(";")]
    items = [p for p in items if p]
    if not items:
        _fail('--interests needs at least one phrase, e.g. "LLM agents; code models"', USAGE)
    if len(items) > _MAX_INTERESTS or any(len(p) > 200 for p in items):
        _fail(f"--interests: at most {_MAX_INTERESTS} phrases of 1-200 characters", USAGE)
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
    lang: Annotated[LangOpt | None, typer.Option("--lang", help="Language of the brief.")] = None,
    threads: Annotated[
        bool,
        typer.Option("--threads/--no-threads", help="Slack: parts after the first in a thread."),
    ] = False,
) -> None:
    """Subscribe a chat to the morning brief (re-subscribing replaces and reactivates)."""
    settings = _settings()
    chat = chat.strip()
    if not _CHAT_ID[platform.value].match(chat):
        _fail(f"--chat {chat!r} is not a {platform.value} chat id", USAGE)
    hhmm = check_time(time)
    zone = check_zone(tz)
    if profile is not None and interests is not None:
        _fail("use --profile or --interests, not both", USAGE)
    if webhook is not None and platform is not PlatformOpt.feishu:
        _fail("--webhook is for Feishu custom bots only", USAGE)
    if secret is not None and webhook is None:
        _fail("--secret signs a Feishu webhook: give --webhook too", USAGE)
    if webhook is not None:
        check_webhook(webhook)
    if (
        platform is PlatformOpt.feishu
        and webhook is None
        and not (settings.feishu_app_id and settings.feishu_app_secret)
    ):
        _fail(
            "Feishu needs --webhook URL, or app credentials "
            "(PAPERDROP_FEISHU_APP_ID and PAPERDROP_FEISHU_APP_SECRET)",
            USAGE,
        )
    language: Language = lang.value if lang is not None else "en"
    profile_path: str | None = None
    if profile is not None:
        try:
            loaded = load_profile(profile)
        except ProfileError as exc:
            _fail(str(exc), USAGE)
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

    async def save(store: Store) -> None:
        await store.save_subscription(sub)

    _with_store(settings, save)
    _out.print(f"subscribed {sub.key}: {hhmm} {zone}, {language}")


def unsubscribe(
    platform: Annotated[PlatformOpt, typer.Option("--platform", help="Platform of the chat.")],
    chat: Annotated[str, typer.Option("--chat", help="Chat id as subscribed.")],
) -> None:
    """Stop delivering to a chat."""
    settings = _settings()

    async def delete(store: Store) -> bool:
        return await store.delete_subscription(platform.value, chat.strip())

    if not _with_store(settings, delete):
        _fail(f"no subscription for {platform.value}:{chat.strip()}")
    _out.print(f"unsubscribed {platform.value}:{chat.strip()}")


def subscriptions() -> None:
    """List the subscriptions (webhook URLs and secrets are masked)."""
    settings = _settings()

    async def fetch(store: Store) -> list[Subscription]:
        return await store.list_subscriptions()

    subs = _with_store(settings, fetch)
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


def _parse_day(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"invalid date {value!r}: use YYYY-MM-DD", USAGE)


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

    settings = _settings()
    day = _parse_day(date)

    async def go(store: Store) -> Any:
        return await push(settings, store, day, chat=chat, dry_run=dry_run)

    report = _with_store(settings, go)
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


def serve(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between checks.", min=1.0)
    ] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="Check once and exit (for cron).")] = False,
) -> None:
    """Run the scheduler: deliver each chat's brief at its local time (one replica leads)."""
    from bot.scheduler import Scheduler

    settings = _settings()

    async def go(store: Store) -> None:
        scheduler = Scheduler(settings, store, interval=interval)
        if once:
            tick = await scheduler.run_once()
            await store.release_lock("scheduler", scheduler.owner)
            state = "leader" if tick.leader else "another replica leads"
            _out.print(f"{state}: {len(tick.due)} chat(s) due")
            for error in tick.errors:
                _err.print(f"warning: {error}")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Not available on every platform; Ctrl-C still ends asyncio.run there.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        _err.print(f"[dim]scheduler {scheduler.owner}: checking every {interval:g}s[/]")
        await scheduler.serve(stop=stop)

    _with_store(settings, go)


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
        _fail(f"cannot read {input_path}: {exc.__class__.__name__}", USAGE)
    if not raw.strip():
        _fail(
            "no brief JSON given (use --input FILE or pipe `paperdrop brief --format json`)", USAGE
        )
    try:
        brief = Brief.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "brief"
        _fail(f"not a brief: {where}: {first['msg']}", USAGE)
    try:
        if platform is PlatformOpt.telegram:
            from bot.telegram import render_telegram

            messages = render_telegram(brief)
        elif platform is PlatformOpt.slack:
            from bot.slack import render_slack

            messages = render_slack(brief, threads=threads)
        else:
            from bot.feishu import render_feishu

            messages = render_feishu(brief, mode=mode.value)
    except PaperdropError as exc:
        _fail(str(exc))
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
