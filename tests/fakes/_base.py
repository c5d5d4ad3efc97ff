"""What the three fake platform servers share: lifecycle, rejections, injected failures.

Each fake is an aiohttp app on 127.0.0.1 with an ephemeral port, used as an async
context manager; `base_url` is valid inside the ``async with`` block only. Given a fixed
`port`, its `base_url` is known before it starts, and it can be started, closed and
started again there: a platform that is down (nothing listens), then up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.ratelimit import Clock, SlidingWindows

__all__ = ["FakeServer", "Injection", "Rejection", "read_params"]


@dataclass(frozen=True)
class Rejection:
    """One refused request.

    `method`: the API method or endpoint ("sendMessage", "chat.postMessage", "webhook",
    "im.message.create", ...). `target`: chat id / channel / webhook token, if known.
    `status`: the HTTP status answered. `error`: the platform's description, error string
    or ``"<code>: <msg>"``. `injected`: caused by `fail_next`. `at`: the fake's clock.
    """

    method: str
    target: str | None
    status: int
    error: str
    at: float
    injected: bool = False
    retry_after: int | None = None


@dataclass
class Injection:
    """A queued failure (see each fake's `fail_next`)."""

    status: int
    retry_after: int
    remaining: int
    target: str | None
    method: str | None
    error: str | None = None
    code: int | None = None

    def matches(self, method: str, target: str | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.target is None or self.target == target


class FakeServer:
    """Base class: `async with Fake() as fake:` starts it, leaving the block stops it."""

    def __init__(
        self, *, clock: Clock = time.monotonic, enforce_rate_limits: bool = False, port: int = 0
    ):
        self.clock = clock
        self.port = port
        # Off by default so functional tests need no clock; on, a limit answers 429.
        self.enforce_rate_limits = enforce_rate_limits
        self.windows = SlidingWindows(clock)
        self.rejections: list[Rejection] = []
        self._injections: list[Injection] = []
        self._runner: web.AppRunner | None = None
        self._origin = ""

    # -- lifecycle ---------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _base_path(self) -> str:
        return ""

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        if not self._origin:
            if self.port:
                return f"http://127.0.0.1:{self.port}"
            raise RuntimeError(f"{type(self).__name__} is not running (use `async with`)")
        return self._origin

    @property
    def base_url(self) -> str:
        return self.origin + self._base_path()

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._origin = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._origin = ""

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- failures ----------------------------------------------------------------------

    def _queue(self, injection: Injection) -> None:
        if injection.remaining < 1:
            raise ValueError("count must be at least 1")
        self._injections.append(injection)

    def _take_injection(
        self, method: str, target: str | None, *, explicit_only: bool = False
    ) -> Injection | None:
        """The first queued failure for this call, consumed; `explicit_only`: only one
        queued for exactly this method (not a method-less one)."""
        for injection in self._injections:
            if explicit_only and injection.method != method:
                continue
            if injection.matches(method, target):
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.remove(injection)
                return injection
        return None

    @property
    def pending_failures(self) -> int:
        """Injected failures not yet served."""
        return sum(i.remaining for i in self._injections)

    def _reject(
        self,
        method: str,
        target: str | None,
        status: int,
        error: str,
        *,
        injected: bool = False,
        retry_after: int | None = None,
    ) -> None:
        self.rejections.append(
            Rejection(method, target, status, error, self.clock(), injected, retry_after)
        )


async def read_params(request: web.Request) -> tuple[dict[str, Any], bytes]:
    """Query, form (urlencoded or multipart) or JSON body merged into one dict; raw body.

    Form values stay strings (the SDKs JSON-encode nested objects into them).
    """
    params: dict[str, Any] = dict(request.query)
    ctype = request.content_type
    if ctype == "multipart/form-data":
        # Reading the raw body first would consume the stream the multipart parser needs.
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params, b""
    raw = await request.read()
    if ctype == "application/json":
        if raw.strip():
            body = json.loads(raw)
            if not isinstance(body, Mapping):
                raise ValueError("JSON body is not an object")
            params.update(body)
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params, raw
