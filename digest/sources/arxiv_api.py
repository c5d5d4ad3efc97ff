"""arXiv through the `arxiv` package (synchronous, run in a thread), politely.

The package retries any non-200 after a fixed delay and ignores Retry-After, so its
retries are off: this module spaces requests (one per `arxiv_delay` seconds, one at a
time, across every call of the instance) and backs off itself on 429/503.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from digest.authors import clean_author
from digest.cleaning import clean_source_text
from digest.errors import ConfigError, InvalidPaperId, SourceError
from digest.ids import parse_arxiv_id
from digest.models import Paper
from digest.settings import Settings
from digest.sources.github import code_promised, find_github_repo
from digest.sources.http import after_attempts, backoff

# The `arxiv` package (and `requests` under it) is imported where arXiv is asked: together
# they take ~0.2 s to import, which the commands that never ask arXiv should not pay.
if TYPE_CHECKING:
    import arxiv

__all__ = ["ARXIV_PAGE_MAX", "ArxivSource", "build_query", "result_to_paper"]

log = logging.getLogger(__name__)

T = TypeVar("T")

ARXIV_PAGE_MAX = 2000  # the API's largest page
ID_BATCH = 100  # ids per lookup request, to keep the URL short
MAX_BACKOFF = 120.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z-]+)?$")
_SPACE = re.compile(r"\s+")
# Withdrawal notices: "This paper has been withdrawn by the author", "Withdrawn: ...".
_WITHDRAWN = re.compile(
    r"^\s*withdrawn\b|\bwithdrawn by the authors?\b"
    r"|\b(?:paper|article|submission|manuscript|preprint|version)\s+(?:has\s+been|is|was)\s+withdrawn\b",
    re.IGNORECASE,
)

Sleep = Callable[[float], Awaitable[None]]


_VERSION = re.compile(r"v(\d+)$")
# The words of an author's name that arXiv's search takes (no quotes, no operators).
_AUTHOR_WORD = re.compile(r"[^\W\d_][^\W_'’\-]*", re.UNICODE)


def _text(value: str | None) -> str:
    return _SPACE.sub(" ", value).strip() if value else ""


def build_query(categories: Iterable[str], start: dt.date, end: dt.date) -> str:
    """`(cat:a OR cat:b) AND submittedDate:[YYYYMMDD0000 TO YYYYMMDD2359]`."""
    cats = list(dict.fromkeys(categories))
    for c in cats:
        if not _CATEGORY.match(c):
            raise ConfigError(f"{c!r} is not an arXiv category (expected e.g. cs.CL)")
    dates = f"submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]"
    if not cats:
        return dates
    return "(" + " OR ".join(f"cat:{c}" for c in cats) + ") AND " + dates


def result_to_paper(result: arxiv.Result) -> Paper | None:
    """A Paper from one feed entry; None for arXiv's error entries and unreadable ones."""
    short_id = result.get_short_id()
    try:
        paper_id = parse_arxiv_id(short_id)
    except InvalidPaperId:
        return None  # e.g. http://arxiv.org/api/errors#incorrect_id_format_for_...
    title = _text(result.title)
    if not title:
        return None
    abstract = _text(result.summary)
    comment = _text(result.comment) or None
    published = result.published.date() if result.published.year > 1 else None
    return Paper(
        paper_id=paper_id,
        # Cleaned here, once (the repo link and the withdrawal are read from the raw text).
        title=clean_source_text(title),
        abstract=clean_source_text(abstract),
        authors=[n for a in result.authors if (n := _text(a.name))],
        published=published,
        primary_category=result.primary_category or None,
        categories=list(dict.fromkeys(result.categories)),
        comment=comment,
        # Named in the text only: shown as a repo once GitHub confirms it exists.
        repo_in_text=find_github_repo(abstract) or find_github_repo(comment or ""),
        repo_promised=code_promised(f"{abstract} {comment or ''}"),
        withdrawn=bool(_WITHDRAWN.search(comment or "") or _WITHDRAWN.search(abstract)),
        version=int(m.group(1)) if (m := _VERSION.search(short_id)) else None,
        sources=["arxiv"],
    )


@cache
def _client_class() -> Any:
    """The package's client pointed at a URL, with a timeout and no retries of its own (a
    class made on first use: it subclasses the package's, imported then)."""
    import arxiv
    import requests
    import requests.adapters

    class _TimeoutAdapter(requests.adapters.HTTPAdapter):
        """The package sends requests without a timeout; a hung arXiv would hold the thread."""

        def __init__(self, timeout: float) -> None:
            super().__init__()
            self._timeout = timeout

        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> requests.Response:
            return super().send(
                request,
                stream=stream,
                timeout=self._timeout if timeout is None else timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )

    class _Client(arxiv.Client):  # type: ignore[misc]
        """The package's client pointed at `url`, with a timeout and no retries of its own."""

        def __init__(self, url: str, *, page_size: int, delay: float, timeout: float) -> None:
            super().__init__(page_size=page_size, delay_seconds=delay, num_retries=0)
            # query_url_format is the package's documented endpoint knob ("...?{}").
            self.query_url_format = url.replace("{", "{{").replace("}", "}}") + "?{}"
            adapter = _TimeoutAdapter(timeout)
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)

        def close(self) -> None:
            self._session.close()

    return _Client


