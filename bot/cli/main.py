"""The `paperdrop` command line: the app, its options, and its commands in order (one
module per command group: `reading`, `subscriptions`, `pushing`, `processes`, `profile`).

Conventions: `-h`/`--help` and `-v`/`--verbose` everywhere (before or after the
command), `--version`; usage errors and bad input exit 2, a run that failed exits 1;
errors are one line on stderr, progress goes to stderr, the document to stdout (or
`--output FILE`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer

from bot.cli.common import (
    CONTEXT,
    Command,
    Group,
    configure_logging,
)
from bot.cli.processes import serve, worker
from bot.cli.profile import register as register_profile
from bot.cli.pushing import push_command, render, status
from bot.cli.reading import register as register_reading
from bot.cli.subscriptions import SUBSCRIBE_SETTINGS, subscribe, subscriptions, unsubscribe
from bot.platforms import PLATFORMS

__all__ = ["app"]

# "Telegram, Slack and Feishu": the registry's platforms.
_NAMES = [t.title for t in PLATFORMS.values()]
_TITLES = ", ".join(_NAMES[:-1]) + " and " + _NAMES[-1] if len(_NAMES) > 1 else "".join(_NAMES)

app = typer.Typer(
    name="paperdrop",
    help=f"A personalised AI-research brief every morning, on {_TITLES}.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=Group,
    context_settings=CONTEXT,
)


def _version(value: bool) -> None:
    if value:
        try:
            shown = version("paperdrop")
        except PackageNotFoundError:  # run from a source tree that was never installed
            shown = "unknown"
        typer.echo(f"paperdrop {shown}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log details to stderr.")
    ] = False,
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_version,
            expose_value=False,
            is_eager=True,
        ),
    ] = False,
) -> None:
    configure_logging(verbose)


def register_delivery(app: typer.Typer) -> None:
    """Add the delivery commands (subscribe … render) to a typer app."""
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
        own: dict[str, Any] = SUBSCRIBE_SETTINGS if name == "subscribe" else {}
        context = {**CONTEXT, **own.get("context_settings", {})}
        app.command(name, cls=Command, context_settings=context, epilog=own.get("epilog"))(command)


# The commands, in the order `paperdrop --help` lists them.
register_reading(app)
register_delivery(app)
register_profile(app)
