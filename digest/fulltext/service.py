"""A paper's full text, read once for everyone: the Store's cache, else arXiv.

    read_paper("2605.06663", version=None, settings=…, store=…)  -> FullText | Missing

Order: arXiv's HTML rendering, else its PDF (parsed in a child process with a time
limit), else `Missing` with the reason (the card says it). Results are cached in the
Store, compressed, keyed by (bare id, version) — "latest" for an unversioned request —
for 30 days; a failure for less (a day when it will not change soon, minutes when arXiv
was only unreachable), so a burst of chats never hammers arXiv. Concurrent readers of
one paper share one fetch: in this process through one task, across processes through a
short lease in the Store (the others wait for the cached result).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
import secrets
from collections.abc import Callable

from digest.errors import StoreError
from digest.fulltext.fetch import HTML_MAX_BYTES, PDF_MAX_BYTES, ArxivWeb, FetchFailed
from digest.fulltext.latexml import NotLaTeXML, is_no_html_page, parse_latexml
from digest.fulltext.model import FullText, Missing, MissingReason, pack, unpack
from digest.fulltext.pdfproc import Deadline, PdfTimeout, PdfUnreadable, extract_pages
from digest.fulltext.pdftext import structure_pdf
from digest.fulltext.spacing import Sleep
from digest.settings import Settings
from digest.store.base import Store

__all__ = [
    "FULLTEXT_NS",
    "FULLTEXT_TTL",
    "cached_paper",
    "html_url",
    "pdf_url",
    "read_paper",
]

log = logging.getLogger(__name__)

FULLTEXT_NS = "fulltext"
LEASE_NS = "fulltext-lease"
FULLTEXT_TTL = dt.timedelta(days=30)
_MISSING_TTL: dict[MissingReason, dt.timedelta] = {
    "no_source": dt.timedelta(days=1),
    "too_large": dt.timedelta(days=1),
    "unreadable": dt.timedelta(days=1),
    "pdf_timeout": dt.timedelta(days=1),
    "withdrawn": dt.timedelta(days=7),
    "unreachable": dt.timedelta(minutes=10),
    "rate_limited": dt.timedelta(minutes=10),
}
LEASE_POLL = 1.0  # seconds between two looks at the cache while another process reads
MIN_WORDS = 150  # less text than this in a PDF: a scan, or nothing readable
_WITHDRAWN = re.compile(
    r"\b(?:has been|was|is)\s+withdrawn\b|\bwithdrawn by the authors?\b|\bArticle withdrawn\b",
    re.IGNORECASE,
)

Now = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key(bare: str, version: int | None) -> str:
    return f"{bare}|v{version}" if version else f"{bare}|latest"


def html_url(settings: Settings, bare: str, version: int | None) -> str:
    return f"{settings.arxiv_html_url}{bare}{f'v{version}' if version else ''}"


def pdf_url(settings: Settings, bare: str, version: int | None) -> str:
    return f"{settings.arxiv_pdf_url}{bare}{f'v{version}' if version else ''}"


async def cached_paper(store: Store, bare: str, version: int | None) -> FullText | Missing | None:
    """What the cache holds for this paper, without asking arXiv."""
    try:
        raw = await store.cache_get(FULLTEXT_NS, _key(bare, version))
    except StoreError:
        return None
    return unpack(raw) if raw is not None else None


async def _store(store: Store, bare: str, version: int | None, value: FullText | Missing) -> None:
    ttl = FULLTEXT_TTL if isinstance(value, FullText) else _MISSING_TTL.get(value.reason)
    if ttl is None:
        return  # "off", "late": nothing was learnt about the paper
    packed = pack(value)
    keys = {_key(bare, version)}
    if isinstance(value, FullText) and value.version:
        keys.add(_key(bare, value.version))
    try:
        for key in keys:
            await store.cache_set(FULLTEXT_NS, key, packed, ttl)
    except StoreError as exc:
        log.warning("full text of %s not cached: %s", bare, exc)


# Reads running in this process, by cache key: concurrent askers share one.
_INFLIGHT: dict[str, asyncio.Task[FullText | Missing]] = {}


async def read_paper(
    bare: str,
    version: int | None = None,
    *,
    settings: Settings,
    store: Store,
    web: ArxivWeb | None = None,
    sleep: Sleep = asyncio.sleep,
    now: Now = _utc_now,
    pdf_deadline: Deadline | None = None,
) -> FullText | Missing:
    """The paper's full text (cached, else fetched once for everyone), or why not."""
    hit = await cached_paper(store, bare, version)
    if hit is not None:
        return hit
    key = _key(bare, version)
    loop = asyncio.get_running_loop()
    task = _INFLIGHT.get(key)
    if task is None or task.done() or task.get_loop() is not loop:
        task = loop.create_task(
            _read_once(bare, version, settings, store, web, sleep, now, pdf_deadline)
        )
        _INFLIGHT[key] = task
        task.add_done_callback(functools.partial(_forget, key))
    # shield: one asker giving up must not cancel the read the others wait for.
    return await asyncio.shield(task)


