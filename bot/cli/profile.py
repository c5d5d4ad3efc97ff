"""`paperdrop profile import FILE`: seed papers from a reference library.

    paperdrop profile import refs.bib                      # into PAPERDROP_PROFILE_PATH
    paperdrop profile import zotero.json --profile me.toml
    paperdrop profile import refs.bib --chat telegram:123  # a chat's own seed papers

Reads BibTeX or a Zotero CSL-JSON export (`digest.library`), keeps the entries that name
an arXiv paper and says how many it kept and skipped, and why. `--dry-run` only says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import (
    CONTEXT,
    USAGE,
    Command,
    Group,
    Verbose,
    err_console,
    fail,
    load_settings,
    with_store,
)
from digest.errors import ProfileError
from digest.library import LibraryImport, read_library, reasons
from digest.profile import MAX_PAPERS, add_papers
from digest.reader import get_reader, save_reader
from digest.store.base import Store

__all__ = ["register"]

MAX_FILE = 20_000_000  # bytes: a library of tens of thousands of entries
SHOWN_SKIPPED = 10

profile_app = typer.Typer(
    name="profile",
    help="Your reader profile: seed papers from a reference library.",
    no_args_is_help=True,
    cls=Group,
    context_settings=CONTEXT,
)


def _summary(found: LibraryImport, added: int, where: str) -> str:
    total = len(found.kept) + len(found.skipped)
    why = ", ".join(f"{n} {reason}" for reason, n in reasons(found.skipped).items())
    line = f"kept {len(found.kept)} of {total} entries with an arXiv paper"
    if found.skipped:
        line += f"; skipped {len(found.skipped)} ({why})"
    unique = len(found.ids)
    if where:
        line += f"; {added} new of {unique} papers added to {where}"
    return line


@profile_app.command("import", cls=Command, context_settings=CONTEXT)
def import_command(
    file: Annotated[
        Path,
        typer.Argument(help="A BibTeX file or a Zotero CSL-JSON export.", show_default=False),
    ],
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            "-p",
            help="The profile TOML to add the papers to (default: PAPERDROP_PROFILE_PATH).",
            show_default=False,
        ),
    ] = None,
    chat: Annotated[
        str | None,
        typer.Option(
            "--chat", help="Add them to this chat's seed papers instead (e.g. telegram:123)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be kept.")
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Add the arXiv papers of a BibTeX or Zotero CSL-JSON library as seed papers."""
    try:
        if file.stat().st_size > MAX_FILE:
            fail(f"{file}: larger than {MAX_FILE // 1_000_000} MB", USAGE)
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        fail(f"{file}: no such file", USAGE)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read it ({exc.__class__.__name__})", USAGE)
    try:
        found = read_library(text)
    except ProfileError as exc:
        fail(f"{file}: {exc}", USAGE)
    for s in found.skipped[:SHOWN_SKIPPED]:
        err_console.print(f"· skipped ({s.reason}): {s.title or '(untitled)'}", markup=False)
    if len(found.skipped) > SHOWN_SKIPPED:
        err_console.print(f"· … and {len(found.skipped) - SHOWN_SKIPPED} more", markup=False)
    if dry_run or not found.ids:
        typer.echo(_summary(found, 0, ""))
        return
    if chat is not None:
        typer.echo(_summary(found, _into_chat(chat, found.ids), f"chat {chat}"))
        return
    settings = load_settings()
    target = profile or settings.profile_path
    if target is None:
        fail(
            "no profile to add to: give --profile FILE, --chat KEY or PAPERDROP_PROFILE_PATH", USAGE
        )
    try:
        added = add_papers(target, found.ids)
    except ProfileError as exc:
        fail(str(exc), USAGE)
    typer.echo(_summary(found, added, str(target)))


def _into_chat(chat: str, ids: list[str]) -> int:
    if ":" not in chat:
        fail(f"--chat {chat[:40]!r}: give platform:chat_id, e.g. telegram:123", USAGE)

    async def go(store: Store) -> int:
        state = await get_reader(store, chat)
        new = [pid for pid in ids if pid not in state.papers]
        if len(state.papers) + len(new) > MAX_PAPERS:
            raise ProfileError(f"chat {chat}: at most {MAX_PAPERS} papers")
        await save_reader(store, chat, state.model_copy(update={"papers": [*state.papers, *new]}))
        return len(new)

    return with_store(load_settings(), go)


def register(app: typer.Typer) -> None:
    app.add_typer(profile_app)
