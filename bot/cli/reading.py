"""`paperdrop brief`, `paper`, `ask` and `ideas`: the documents a reader reads, printed as
Markdown, JSON or one HTML page (the chats run the same handlers)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import (
    FAILED,
    USAGE,
    Command,
    Lang,
    Progress,
    Verbose,
    err_console,
    fail,
    load_settings,
    parse_day,
    tr,
    with_store,
)
from bot.render.html import render_html
from bot.render.markdown import render_markdown
from digest.chatstate import record_brief
from digest.errors import PaperdropError, ProfileError
from digest.ids import parse_arxiv_id
from digest.llm import llm_session
from digest.models import Document
from digest.pipeline import NoBrief, build_brief, mark_seen
from digest.profile import Profile, example_profile, load_profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.base import Store
from handlers import load_commands
from handlers.context import (
    Args,
    Chat,
    HandlerContext,
    ThreadContext,
    Unavailable,
    UsageError,
    User,
)
from handlers.paper import ABSTRACT_ONLY
from handlers.registry import COMMANDS


class Format(StrEnum):
    markdown = "markdown"
    json = "json"
    html = "html"


# Option types shared by the commands.
ProfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        help="Reader profile (TOML).",
        dir_okay=False,
        metavar="FILE",
        show_default="PAPERDROP_PROFILE_PATH, else the example profile",
    ),
]


FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        help="markdown; json (the document model); html (one self-contained web page).",
        metavar="markdown|json|html",
    ),
]


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of stdout.",
        dir_okay=False,
        metavar="FILE",
    ),
]


def lang_option(what: str) -> Any:
    return typer.Option(
        "--lang",
        help=f"Language of the {what}.",
        metavar="zh|en",
        show_default="PAPERDROP_LANGUAGE, else the profile's",
    )


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


def render(doc: Document, fmt: Format) -> str:
    if fmt is Format.json:
        return doc.model_dump_json(indent=2)
    if fmt is Format.html:
        return render_html(doc)

    return render_markdown(doc)


def write_out(text: str, output: Path | None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.expanduser().write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc.__class__.__name__}", USAGE)
    err_console.print(f"[dim]wrote {output}[/]")


def _collected_nothing(exc: PaperdropError) -> bool | None:
    """For a NoBrief: True when every source failed, False when they answered with no
    papers, None when it is another NoBrief (e.g. every candidate was shown before)."""

    if not isinstance(exc, NoBrief) or not exc.reports:
        return None
    papers = [r for r in exc.reports if r.source in ("Hugging Face", "arXiv")]
    return all(r.status == "failed" for r in papers or exc.reports)


def in_language(language: str) -> Callable[[PaperdropError], str]:
    """An error's line in the command line's language: an error that can say itself in
    any language (a NoBrief's `sentence`: what each source did) says it in this one;
    other errors have one text."""

    def describe(exc: PaperdropError) -> str:
        sentence = getattr(exc, "sentence", None)
        if callable(sentence):
            return str(sentence("zh" if language == "zh" else "en"))
        return str(exc)

    return describe


def sample_hint(language: str) -> Callable[[PaperdropError], None]:
    """The last line of a brief that no source could feed: the offline sample exists."""

    def hint(exc: PaperdropError) -> None:
        failed = _collected_nothing(exc)
        if failed is None:
            return
        if failed:
            line = tr(
                language,
                "No source answered: try `paperdrop brief --sample` for the offline sample.",
                "没有数据源应答:可以先用 `paperdrop brief --sample` 看离线样例。",
            )
        else:
            line = tr(
                language,
                "No papers from any source: try `paperdrop brief --sample` for the offline sample.",
                "各数据源都没有论文:可以先用 `paperdrop brief --sample` 看离线样例。",
            )
        err_console.print(line, markup=False)

    return hint


def brief(
    date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Day of the brief.",
            metavar="YYYY-MM-DD",
            show_default="today, UTC",
        ),
    ] = None,
    profile: ProfileOpt = None,
    lang: Annotated[Lang | None, lang_option("brief")] = None,
    fmt: FormatOpt = Format.markdown,
    output: OutputOpt = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Extractive brief, no LLM.")] = False,
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="Also pick papers shown before.")
    ] = False,
    no_mark_seen: Annotated[
        bool, typer.Option("--no-mark-seen", help="Do not remember these papers as shown.")
    ] = False,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="Offline sample (2026-05-08, data shipped in the package; Chinese unless "
            "--lang en).",
        ),
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Print the morning brief for one reader (Markdown, JSON or a web page)."""

    settings = load_settings()
    if sample and date is not None:
        fail("--sample is the fixed day 2026-05-08; drop --date", USAGE)
    day = SAMPLE_DATE if sample else parse_day(date)
    # The command line's own messages: English unless --lang (the brief is the profile's).
    cli_language = lang.value if lang else "en"
    reader_profile = resolve_profile(settings, profile, lang, quiet=sample)
    if day == SAMPLE_DATE and not sample:
        # The sample's own day: say at once that it needs no network, not after retries.
        err_console.print(
            tr(
                cli_language,
                f"{day} is the offline sample's day: `paperdrop brief --sample` shows it "
                "without the network.",
                f"{day} 是离线样例的日期:`paperdrop brief --sample` 无需联网即可查看。",
            ),
            style="dim",
            markup=False,
        )
    reader = f"cli:{reader_profile.name}"
    # The sample neither reads nor writes the reader's history: it shows the same day each time.
    remember = not (no_mark_seen or sample)

    with Progress() as progress:

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
                progress=progress,
            )
            if remember:
                await mark_seen(store, reader, made, settings)
                await record_brief(store, reader, made)
            return render(made, fmt)

        out = with_store(
            settings,
            go,
            on_error=sample_hint(cli_language),
            describe=in_language(cli_language),
        )
    write_out(out, output)