def _forget(key: str, task: asyncio.Task[FullText | Missing]) -> None:
    if _INFLIGHT.get(key) is task:
        del _INFLIGHT[key]


async def _read_once(
    bare: str,
    version: int | None,
    settings: Settings,
    store: Store,
    web: ArxivWeb | None,
    sleep: Sleep,
    now: Now,
    pdf_deadline: Deadline | None,
) -> FullText | Missing:
    key = _key(bare, version)
    owner = secrets.token_hex(8)
    lease = dt.timedelta(seconds=2 * settings.fulltext_timeout + settings.pdf_parse_seconds + 30)
    # Another process may be reading it: wait for its result rather than ask arXiv again.
    waited = 0.0
    while not await _take_lease(store, key, owner, lease):
        await sleep(LEASE_POLL)
        waited += LEASE_POLL
        hit = await cached_paper(store, bare, version)
        if hit is not None:
            return hit
        if waited > lease.total_seconds():
            break  # its holder died: the lease is gone by now, or we read it ourselves
    try:
        own = web is None
        client = web or ArxivWeb(settings, sleep=sleep)
        try:
            result = await _fetch(bare, version, settings, client, now, pdf_deadline)
        finally:
            if own:
                await client.aclose()
        await _store(store, bare, version, result)
        return result
    finally:
        with contextlib.suppress(StoreError):  # it expires anyway
            await store.cache_delete(LEASE_NS, key)


async def _take_lease(store: Store, key: str, owner: str, ttl: dt.timedelta) -> bool:
    try:
        return await store.cache_add(LEASE_NS, key, owner, ttl)
    except StoreError:
        return True  # no shared Store: read it here


async def _fetch(
    bare: str,
    version: int | None,
    settings: Settings,
    web: ArxivWeb,
    now: Now,
    pdf_deadline: Deadline | None,
) -> FullText | Missing:
    html_reason = ""
    try:
        page = await web.get(html_url(settings, bare, version), max_bytes=HTML_MAX_BYTES)
    except FetchFailed as exc:
        if exc.reason != "too_large":
            return _missing(bare, exc.reason, f"HTML: {exc.detail}")
        html_reason = "HTML too large"
    else:
        if page.status == 200 and not is_no_html_page(page.text):
            try:
                return await asyncio.to_thread(
                    parse_latexml,
                    page.text,
                    paper_id=bare,
                    page_url=page.url,
                    fetched_at=now(),
                    version=version,
                )
            except NotLaTeXML:
                if _WITHDRAWN.search(page.text[:50_000]):
                    return _missing(bare, "withdrawn", "withdrawn")
                html_reason = "the HTML page is not a LaTeXML rendering"
        elif page.status == 404 or is_no_html_page(page.text):
            html_reason = "no HTML rendering"
        else:
            html_reason = f"HTML: HTTP {page.status}"
    return await _fetch_pdf(bare, version, settings, web, now, pdf_deadline, html_reason)


async def _fetch_pdf(
    bare: str,
    version: int | None,
    settings: Settings,
    web: ArxivWeb,
    now: Now,
    pdf_deadline: Deadline | None,
    html_reason: str,
) -> FullText | Missing:
    try:
        doc = await web.get(pdf_url(settings, bare, version), max_bytes=PDF_MAX_BYTES)
    except FetchFailed as exc:
        return _missing(bare, exc.reason, f"{html_reason}; PDF: {exc.detail}")
    if doc.status != 200 or not doc.body.startswith(b"%PDF"):
        if _WITHDRAWN.search(doc.text[:50_000]):
            return _missing(bare, "withdrawn", "withdrawn")
        reason: MissingReason = "no_source" if doc.status in (404, 410) else "unreadable"
        return _missing(bare, reason, f"{html_reason}; PDF: HTTP {doc.status}")
    try:
        pages = await extract_pages(
            doc.body,
            seconds=settings.pdf_parse_seconds,
            memory_mb=settings.pdf_parse_memory_mb,
            deadline=pdf_deadline,
        )
    except PdfTimeout as exc:
        log.warning("full text of %s: PDF parser stopped (%s); using the abstract", bare, exc)
        return Missing(reason="pdf_timeout", detail=str(exc))
    except PdfUnreadable as exc:
        return _missing(bare, "unreadable", f"PDF: {exc}")
    text = structure_pdf(pages, paper_id=bare, url=doc.url, fetched_at=now(), version=version)
    if text.words < MIN_WORDS:
        return _missing(bare, "unreadable", "PDF: almost no text (a scan?)")
    return text


def _missing(bare: str, reason: MissingReason, detail: str) -> Missing:
    log.info("full text of %s unavailable (%s): %s", bare, reason, detail)
    return Missing(reason=reason, detail=detail)
