"""`paperdrop push`, `status` and `render`: deliver a day's brief now, say where each chat
stands, render a document for a platform."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Collection, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from bot.cli.common import (
    FAILED,
    USAGE,
    Progress,
    Verbose,
    clean_message,
    fail,
    load_settings,
    parse_day,
    with_store,
)
from bot.cli.shared import (
    MODE_HELP,
    PLATFORM_METAVAR,
    PlatformOpt,
    missing_credentials,
    out,
    stop_on_signals,
    warn,
)
from bot.core.messages import OutMessage
from bot.delivery.build import BriefBuilder
from bot.delivery.push import push
from bot.delivery.report import PushReport, report_rows
from bot.platforms import PLATFORMS, adapter
from bot.runtime.queue import JobQueue
from bot.runtime.scheduler import push_status
from digest.errors import ConfigError, PaperdropError, ProfileError, StoreError
from digest.models import Brief, Language, Subscription
from digest.pipeline import build_brief
from digest.profile import Profile, example_profile, load_profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.base import Store


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

    settings = load_settings()

    async def fetch(store: Store) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        rows = await push_status(store, dt.datetime.now(dt.UTC))
        if not settings.queue:
            return rows, None

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
        out.print("no subscriptions yet: add one with `paperdrop subscribe`")
        return
    table = Table(title="Push status (each chat's local day)")
    for column in ("chat", "when", "day", "state", "reason"):
        table.add_column(column, no_wrap=column != "reason")
    for row in rows:
        table.add_row(row["chat"], row["when"], row["day"] or "—", row["state"], row["error"] or "")
    out.print(table)
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    queue = (
        f"{depth['queued']} job(s) queued, {depth['running']} running"
        if depth is not None
        else "none (one process delivers)"
    )
    out.print(f"{len(rows)} chat(s): {parts}; queue: {queue}")


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

    settings = load_settings()
    if sample and not dry_run:
        fail("--sample only previews: add --dry-run", USAGE)
    if sample and date is not None:
        fail("--sample is the fixed day 2026-05-08; drop --date", USAGE)

    day = SAMPLE_DATE if sample else parse_day(date)

    with Progress() as progress:

        async def go(store: Store) -> PushReport | list[Preview] | None:
            active = [s for s in await store.list_subscriptions() if s.active]
            if not active and chat is None:
                return await platform_previews(settings, store, progress) if sample else None
            stop = asyncio.Event()
            stop_on_signals(stop, "the push")
            builder = sample_builder(progress) if sample else build_brief
            return await push(
                settings, store, day, chat=chat, dry_run=dry_run, stop=stop, builder=builder
            )

        report = with_store(settings, go)
    if report is None:
        out.print(
            "no active subscription: add one with `paperdrop subscribe` "
            "(`paperdrop push --dry-run --sample` shows what a chat would get)"
        )
        return
    if isinstance(report, list):
        print_previews(report)
        out.print(
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


# Who would get these messages (subscription keys, or a platform's name), and the messages.
Preview = tuple[list[str], list[OutMessage]]


def sample_builder(progress: Progress) -> BriefBuilder:
    """A BriefBuilder that makes the offline sample for each reader profile."""

    async def build(
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = (),
        languages: Collection[Language] | None = None,
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

    language = settings.language if settings.language in ("zh", "en") else None
    try:
        if settings.profile_path is not None:
            reader = load_profile(settings.profile_path, language)
        else:
            reader = example_profile(language)
    except ProfileError as exc:
        raise ConfigError(str(exc)) from None
    brief = await sample_builder(progress)(settings, reader, SAMPLE_DATE, store=store)
    previews: list[Preview] = []
    for name, target in PLATFORMS.items():
        # A stand-in chat, in the setup its adapter previews (the one that needs least).
        sub = target.preview_subscription(
            Subscription(platform=name, chat_id="preview", language=brief.language), None
        )
        previews.append(([target.title], target.render(brief, sub)))
    return previews


def _credential_warnings(report: Any, settings: Any) -> None:
    """A dry run to a chat its platform cannot deliver to (no credentials): the real push
    would fail there."""
    chats: dict[str, list[str]] = {}
    for outcome in report.outcomes:
        target = adapter(outcome.sub.platform)
        if outcome.error is None and not target.can_deliver(outcome.sub, settings):
            chats.setdefault(outcome.sub.platform, []).append(outcome.sub.key)
    for name, keys in chats.items():
        target = adapter(name)
        warn(
            f"{missing_credentials(target, settings)}: a real push to {', '.join(keys)} would fail"
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
        out.rule(Text(f"{', '.join(who)} · {len(messages)} message(s)"), align="left")
        for msg in messages:
            where = " · in the thread" if msg.in_thread else ""
            out.print(
                Text(
                    f"── {msg.part + 1}/{len(messages)}{where} · {len(msg.text):,} characters",
                    style="dim",
                )
            )
            out.print(Text(msg.text))
        out.print()


def _print_report(report: Any, *, sample: bool) -> None:
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
    out.print(table)
    out.print(report.summary())


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
    threads: Annotated[
        bool, typer.Option("--threads", help="Thread the parts (where the platform does).")
    ] = False,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help=MODE_HELP, metavar="MODE", show_default="the first"),
    ] = None,
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
    target = adapter(platform.value)
    if mode is not None and mode not in target.preview_variants:
        modes = "|".join(target.preview_variants) or "none"
        fail(f"--mode {mode!r}: {target.title} renders as {modes}", USAGE)
    # A stand-in subscription carries the options the payloads depend on.
    sub = target.preview_subscription(
        Subscription(platform=platform.value, chat_id="render", threads=threads), mode
    )
    try:
        messages = target.render(brief, sub)
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
