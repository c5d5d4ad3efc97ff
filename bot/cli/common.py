"""What every `paperdrop` command shares: one-line errors, settings, the Store, the
help conventions (`-h`, `-v` after any command, flags without a type placeholder) and
progress on stderr."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from types import TracebackType
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.status import Status
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from bot.core.observability import setup_logging
from bot.core.reconnect import Backoff, Link
from bot.platforms import PLATFORMS
from bot.platforms import load_settings as load_all_settings
from digest.errors import ConfigError, PaperdropError, StoreError
from digest.settings import Settings
from digest.store import open_store
from digest.store.base import Store

__all__ = [
    "CONTEXT",
    "FAILED",
    "USAGE",
    "Command",
    "Group",
    "Lang",
    "Progress",
    "Verbose",
    "clean_message",
    "configure_logging",
    "err_console",
    "error_line",
    "fail",
    "load_settings",
    "parse_day",
    "tr",
    "with_store",
]

T = TypeVar("T")
USAGE = 2  # exit code of usage errors and bad input (click's own convention)
FAILED = 1  # a run that could not be done (sources, platforms, the Store)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# `-h` as well as `--help`, everywhere.
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

# pydantic puts these before the message of a validator's ValueError/AssertionError.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


class Lang(StrEnum):
    zh = "zh"
    en = "en"


def tr(language: str | None, en: str, zh: str) -> str:
    return zh if language == "zh" else en


def clean_message(message: str) -> str:
    """One line, without pydantic's "Value error, " prefixes."""
    for prefix in _PYDANTIC_PREFIXES:
        message = message.replace(prefix, "")
    return " ".join(message.split())


def error_line(message: str) -> None:
    """`error: …` on stderr, in one print (a spinner may be running). The message is
    never read as markup: it may quote user input or paper text."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", clean_message(message)))


def fail(message: str, code: int = FAILED) -> NoReturn:
    error_line(message)
    raise typer.Exit(code)


# --- help conventions ---------------------------------------------------------------------


def _blank_flag_types(params: list[Any]) -> None:
    """A flag takes no value: no `<bool>` placeholder after it in the help."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


def _clean_bad_parameter(exc: typer.BadParameter) -> typer.BadParameter:
    exc.message = clean_message(exc.message)
    return exc


class _Conventions:
    """Flags shown without a type placeholder, and typer's own messages about bad values
    without pydantic's "Value error," in them (mixed into the command and the group)."""

    params: list[Any]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            parsed: list[str] = super().parse_args(ctx, args)  # type: ignore[misc]
            return parsed
        except typer.BadParameter as exc:
            raise _clean_bad_parameter(exc) from None

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _blank_flag_types(self.params)
        super().format_help(ctx, formatter)  # type: ignore[misc]


class Command(_Conventions, TyperCommand):
    """Every paperdrop subcommand."""


class Group(_Conventions, TyperGroup):
    """The `paperdrop` group, with the same help conventions as its commands."""


def configure_logging(verbose: bool) -> None:
    """Log at INFO (`-v`) or WARNING to stderr, as text or JSON (`PAPERDROP_LOG_FORMAT`),
    with secrets masked (the platforms' too) and chat ids hashed; one handler however often
    it is called."""
    try:
        settings: Settings | None = load_all_settings()
    except Exception:  # unusable settings are reported by the command that needs them
        settings = None
    setup_logging(settings, verbose)


def _verbose(value: bool) -> None:
    if value:
        configure_logging(True)


# After the command (`paperdrop brief -v`); the group takes it before (`paperdrop -v brief`).
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Log details to stderr.",
        callback=_verbose,
        expose_value=False,
        is_eager=True,
    ),
]


# --- settings, the Store ------------------------------------------------------------------