def in_daemon_thread(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Run blocking `fn` in a daemon thread; the future resolves on the caller's loop.

    Not `asyncio.to_thread`: the default executor's threads are joined when the loop
    closes, so Ctrl-C during an arXiv request (the package sleeps between pages and
    retries) waited for it to finish. A cancelled call's thread is abandoned instead: it
    only reads, and its result is dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return  # cancelled meanwhile
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # handed to the awaiting task, raised there
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="paperdrop-arxiv", daemon=True).start()
    return future


class ArxivSource:
    name = "arXiv"

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last: float | None = None  # clock() when the last request ended

    def _fetch(self, search: arxiv.Search, page_size: int) -> list[arxiv.Result]:
        """Blocking: run `search` with the package (in a worker thread)."""
        import arxiv

        s = self._settings
        client = _client_class()(
            s.arxiv_api_url, page_size=page_size, delay=s.arxiv_delay, timeout=s.http_timeout
        )
        results: list[arxiv.Result] = []
        try:
            results.extend(client.results(search))
        except arxiv.UnexpectedEmptyPageError:
            # arXiv counts unknown ids in totalResults, so the package asks for a page that
            # does not exist: what came back before that is the whole answer.
            pass
        finally:
            client.close()
        return results

    async def _wait_turn(self) -> None:
        if self._last is None:
            return
        wait = self._last + self._settings.arxiv_delay - self._clock()
        if wait > 0:
            await self._sleep(wait)

    async def _run(
        self, search: arxiv.Search, page_size: int, *, empty_on_400: bool = False
    ) -> list[arxiv.Result]:
        """One search, spaced from every other request of this instance, with backoff.

        `empty_on_400`: arXiv answers ids it rejects with HTTP 400 and an Error entry,
        which for a lookup means "no such papers", not a failed source.
        """
        import arxiv
        import requests

        attempts = self._settings.http_retries + 1
        first_backoff = 2 * self._settings.arxiv_delay
        async with self._lock:
            for attempt in range(attempts):
                # A refused or timed-out connection is not arXiv asking us to slow down:
                # retry it after the usual spacing, not the long 429/503 backoff.
                network = False
                await self._wait_turn()
                try:
                    return await in_daemon_thread(self._fetch, search, page_size)
                except arxiv.HTTPError as exc:
                    if exc.status == 400 and empty_on_400:
                        return []
                    if exc.status not in RETRY_STATUSES:
                        raise SourceError(self.name, f"HTTP {exc.status}") from None
                    limited = " rate limited" if exc.status == 429 else ""
                    reason = after_attempts(f"HTTP {exc.status}{limited}", attempts)
                except requests.Timeout:
                    reason = after_attempts("timed out", attempts)
                    network = True
                except requests.ConnectionError as exc:
                    reason = after_attempts("connection failed", attempts)
                    reason += f" ({type(exc).__name__})"
                    network = True
                except requests.RequestException as exc:
                    raise SourceError(self.name, f"request failed ({type(exc).__name__})") from None
                finally:
                    self._last = self._clock()
                if attempt < attempts - 1:
                    first = 1.0 if network else first_backoff
                    wait = backoff(attempt, first=first, cap=MAX_BACKOFF)
                    log.info(
                        "arXiv: attempt %d failed (%s); retrying in %.0f s",
                        attempt + 1,
                        reason,
                        wait,
                    )
                    await self._sleep(wait)
        raise SourceError(self.name, reason)

    async def recent(
        self, categories: list[str], start: dt.date, end: dt.date, max_results: int
    ) -> list[Paper]:
        """Papers submitted in [start, end] in any of `categories`, newest first."""
        import arxiv

        search = arxiv.Search(
            query=build_query(categories, start, end),
            max_results=max_results,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        results = await self._run(search, min(max_results, ARXIV_PAGE_MAX))
        return [p for r in results if (p := result_to_paper(r)) is not None]

    async def by_authors(
        self, authors: list[str], start: dt.date, end: dt.date, max_results: int
    ) -> list[Paper]:
        """Papers submitted in [start, end] by any of `authors` (arXiv's author search:
        every word of the name), newest first."""
        import arxiv

        names = [" ".join(_AUTHOR_WORD.findall(clean_author(a))) for a in authors]
        names = [n for n in dict.fromkeys(names) if n]
        if not names:
            return []
        dates = f"submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]"
        query = "(" + " OR ".join(f'au:"{n}"' for n in names) + ") AND " + dates
        search = arxiv.Search(
            query=query,
            max_results=max_results,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        results = await self._run(search, min(max_results, ARXIV_PAGE_MAX))
        return [p for r in results if (p := result_to_paper(r)) is not None]

    async def lookup(self, paper_ids: list[str]) -> dict[str, Paper]:
        """Papers by id (bare id -> Paper). Ids arXiv does not know, or malformed, are absent."""
        import arxiv

        wanted: list[str] = []
        for raw in paper_ids:
            try:
                wanted.append(parse_arxiv_id(raw))
            except InvalidPaperId:
                log.info("arXiv: skipped malformed id %r", raw[:40])
        wanted = list(dict.fromkeys(wanted))
        found: dict[str, Paper] = {}
        for i in range(0, len(wanted), ID_BATCH):
            batch = wanted[i : i + ID_BATCH]
            search = arxiv.Search(id_list=batch, max_results=len(batch))
            for r in await self._run(search, len(batch), empty_on_400=True):
                paper = result_to_paper(r)
                if paper is not None and paper.paper_id in batch:
                    found.setdefault(paper.paper_id, paper)
        return {pid: found[pid] for pid in wanted if pid in found}
