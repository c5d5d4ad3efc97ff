"""The polite arXiv web client: the HTML rendering, the PDF, a figure's image.

Only the configured arXiv hosts (`PAPERDROP_ARXIV_HTML_URL`, `PAPERDROP_ARXIV_PDF_URL`)
are ever asked: a URL elsewhere, a link in a user's message or a redirect to another
host is refused before any request. Every request takes a turn of the shared spacer
(one at a time, `PAPERDROP_ARXIV_FULLTEXT_INTERVAL` apart, fleet-wide through Redis), says
who we are (a User-Agent naming paperdrop and `PAPERDROP_ARXIV_CONTACT`), has a timeout,
and is streamed under a size cap: a body announced or grown past it is refused, not read.
429 and 503 are waited out by their Retry-After (bounded retries; a wait longer than
`PAPERDROP_MAX_RETRY_AFTER` gives up); 5xx gets a short backoff; a refused connection or
a timeout is not retried (the paper falls back to its abstract at once).
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from digest.fulltext.model import MissingReason
from digest.fulltext.spacing import Sleep, Spacer, make_spacer
from digest.settings import Settings
from digest.sources.http import backoff, retry_after_seconds

__all__ = [
    "HTML_MAX_BYTES",
    "IMAGE_MAX_BYTES",
    "PDF_MAX_BYTES",
    "ArxivWeb",
    "FetchFailed",
    "Fetched",
    "user_agent",
]

log = logging.getLogger(__name__)

HTML_MAX_BYTES = 10 * 1024 * 1024
PDF_MAX_BYTES = 30 * 1024 * 1024
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # Feishu's upload limit
ERROR_BODY_BYTES = 256 * 1024  # enough of a 404 page to recognise it
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_WAIT = frozenset({429, 503})
_RETRY = frozenset({500, 502, 504})
USER_AGENT = "paperdrop/0.1 (+https://github.com/paperdrop; full-text reader)"


def user_agent(settings: Settings) -> str:
    contact = " ".join(settings.arxiv_contact.split())
    return f"{USER_AGENT[:-1]}; {contact})" if contact else USER_AGENT


class FetchFailed(Exception):
    """No usable answer: `reason` as the card tells it, `detail` for the logs."""

    def __init__(self, reason: MissingReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: MissingReason = reason
        self.detail = detail


@dataclass(frozen=True)
class Fetched:
    status: int
    url: str  # after redirects
    body: bytes
    content_type: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class ArxivWeb:
    """`async with ArxivWeb(settings) as web: await web.get(url, max_bytes=…)`."""

    def __init__(
        self,
        settings: Settings,
        *,
        spacer: Spacer | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.hosts = frozenset(
            urlsplit(u).netloc for u in (settings.arxiv_html_url, settings.arxiv_pdf_url)
        )
        self._own_spacer = spacer is None
        self._spacer = spacer or make_spacer(settings, sleep=sleep)
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            timeout=settings.fulltext_timeout,
            headers={"User-Agent": user_agent(settings)},
            follow_redirects=False,
            transport=transport,
        )
        self.requests = 0  # made by this client (for the bench and tests)

    async def __aenter__(self) -> ArxivWeb:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._own_spacer:
            await self._spacer.aclose()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.netloc in self.hosts

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        """The answer to GET `url` (any status but the waited-out ones), its body capped.

        Raises FetchFailed: "too_large", "unreachable" or "rate_limited"; ValueError for a
        URL off the configured hosts."""
        if not self.allowed(url):
            raise ValueError("not an arXiv web URL this bot may fetch")
        attempts = self.settings.fulltext_retries + 1
        attempt = redirects = 0
        while True:
            answer = await self._once(url, max_bytes)
            status = answer.status
            if status in _REDIRECTS and redirects < MAX_REDIRECTS:
                target = urljoin(url, answer.location)
                if not self.allowed(target):
                    raise FetchFailed("unreachable", "redirected off the arXiv hosts")
                url, redirects = target, redirects + 1
                continue
            if status in _WAIT or status in _RETRY:
                attempt += 1
                after = retry_after_seconds(answer.retry_after)
                if attempt >= attempts:
                    reason: MissingReason = "rate_limited" if status == 429 else "unreachable"
                    raise FetchFailed(reason, f"HTTP {status} after {attempts} attempts")
                if status in _WAIT and after is not None:
                    if after > self.settings.max_retry_after:
                        raise FetchFailed(
                            "rate_limited", f"HTTP {status}, Retry-After {math.ceil(after)} s"
                        )
                    wait = after
                else:
                    wait = backoff(attempt - 1)
                log.info("arXiv web: HTTP %d, retrying in %.0f s", status, wait)
                await self._sleep(wait)
                continue
            return Fetched(status, url, answer.body, answer.content_type)

    async def _once(self, url: str, max_bytes: int) -> _Answer:
        async with self._spacer.turn():
            self.requests += 1
            try:
                async with self._client.stream("GET", url) as resp:
                    return await _read(resp, max_bytes)
            except httpx.TimeoutException:
                raise FetchFailed("unreachable", "timed out") from None
            except httpx.TransportError as exc:
                raise FetchFailed(
                    "unreachable", f"connection failed ({type(exc).__name__})"
                ) from None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = ""
    location: str = ""
    retry_after: str | None = None


async def _read(resp: httpx.Response, max_bytes: int) -> _Answer:
    status = resp.status_code
    if status in _REDIRECTS:
        return _Answer(status, location=resp.headers.get("Location", ""))
    if status in _WAIT or status in _RETRY:
        return _Answer(status, retry_after=resp.headers.get("Retry-After"))
    cap = max_bytes if status == 200 else min(max_bytes, ERROR_BODY_BYTES)
    declared = resp.headers.get("Content-Length", "")
    if status == 200 and declared.isdigit() and int(declared) > cap:
        raise FetchFailed("too_large", f"{int(declared) // (1024 * 1024)} MB announced")
    body = bytearray()
    async for chunk in resp.aiter_bytes():
        body += chunk
        if len(body) > cap:
            if status != 200:
                break  # enough of an error page
            raise FetchFailed("too_large", f"over {cap // (1024 * 1024)} MB")
    kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return _Answer(status, bytes(body[:cap]), kind)
