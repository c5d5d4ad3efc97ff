"""A tiny arXiv API on 127.0.0.1 serving Atom, for tests driven by the real `arxiv` package.

    with ArxivServer(entries) as server:           # or: async with ArxivServer(...)
        settings = Settings(arxiv_api_url=server.url, arxiv_delay=0)
        server.fail_next(503, count=2)             # the next two requests get HTTP 503
        ...
        server.requests[-1].search_query           # what the client asked

It answers `id_list` (arXiv's way: malformed ids get HTTP 400 and an `Error` entry;
unknown ids are counted in totalResults but have no entry) and `search_query` made of
`cat:` terms OR-ed together, optionally AND-ed with `submittedDate:[YYYYMMDDHHMM TO
YYYYMMDDHHMM]` — the shapes paperdrop sends. Sorting (`sortBy`, `sortOrder`) and paging
(`start`, `max_results`) follow the API. It runs in a thread, so sync and async tests
can both use it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from tests.fakes.arxiv_atom import AtomEntry, atom_feed, error_feed

__all__ = ["ArxivRequest", "ArxivServer"]

PATH = "/api/query"
PAGE_MAX = 2000  # arXiv serves at most this many entries per request
DEFAULT_MAX_RESULTS = 10  # arXiv's default page when max_results is absent
_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")
_CAT = re.compile(r"cat:([A-Za-z][\w.\-]*)")
_DATES = re.compile(r"submittedDate:\[(\d{12}) TO (\d{12})\]")
_GLUE = re.compile(r"\(|\)|\bAND\b|\bOR\b|\s+")
_AUTHOR = re.compile(r'au:"([^"]+)"')  # every word of the name in one author's name


@dataclass
class ArxivRequest:
    """One request as the server saw it."""

    path: str
    params: dict[str, str]
    status: int

    @property
    def search_query(self) -> str:
        return self.params.get("search_query", "")

    @property
    def id_list(self) -> list[str]:
        raw = self.params.get("id_list", "")
        return [i for i in raw.split(",") if i]


@dataclass
class _Failure:
    status: int
    retry_after: str | None


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ArxivServer:
    def __init__(self, entries: Iterable[AtomEntry] = ()) -> None:
        self.entries: list[AtomEntry] = list(entries)
        self.requests: list[ArxivRequest] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{PATH}"

    def fail_next(self, status: int, count: int = 1, *, retry_after: str | None = None) -> None:
        """Answer the next `count` requests with `status` (e.g. 429, 503; 400 as an Error feed)."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after) for _ in range(count))

    def start(self) -> ArxivServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = server._answer(self.path)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> ArxivServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> ArxivServer:
        return self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- the API ---------------------------------------------------------------------

    def _answer(self, target: str) -> _Answer:
        parts = urlsplit(target)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if parts.path != PATH:
            answer = _Answer(404, b"Not Found", {"Content-Type": "text/plain"})
        elif failure is not None and failure.status == 400:
            answer = _Answer(400, error_feed("bad request", query=parts.query), _ATOM)
        elif failure is not None:
            headers = {"Content-Type": "text/plain"}
            if failure.retry_after is not None:
                headers["Retry-After"] = failure.retry_after
            answer = _Answer(failure.status, f"HTTP {failure.status}".encode(), headers)
        else:
            answer = self._query(params, parts.query)
        with self._lock:
            self.requests.append(ArxivRequest(parts.path, params, answer.status))
        return answer

    def _query(self, params: dict[str, str], raw_query: str) -> _Answer:
        def error(message: str) -> _Answer:
            return _Answer(400, error_feed(message, query=raw_query), _ATOM)

        try:
            start = int(params.get("start", "0"))
        except ValueError:
            return error("start must be an integer")
        try:
            max_results = min(int(params.get("max_results", DEFAULT_MAX_RESULTS)), PAGE_MAX)
        except ValueError:
            return error("max_results must be an integer")

        matches = list(self.entries)
        query = params.get("search_query", "")
        if query:
            cats = set(_CAT.findall(query))
            names = [re.findall(r"\w+", n.lower()) for n in _AUTHOR.findall(query)]
            dates = _DATES.search(query)
            if _GLUE.sub("", _DATES.sub("", _CAT.sub("", _AUTHOR.sub("", query)))):
                return error(f"query not supported by the fake server: {query}")
            if cats:
                matches = [e for e in matches if cats & set(e.all_categories)]
            if names:
                matches = [
                    e
                    for e in matches
                    if any(
                        all(w in re.findall(r"\w+", a.lower()) for w in n)
                        for n in names
                        for a in e.authors
                    )
                ]
            if dates:
                low, high = dates.groups()
                matches = [
                    e
                    for e in matches
                    if low <= e.published.astimezone(dt.UTC).strftime("%Y%m%d%H%M") <= high
                ]
        ids = [i for i in params.get("id_list", "").split(",") if i]
        total: int | None = None
        if ids:
            for i in ids:
                if not _ID.match(i):
                    return error(f"incorrect id format for {i}")
            matches = [e for i in ids if (e := _find(matches, i)) is not None]
            total = len(ids)  # arXiv counts the ids asked for, found or not
        matches = _sort(matches, params.get("sortBy", "relevance"), params.get("sortOrder"))
        page = matches[start : start + max_results]
        body = atom_feed(
            page,
            query=raw_query,
            total_results=len(matches) if total is None else total,
            start_index=start,
            items_per_page=len(page),
        )
        return _Answer(200, body, _ATOM)


_ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


def _find(entries: list[AtomEntry], wanted: str) -> AtomEntry | None:
    """The entry of a versioned id, or the latest version of a bare one."""
    exact = [e for e in entries if e.arxiv_id == wanted]
    if exact:
        return exact[0]
    same = [e for e in entries if e.bare_id == wanted]
    return max(same, key=lambda e: int(e.arxiv_id.rpartition("v")[2])) if same else None


def _sort(entries: list[AtomEntry], by: str, order: str | None) -> list[AtomEntry]:
    if by == "submittedDate":
        key = lambda e: e.published  # noqa: E731
    elif by == "lastUpdatedDate":
        key = lambda e: e.updated or e.published  # noqa: E731
    else:
        return entries
    return sorted(entries, key=key, reverse=order != "ascending")
