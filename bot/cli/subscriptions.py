"""`paperdrop subscribe`, `unsubscribe` and `subscriptions`: who gets the brief, when, how.

Webhook URLs and secrets are never printed: the table masks them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import SecretStr
from rich.table import Table

from bot.cli.common import (
    USAGE,
    Lang,
    Verbose,
    fail,
    load_settings,
    with_store,
)
from bot.cli.shared import PLATFORM_METAVAR, PlatformOpt, missing_credentials, out, warn
from bot.platforms import adapter
from bot.runtime.scheduler import parse_hhmm
from digest.errors import ProfileError
from digest.models import Language, Subscription
from digest.profile import load_profile
from digest.settings import Settings
from digest.store.base import Store

_MAX_INTERESTS = 50


def check_time(value: str) -> str:
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


def _reader(
    profile: Path | None, lang: Lang | None, settings: Settings
) -> tuple[str | None, Language]:
    """The subscription's profile file (checked, absolute) and language: --lang, else the
    profile's, else the configured one, else English."""
    language: Language = lang.value if lang is not None else "en"
    if profile is None:
        if lang is None and settings.language in ("zh", "en"):
            language = settings.language  # type: ignore[assignment]
        return None, language
    try:
        loaded = load_profile(profile)
    except ProfileError as exc:
        fail(str(exc), USAGE)
    return str(profile.expanduser().resolve()), language if lang is not None else loaded.language


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
    profile_path, language = _reader(profile, lang, settings)
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
    if not target.can_deliver(sub, settings):
        warn(
            f"{missing_credentials(target, settings)}: nothing can be delivered to "
            f"{sub.key} until it is set (`paperdrop push --dry-run --sample` shows what "
            "it would get)"
        )

    async def save(store: Store) -> None:
        await store.save_subscription(sub)

    with_store(settings, save)
    out.print(f"subscribed {sub.key}: {hhmm} {zone}, {language}")


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
    out.print(f"unsubscribed {platform.value}:{chat.strip()}")


def subscriptions(_verbose: Verbose = False) -> None:
    """List the subscriptions (webhook URLs and secrets are masked)."""
    settings = load_settings()

    async def fetch(store: Store) -> list[Subscription]:
        return await store.list_subscriptions()

    subs = with_store(settings, fetch)
    if not subs:
        out.print("no subscriptions yet: add one with `paperdrop subscribe`")
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
    out.print(table)
