"""A fake of arXiv's web hosts: the HTML renderings, the PDFs and the figures' images.

    async with FakeArxivWeb(papers, clock=time.now, interval=3) as web:
        settings = Settings(arxiv_html_url=web.html_url, arxiv_pdf_url=web.pdf_url, ...)

Routes, as arxiv.org serves them:

- ``GET /html/<id>v<n>``: the paper's LaTeXML page (200, text/html); ``/html/<id>``
  redirects (302) to the latest version; 404 with the "No HTML for '<id>'" page when it
  has none (or when that version does not exist);
- ``GET /html/<id>v<n>/<file>``: a figure's image (200, image/png), 404 otherwise;
- ``GET /pdf/<id>[v<n>]``: the PDF (200, application/pdf), or 404. A withdrawn paper's
  PDF route answers 404 with an "Article withdrawn" page.

arXiv's rules for automated clients are enforced, on the injected clock: a request that
starts less than `interval` seconds after the previous one, or while another is still
being answered, gets **429** with ``Retry-After: <interval>`` (recorded in `rejections`);
a client that does not say who it is (no User-Agent, or httpx's default one) gets 403.
`fail_next(status, count, retry_after)` answers the next requests with an error; `gate`
(an asyncio.Event) holds every answer until set, so tests can make requests overlap
without timing.

`FakeTime` is the clock and sleep to share between this fake and the client under test:
sleeping advances the clock, so spacing is tested without waiting.
"""

from __future__ import annotations

import asyncio
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

__all__ = ["FIXTURES", "FakeArxivWeb", "FakeTime", "WebPaper", "fixture_html", "png_bytes"]

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fulltext"
_PATH = re.compile(r"^(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?$")


class FakeTime:
    """A clock that moves only when slept on (or told to)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def fixture_html(name: str) -> str:
    return (FIXTURES / name).read_text("utf-8")


@dataclass
class WebPaper:
    """What arXiv's web has for one paper (bare id)."""

    html: str | None = None
    pdf: bytes | None = None
    versions: int = 1  # the latest version; the unversioned URL serves it
    withdrawn: bool = False
    images: Mapping[str, bytes] = field(default_factory=dict)  # file name -> bytes


@dataclass(frozen=True)
class WebRequest:
    path: str
    at: float
    user_agent: str
    status: int


class FakeArxivWeb:
    def __init__(
        self,
        papers: Mapping[str, WebPaper],
        *,
        clock: FakeTime | None = None,
        interval: float = 3.0,
    ) -> None:
        self.papers = dict(papers)
        self.time = clock or FakeTime()
        self.interval = interval
        self.requests: list[WebRequest] = []
        self.rejections: list[WebRequest] = []
        self.gate: asyncio.Event | None = None
        self._fail: list[tuple[int, str | None]] = []
        self._last_start: float | None = None
        self._in_flight = 0
        self._runner: web.AppRunner | None = None
        self.origin = ""

    @property
    def html_url(self) -> str:
        return f"{self.origin}/html/"

    @property
    def pdf_url(self) -> str:
        return f"{self.origin}/pdf/"

    def fail_next(self, status: int, count: int = 1, retry_after: str | None = None) -> None:
        self._fail.extend([(status, retry_after)] * count)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def __aenter__(self) -> FakeArxivWeb:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- serving --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = self.time.now()
        ua = request.headers.get("User-Agent", "")
        too_soon = self._last_start is not None and now - self._last_start < self.interval - 1e-9
        if self._in_flight or too_soon:
            return self._record(request, now, ua, self._too_many())
        self._last_start = now
        self._in_flight += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            if not ua or ua.lower().startswith("python-httpx"):
                return self._record(request, now, ua, web.Response(status=403, text="Forbidden"))
            if self._fail:
                status, retry_after = self._fail.pop(0)
                headers = {"Retry-After": retry_after} if retry_after else {}
                return self._record(
                    request, now, ua, web.Response(status=status, text="busy", headers=headers)
                )
            return self._record(request, now, ua, self._answer(request.path))
        finally:
            self._in_flight -= 1

    def _too_many(self) -> web.Response:
        retry = str(max(1, round(self.interval)))
        return web.Response(status=429, text="Rate exceeded.", headers={"Retry-After": retry})

    def _record(
        self, request: web.Request, now: float, ua: str, response: web.Response
    ) -> web.Response:
        entry = WebRequest(request.path, now, ua, response.status)
        self.requests.append(entry)
        if response.status == 429:
            self.rejections.append(entry)
        return response

    def _answer(self, path: str) -> web.Response:
        if path.startswith("/html/"):
            rest = path[len("/html/") :]
            m = _PATH.match(rest)
            if m is None:
                # "<id>v<n>/<file>": a figure's image (old-style ids hold a slash too).
                head, _, file = rest.rpartition("/")
                m = _PATH.match(head)
                if m is None or not file:
                    return self._no_html(rest)
                return self._image(self.papers.get(m.group("id")), file, m.group("v"))
            paper = self.papers.get(m.group("id"))
            if paper is None or paper.html is None or not self._has(paper, m.group("v")):
                return self._no_html(rest)
            if m.group("v") is None:  # the latest version, at its own address
                location = f"/html/{m.group('id')}v{paper.versions}"
                return web.Response(status=302, headers={"Location": location})
            return web.Response(text=paper.html, content_type="text/html")
        if path.startswith("/pdf/"):
            m = _PATH.match(path[len("/pdf/") :])
            paper = self.papers.get(m.group("id")) if m else None
            if paper is not None and paper.withdrawn:
                return web.Response(
                    status=404, text="<h1>Article withdrawn</h1>", content_type="text/html"
                )
            if (
                paper is None
                or paper.pdf is None
                or not self._has(paper, m.group("v") if m else None)
            ):
                return web.Response(status=404, text="Not found", content_type="text/html")
            return web.Response(body=paper.pdf, content_type="application/pdf")
        return web.Response(status=404, text="Not found")

    @staticmethod
    def _has(paper: WebPaper, version: str | None) -> bool:
        return version is None or 1 <= int(version) <= paper.versions

    @staticmethod
    def _image(paper: WebPaper | None, file: str, version: str | None) -> web.Response:
        data = paper.images.get(file) if paper is not None and version else None
        if data is None:
            return web.Response(status=404, text="Not found")
        return web.Response(body=data, content_type="image/png")

    @staticmethod
    def _no_html(ident: str) -> web.Response:
        page = fixture_html("no-html.html").replace("{id}", ident)
        return web.Response(status=404, text=page, content_type="text/html")