def _variable(title: str, field: str) -> str:
    """The environment variable of a settings field named in a ValidationError (`title`:
    the settings class), e.g. PAPERDROP_FEISHU_EVENT_MODE."""
    prefix = "PAPERDROP_"
    for target in PLATFORMS.values():
        if target.settings_class.__name__ == title:
            prefix = str(target.settings_class.model_config.get("env_prefix", prefix))
    return f"{prefix}{field}".upper()


def load_settings() -> Settings:
    """The settings, every platform's included; a bad value is one line and exit 2."""
    try:
        return load_all_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        # The input value is never echoed: it may be a secret.
        fail(f"bad setting {_variable(exc.title, field)}: {first['msg']}", USAGE)


def with_store(
    settings: Settings,
    work: Callable[[Store], Awaitable[T]],
    *,
    on_error: Callable[[PaperdropError], None] | None = None,
    describe: Callable[[PaperdropError], str] = str,
    wait_for_store: bool = False,
) -> T:
    """Open the Store, run `work`, close it. A PaperdropError becomes one line (its
    `describe`): exit 2 for settings or input that cannot be used (ConfigError), else 1.
    `on_error` may add a line of its own after it. `wait_for_store` (the long-running
    `serve` and `worker`): an unreachable Store (Redis restarting) is waited for with
    backoff, said once, instead of exiting into a supervisor's restart loop."""

    async def go() -> T:
        store = await (
            _open_patiently(settings, open_store) if wait_for_store else open_store(settings)
        )
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except PaperdropError as exc:
        code = USAGE if isinstance(exc, ConfigError) else FAILED
        if on_error is None:
            fail(describe(exc), code)
        error_line(describe(exc))
        on_error(exc)
        raise typer.Exit(code) from None


# The Store at the start of `serve` or `worker`: waited for, said once each way.
_STORE_AT_START = Link("store", "connection")
_STORE_BACKOFF = Backoff(base=1.0, cap=30.0)


async def _open_patiently(
    settings: Settings, open_store: Callable[[Settings], Awaitable[Store]]
) -> Store:
    attempt = 0
    while True:
        try:
            store = await open_store(settings)
        except StoreError as exc:
            if not settings.redis_url:
                raise  # a SQLite file that cannot be opened does not get better by waiting
            _STORE_AT_START.down(str(exc))
            await asyncio.sleep(_STORE_BACKOFF.delay(attempt))
            attempt += 1
            continue
        if _STORE_AT_START.up_now is False:
            _STORE_AT_START.up()
        return store


def parse_day(value: str | None) -> dt.date:
    """A --date option: YYYY-MM-DD, default today (UTC), never in the future."""
    today = dt.datetime.now(dt.UTC).date()
    if value is None:
        return today
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        fail(f"invalid date {value!r}: use YYYY-MM-DD", USAGE)
    if day > today + dt.timedelta(days=1):
        fail(f"date {day} is in the future", USAGE)
    return day


# --- progress -----------------------------------------------------------------------------


class _Elapsed:
    """The spinner's text: the step being waited for, and for how long."""

    def __init__(self) -> None:
        self.message = "working"
        self.since = time.monotonic()

    def set(self, message: str) -> None:
        self.message = message
        self.since = time.monotonic()

    def __rich__(self) -> Text:
        seconds = time.monotonic() - self.since
        shown = f"{self.message}…" + (f" {seconds:.0f} s" if seconds >= 2 else "")
        return Text(shown, style="dim")


class Progress:
    """Progress on stderr: each step one dim line; on a terminal a spinner, with the
    seconds waited, shows the step still running. Use as a context manager and pass
    the instance where a `progress(message)` callback is wanted."""

    def __init__(self, console: Console = err_console) -> None:
        self._console = console
        self._text = _Elapsed()
        self._status: Status | None = None

    def __call__(self, message: str) -> None:
        self._console.print(f"· {message}", style="dim", markup=False, highlight=False)
        self._text.set(message)
        if self._status is not None:
            self._status.update(self._text)

    def __enter__(self) -> Progress:
        if self._console.is_terminal:
            self._status = Status(self._text, console=self._console, spinner="dots")
            self._status.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
