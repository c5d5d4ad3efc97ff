"""The `paperdrop` command line: `brief` and `paper` here, delivery in `bot.cli.delivery`."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import USAGE, Lang, err_console, fail, load_settings, parse_day, with_store
from digest.errors import PaperdropError, ProfileError
from digest.profile import Profile, example_profile, load_profile
from digest.settings import Settings
from digest.store.base import Store

__all__ = ["app"]

app = typer.Typer(
    name="paperdrop",
    help="A personalised AI-research brief every morning, on Telegram, Slack and Feishu.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


def resolve_profile(
    settings: Settings, path: Path | None, lang: Lang | None, *, quiet: bool = False
) -> Profile:
    language = lang.value if lang else settings.language
    if language not in (None, "zh", "en"):
        fail(f"bad setting PAPERDROP_LANGUAGE: {language!r} (use zh or en)", USAGE)
    chosen = path or settings.profile_path
    try:
        if chosen is not None:
            return load_profile(chosen, language)  # type: ignore[arg-type]
        if not quiet:
            err_console.print("[dim]no --profile given: using the example profile[/]")
        return example_profile(language)  # type: ignore[arg-type]
    except ProfileError as exc:
        fail(str(exc), USAGE)


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

    settings = load_settings()
    if sample and date is not None:
        fail("--sample is the fixed day 2026-05-08; drop --date", USAGE)
    day = SAMPLE_DATE if sample else parse_day(date)
    reader_profile = resolve_profile(settings, profile, lang, quiet=sample)
    reader = f"cli:{reader_profile.name}"
    # The sample neither reads nor writes the reader's history: it shows the same day each time.
    remember = not (no_mark_seen or sample)

    async def go(store: Store) -> str:
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
            from digest.chatstate import record_brief

            await mark_seen(store, reader, made, settings)
            await record_brief(store, reader, made)
        return made.model_dump_json(indent=2) if fmt is Format.json else render_markdown(made)

    out = with_store(settings, go)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")


def _run_command(
    name: str,
    text: str,
    *,
    profile: Path | None,
    lang: Lang | None,
    fmt: Format,
    no_llm: bool,
) -> None:
    """Run a chat command from the terminal, through the same registry as the chats."""
    import datetime as dt

    from bot.markdown import render_markdown
    from digest.llm import llm_session
    from handlers import load_commands
    from handlers.context import Args, Chat, HandlerContext, UsageError, User
    from handlers.registry import COMMANDS

    load_commands()
    settings = load_settings()
    reader_profile = resolve_profile(settings, profile, lang, quiet=True)

    async def go(store: Store) -> str:
        async with llm_session(settings, use_llm=not no_llm) as llm:
            ctx = HandlerContext(
                settings=settings,
                store=store,
                chat=Chat(None, reader_profile.name),
                user=User("cli"),
                subscription=None,
                profile=reader_profile,
                language=reader_profile.language,
                llm=llm,
                now=lambda: dt.datetime.now(dt.UTC),
                progress=_progress,
            )
            try:
                doc = await COMMANDS[name].handler(ctx, Args(text))
            except UsageError as exc:
                fail(str(exc), USAGE)
        return doc.model_dump_json(indent=2) if fmt is Format.json else render_markdown(doc)

    out = with_store(settings, go)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")


@app.command()
def paper(
    paper_id: Annotated[
        str, typer.Argument(help="arXiv id or link (2605.29559, hep-th/9901001, an HF URL).")
    ],
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Reader profile (TOML).", dir_okay=False)
    ] = None,
    lang: Annotated[Lang | None, typer.Option("--lang", help="Language of the card.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.markdown,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Extractive card, no LLM.")] = False,
) -> None:
    """Print one paper's card: problem, method, key results, limits, relation, links.

    The same code answers /paper in the chats."""
    from digest.ids import parse_arxiv_id

    try:
        parse_arxiv_id(paper_id)
    except PaperdropError as exc:
        fail(str(exc), USAGE)
    _run_command("paper", paper_id, profile=profile, lang=lang, fmt=fmt, no_llm=no_llm)


@app.command()
def ideas(
    topic: Annotated[str, typer.Argument(help="Optional topic, e.g. 'agent memory'.")] = "",
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Reader profile (TOML).", dir_okay=False)
    ] = None,
    lang: Annotated[Lang | None, typer.Option("--lang", help="Language of the ideas.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.markdown,
) -> None:
    """Print three research ideas grounded in your recent briefs (needs an LLM).

    The same code answers /ideas in the chats."""
    _run_command("ideas", topic, profile=profile, lang=lang, fmt=fmt, no_llm=False)


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
    from bot.cli import delivery as cli_delivery

    cli_delivery.register(app)


_register_delivery()
