"""What every `paperdrop` command shares: one-line errors, settings, the Store."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from digest.errors import PaperdropError
from digest.settings import Settings
from digest.store.base import Store

__all__ = [
    "FAILED",
    "USAGE",
    "Lang",
    "err_console",
    "fail",
    "load_settings",
    "parse_day",
    "with_store",
]

T = TypeVar("T")
USAGE = 2  # exit code of usage errors (click's own convention)
FAILED = 1

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class Lang(StrEnum):
    zh = "zh"
    en = "en"


def fail(message: str, code: int = FAILED) -> NoReturn:
    # markup=False for the message: it may quote user input or paper text.
    err_console.print("[bold red]error:[/]", end=" ")
    err_console.print(message, markup=False)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]).upper()
        # The input value is never echoed: it may be a secret.
        fail(f"bad setting PAPERDROP_{field}: {first['msg']}", USAGE)


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the Store, run `work`, close it; a PaperdropError becomes one line and exit 1."""
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
        fail(str(exc))


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
