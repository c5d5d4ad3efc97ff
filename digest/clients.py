"""The clients a process shares: one LLM client, one HTTP pool, one gate for builds.

A morning builds hundreds of briefs at once and serves commands meanwhile; each of them
opening its own LLM client (the openai SDK's, with its own connection pool) and its own
httpx pool costs megabytes per build and unbounds the LLM's concurrency. Here each is made
once and shared:

- `shared_llm(settings)`: the `OpenAILLM` for the settings that shape it (endpoint, key,
  model, timeout, concurrency, structured mode); its semaphore is the process's bound on
  parallel LLM calls (`PAPERDROP_LLM_CONCURRENCY`);
- `shared_http(settings)`: the httpx pool for the sources (Hugging Face, GitHub), keyed
  by its timeout; `http_session` lends it as an `async with` that does not close it;
- `build_gate(settings)`: the semaphore builds run under (`PAPERDROP_BUILD_CONCURRENCY`).

Clients and sockets belong to an event loop, so all of this is kept per running loop (a
test's loop, `asyncio.run` in the command line, serve's loop), and closed with it: the
first use on a loop starts a small task that closes that loop's clients when it is
cancelled, which `asyncio.run` (and pytest's runner) do to every task at the end.
`close_clients()` closes them earlier, at a graceful shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from digest.llm import OpenAILLM
from digest.settings import Settings

__all__ = [
    "USER_AGENT",
    "build_gate",
    "close_clients",
    "http_session",
    "shared_http",
    "shared_llm",
]

USER_AGENT = "paperdrop/0.1 (+https://github.com/paperdrop)"

log = logging.getLogger(__name__)

_LLMKey = tuple[str | None, str, str, str | None, float, int, str]


@dataclass
class _Shared:
    """One loop's clients, by the settings that shape them."""

    llms: dict[_LLMKey, OpenAILLM] = field(default_factory=dict)
    http: dict[float, httpx.AsyncClient] = field(default_factory=dict)
    gates: dict[int, asyncio.Semaphore] = field(default_factory=dict)
    keeper: asyncio.Task[None] | None = None


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = (
    weakref.WeakKeyDictionary()
)


def _shared() -> _Shared:
    loop = asyncio.get_running_loop()
    found = _BY_LOOP.get(loop)
    if found is None:
        found = _BY_LOOP[loop] = _Shared()
        found.keeper = loop.create_task(_keep(found), name="paperdrop-clients")
    return found


async def _keep(shared: _Shared) -> None:
    """Wait until cancelled (the loop is ending), then close the loop's clients."""
    try:
        await asyncio.Event().wait()
    finally:
        await _close(shared)


async def _close(shared: _Shared) -> None:
    llms, pools = list(shared.llms.values()), list(shared.http.values())
    shared.llms.clear()
    shared.http.clear()
    for llm in llms:
        with contextlib.suppress(Exception):  # closing must not mask why the loop ends
            await llm.aclose()
    for pool in pools:
        with contextlib.suppress(Exception):
            await pool.aclose()


def _llm_key(settings: Settings) -> _LLMKey:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    return (
        settings.llm_base_url,
        key,
        settings.llm_model,
        settings.embeddings_model,
        settings.llm_timeout,
        settings.llm_concurrency,
        settings.llm_structured,
    )


def shared_llm(settings: Settings) -> OpenAILLM | None:
    """This loop's LLM client for `settings` (None when no key is set: extractive mode).
    Never close it: it is closed with the loop, or by `close_clients`."""
    if not settings.llm_enabled:
        return None
    shared = _shared()
    key = _llm_key(settings)
    llm = shared.llms.get(key)
    if llm is None:
        llm = shared.llms[key] = OpenAILLM(settings)
    return llm


def shared_http(settings: Settings) -> httpx.AsyncClient:
    """This loop's HTTP pool for the sources (redirects followed, paperdrop's User-Agent).
    Never close it: it is closed with the loop, or by `close_clients`."""
    shared = _shared()
    pool = shared.http.get(settings.http_timeout)
    if pool is None or pool.is_closed:
        pool = shared.http[settings.http_timeout] = httpx.AsyncClient(
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
    return pool


@contextlib.asynccontextmanager
async def http_session(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """`async with http_session(settings) as client:` the shared pool, left open after."""
    yield shared_http(settings)


def build_gate(settings: Settings) -> asyncio.Semaphore:
    """The semaphore every brief build of this loop runs under: at most
    `settings.build_concurrency` at once (the others wait their turn)."""
    shared = _shared()
    limit = settings.build_concurrency
    gate = shared.gates.get(limit)
    if gate is None:
        gate = shared.gates[limit] = asyncio.Semaphore(limit)
    return gate


async def close_clients() -> None:
    """Close this loop's shared clients now (a graceful shutdown); the next use makes new
    ones."""
    loop = asyncio.get_running_loop()
    shared = _BY_LOOP.pop(loop, None)
    if shared is None:
        return
    keeper = shared.keeper
    if keeper is not None and keeper is not asyncio.current_task():
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    await _close(shared)