def _run_command(
    name: str,
    text: str,
    *,
    profile: Path | None,
    lang: Lang | None,
    fmt: Format,
    output: Path | None,
    no_llm: bool,
    about: str | None = None,
) -> None:
    """Run a chat command from the terminal, through the same registry as the chats.
    `about`: the paper a question is about (as a pick's thread would say)."""
    import datetime as dt

    load_commands()
    settings = load_settings()
    reader_profile = resolve_profile(settings, profile, lang, quiet=True)

    with Progress() as progress:

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
                    progress=progress,
                    thread=ThreadContext(key=f"cli:{about}", paper_id=about) if about else None,
                )
                try:
                    doc = await COMMANDS[name].handler(ctx, Args(text))
                except Unavailable as exc:  # no LLM, or it failed: a run that failed
                    fail(str(exc), FAILED)
                except UsageError as exc:
                    fail(str(exc), USAGE)
            return render(doc, fmt)

        out = with_store(settings, go)
    write_out(out, output)


def paper(
    paper_id: Annotated[
        str,
        typer.Argument(
            help="arXiv id or link (2605.29559, hep-th/9901001, an HF URL).",
            metavar="PAPER_ID",
            show_default=False,
        ),
    ],
    profile: ProfileOpt = None,
    lang: Annotated[Lang | None, lang_option("card")] = None,
    fmt: FormatOpt = Format.markdown,
    output: OutputOpt = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Extractive card, no LLM.")] = False,
    abstract_only: Annotated[
        bool,
        typer.Option("--abstract-only", help="Do not read the full text (arXiv HTML or PDF)."),
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Print one paper's card: problem, method, key results, limits, relation, links.

    Read from the paper's full text (arXiv's HTML rendering, else its PDF) unless
    --abstract-only. The same code answers /paper in the chats."""

    try:
        parse_arxiv_id(paper_id)
    except PaperdropError as exc:
        fail(str(exc), USAGE)
    text = f"{paper_id} {ABSTRACT_ONLY}" if abstract_only else paper_id
    _run_command("paper", text, profile=profile, lang=lang, fmt=fmt, output=output, no_llm=no_llm)


def ask(
    paper_id: Annotated[
        str,
        typer.Argument(
            help="arXiv id or link of the paper.", metavar="PAPER_ID", show_default=False
        ),
    ],
    question: Annotated[
        str,
        typer.Argument(help='The question, e.g. "which benchmarks?"', metavar="QUESTION"),
    ],
    profile: ProfileOpt = None,
    lang: Annotated[Lang | None, lang_option("answer")] = None,
    fmt: FormatOpt = Format.markdown,
    output: OutputOpt = None,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="Quote the paper's passages, no LLM.")
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Answer a question about one paper from its full text, citing its sections.

    The same code answers a question in a pick's thread."""

    try:
        bare = parse_arxiv_id(paper_id)
    except PaperdropError as exc:
        fail(str(exc), USAGE)
    if not question.strip():
        fail("ask needs a question after the paper id", USAGE)
    _run_command(
        "ask",
        question,
        profile=profile,
        lang=lang,
        fmt=fmt,
        output=output,
        no_llm=no_llm,
        about=bare,
    )


def ideas(
    topic: Annotated[
        str,
        typer.Argument(
            help="Optional topic, e.g. 'agent memory'.", metavar="TOPIC", show_default=False
        ),
    ] = "",
    profile: ProfileOpt = None,
    lang: Annotated[Lang | None, lang_option("ideas")] = None,
    fmt: FormatOpt = Format.markdown,
    output: OutputOpt = None,
    _verbose: Verbose = False,
) -> None:
    """Print three research ideas grounded in your recent briefs (needs an LLM).

    The same code answers /ideas in the chats."""
    _run_command("ideas", topic, profile=profile, lang=lang, fmt=fmt, output=output, no_llm=False)


def register(app: typer.Typer) -> None:
    """Add the reading commands to the main `paperdrop` app."""
    for command in (brief, paper, ask, ideas):
        app.command(cls=Command)(command)
