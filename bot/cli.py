"""The `paperdrop` command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from digest.errors import PaperdropError, ProfileError
from digest.models import Language
from digest.profile import Profile, example_profile, load_profile
from digest.settings import Settings

__all__ = ["app", "err_console", "fail", "load_settings", "run"]

app = typer.Typer(
    name="paperdrop",
    help="A personalised AI-research brief every morning, on Telegram, Slack and Feishu.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True, highlight=False)
T = TypeVar("T")


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(
        f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True
    )
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]).upper()
        # The input value is never echoed: it may be a secret.
        fail(f"bad setting PAPERDROP_{field}: {first['msg']}", 2)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def parse_day(value: str | None) -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    if value is None:
        return today
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        fail(f"invalid date {value!r}: use YYYY-MM-DD", 2)
    if day > today + dt.timedelta(days=1):
        fail(f"date {day} is in the future", 2)
    return day


def resolve_profile(
    settings: Settings, path: Path | None, lang: Lang | None, *, quiet: bool = False
) -> Profile:
    language: Language | None = lang.value if lang else None  # type: ignore[assignment]
    chosen = path or settings.profile_path
    try:
        if chosen is not None:
            return load_profile(chosen, language)
        if not quiet:
            err_console.print("[dim]no --profile given: using the example profile[/]")
        return example_profile(language or settings.language)  # type: ignore[arg-type]
    except ProfileError as exc:
        fail(str(exc), 2)


def _progress(message: str) -> None:
    err_console.print(f"[dim]· {message}[/]")


@app.command()
def brief(
    date: Annotated[
        str | None, typer.Option("--date", help="Day of the brief, YYYY-MM-DD.")
    ] = None,
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Reader profile (TOML).", dir_okay=False)
    ] = None,
    lang: Annotated[Lang | None, typer.Option("--lang", help="Language of the brief.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.markdown,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Extractive brief, no LLM.")] = False,
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="Also pick papers shown before.")
    ] = False,
    no_mark_seen: Annotated[
        bool, typer.Option("--no-mark-seen", help="Do not remember these papers as shown.")
    ] = False,
    sample: Annotated[
        bool, typer.Option("--sample", help="Offline sample from data shipped in the package.")
    ] = False,
) -> None:
    """Print the morning brief for one reader (Markdown, or JSON = the Brief model)."""
    from bot.markdown import render_markdown
    from digest.pipeline import SAMPLE_DATE, build_brief, mark_seen
    from digest.store import open_store

    settings = load_settings()
    if sample and date is not None:
        fail("--sample is the fixed day 2026-05-08; drop --date", 2)
    day = SAMPLE_DATE if sample else parse_day(date)
    reader_profile = resolve_profile(settings, profile, lang, quiet=sample)
    reader = f"cli:{reader_profile.name}"
    # The sample neither reads nor writes the reader's history: it shows the same day each time.
    remember = not (no_mark_seen or sample)

    async def go() -> str:
        store = await open_store(settings)
        try:
            made = await build_brief(
                settings,
                reader_profile,
                day,
                store=store,
                readers=[] if sample else [reader],
                include_seen=include_seen or sample,
                use_llm=not no_llm,
                sample=sample,
                progress=_progress,
            )
            if remember:
                await mark_seen(store, reader, made, settings)
        finally:
            await store.close()
        if fmt is Format.json:
            return made.model_dump_json(indent=2)
        return render_markdown(made)

    try:
        out = run(go())
    except PaperdropError as exc:
        fail(str(exc), 1)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")


@app.command()
def paper(
    paper_id: Annotated[str, typer.Argument(help="arXiv id or URL, e.g. 2605.29559")],
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Reader profile (TOML).", dir_okay=False)
    ] = None,
    lang: Annotated[Lang | None, typer.Option("--lang", help="Language of the card.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.markdown,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Extractive card, no LLM.")] = False,
) -> None:
    """Print one paper's card: links, contribution, why it matters, relation to you."""
    from bot.markdown import render_markdown
    from digest.ids import parse_arxiv_id
    from digest.store import open_store
    from handlers.paper import paper_card

    settings = load_settings()
    try:
        bare = parse_arxiv_id(paper_id)
    except PaperdropError as exc:
        fail(str(exc), 2)
    reader_profile = resolve_profile(settings, profile, lang, quiet=True)

    async def go() -> str:
        store = await open_store(settings)
        try:
            card = await paper_card(
                bare, settings=settings, store=store, profile=reader_profile, use_llm=not no_llm
            )
        finally:
            await store.close()
        return card.model_dump_json(indent=2) if fmt is Format.json else render_markdown(card)

    try:
        out = run(go())
    except PaperdropError as exc:
        fail(str(exc), 1)
    sys.stdout.write(out)


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log details to stderr.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs full URLs at INFO, and Telegram's URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _register_delivery() -> None:
    from bot import cli_delivery

    cli_delivery.register(app)


_register_delivery()
