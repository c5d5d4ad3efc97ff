"""`paperdrop subscribe`, `unsubscribe` and `subscriptions`: who gets the brief, when, how.

A platform's own options (`--option NAME=VALUE`, or the flag its adapter declares for
one) are checked by its adapter; secret ones are never printed: the table masks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
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
from bot.core.platform import PlatformAdapter
from bot.platforms import PLATFORMS, adapter
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


def parse_interests(value: str) -> list[str]:
    items = [" ".join(p.split()) for p in value.split(";")]
    items = [p for p in items if p]
    if not items:
        fail('--interests needs at least one phrase, e.g. "LLM agents; code models"', USAGE)
    if len(items) > _MAX_INTERESTS or any(len(p) > 200 for p in items):
        fail(f"--interests: at most {_MAX_INTERESTS} phrases of 1-200 characters", USAGE)
    return list(dict.fromkeys(items))


def mask(secret: SecretStr | None) -> str:
    """What the table shows of a secret option: only that it is set."""
    return "•••• (set)" if secret is not None and secret.get_secret_value() else "—"


def _options_help() -> str:
    """The platforms' options, for `subscribe --help` (from the registry)."""
    lines = []
    for target in PLATFORMS.values():
        for o in target.options:
            flag = f"{o.flag} VALUE, or " if o.flag else ""
            lines.append(f"{target.title}: {flag}--option {o.name}=VALUE: {o.help}")
    return "\n\n".join(["Platform options:", *lines]) if lines else ""


# `subscribe` takes the flags its platforms declare (e.g. `--webhook URL`) besides its own:
# they reach it as extra arguments, read by `parse_options`.
SUBSCRIBE_SETTINGS = {
    "context_settings": {"ignore_unknown_options": True, "allow_extra_args": True},
    "epilog": _options_help(),
}


def _declared(flag: str) -> list[str]:
    """The platforms that declare `flag` for one of their options."""
    return [t.title for t in PLATFORMS.values() if any(o.flag == flag for o in t.options)]


def parse_options(target: PlatformAdapter, pairs: list[str], extra: list[str]) -> dict[str, str]:
    """The subscription's options: `--option NAME=VALUE` pairs and the platform's own flags
    among the extra arguments. A value is never echoed (it may be a secret)."""
    options: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail("--option takes NAME=VALUE", USAGE)
        options[name.strip()] = value.strip()
    flags = {o.flag: o.name for o in target.options if o.flag}
    rest = iter(extra)
    for arg in rest:
        flag, sep, value = arg.partition("=")
        if flag in flags:
            if not sep:
                value = next(rest, None) or fail(f"{flag} needs a value", USAGE)
            options[flags[flag]] = value.strip()
        elif flag.startswith("-") and _declared(flag):
            fail(f"{flag} is for {', '.join(_declared(flag))} only", USAGE)
        elif flag.startswith("-"):
            fail(f"no such option: {flag}", USAGE)
        else:
            fail("unexpected argument (a platform's options: --option NAME=VALUE)", USAGE)
    problem = target.check_options(options)
    if problem is not None:
        fail(problem, USAGE)
    return options


def show_options(target: PlatformAdapter | None, sub: Subscription) -> list[str]:
    """A subscription's options as the table shows them: secret ones masked (and any the
    platform does not declare, to be safe)."""
    declared = {o.name: o for o in target.options} if target is not None else {}
    shown = []
    for name, value in sub.options.items():
        option = declared.get(name)
        plain = option is not None and not option.secret
        shown.append(f"{name} {value.get_secret_value() if plain else mask(value)}")
    return shown


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
    ctx: typer.Context,
    platform: Annotated[
        PlatformOpt,
        typer.Option("--platform", help="Where to deliver.", metavar=PLATFORM_METAVAR),
    ],
    chat: Annotated[
        str,
        typer.Option(
            "--chat",
            help="The chat: "
            + "; ".join(f"{t.title}: {t.chat_id_help}" for t in PLATFORMS.values())
            + ".",
            metavar="ID",
        ),
    ],
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="A platform's option (repeatable); see the platform options below.",
            metavar="NAME=VALUE",
        ),
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
    options = parse_options(target, option or [], ctx.args)
    profile_path, language = _reader(profile, lang, settings)
    sub = Subscription(
        platform=platform.value,
        chat_id=chat,
        options={name: SecretStr(value) for name, value in options.items()},
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
    """List the subscriptions (secret options, such as webhook URLs, are masked)."""
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
        options.extend(show_options(PLATFORMS.get(s.platform), s))
        active = "yes" if s.active else f"no: {s.inactive_reason or 'stopped'}"
        table.add_row(
            s.key, f"{s.time} {s.tz}", s.language, reader, ", ".join(options) or "—", active
        )
    out.print(table)
