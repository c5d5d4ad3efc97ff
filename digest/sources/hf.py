"""Hugging Face Daily Papers: the day's list and single papers, parsed tolerantly.

Real answers are uneven: any optional field may be missing or null, and an entry that
cannot be read is skipped rather than sinking the day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from digest.cleaning import clean_source_text
from digest.errors import InvalidPaperId, SourceError
from digest.ids import parse_arxiv_id
from digest.models import Paper
from digest.settings import Settings
from digest.sources.github import code_promised, find_github_repo, normalize_repo_url
from digest.sources.http import get_json

__all__ = ["DAILY_LIMIT", "HuggingFaceSource", "parse_daily", "parse_paper"]

log = logging.getLogger(__name__)

DAILY_LIMIT = 100  # the API's maximum page size for daily_papers
_SPACE = re.compile(r"\s+")


def _text(value: object) -> str:
    return _SPACE.sub(" ", value).strip() if isinstance(value, str) else ""


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _http_url(value: object) -> str | None:
    if isinstance(value, str) and value.strip().lower().startswith(("https://", "http://")):
        return value.strip()
    return None


def parse_paper(
    paper: Mapping[str, Any], item: Mapping[str, Any] | None = None, day: dt.date | None = None
) -> Paper | None:
    """One HF paper (`paper` object, with its daily `item` wrapper if any) as a Paper.

    None when it has no arXiv id or no title. Raises ValueError/TypeError on garbage.
    """
    item = item or {}
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        return None
    try:
        paper_id = parse_arxiv_id(raw_id)
    except InvalidPaperId:
        return None  # HF also lists papers that are not on arXiv
    title = _text(paper.get("title")) or _text(item.get("title"))
    if not title:
        return None
    authors = paper.get("authors")
    abstract = _text(paper.get("summary")) or _text(item.get("summary"))
    repo = paper.get("githubRepo")
    keywords = paper.get("ai_keywords")
    summary = _text(paper.get("ai_summary"))
    return Paper(
        paper_id=paper_id,
        # Cleaned here, once: every renderer, prompt and /paper card reads plain text.
        title=clean_source_text(title),
        abstract=clean_source_text(abstract),
        authors=[
            name
            for a in (authors if isinstance(authors, list) else [])
            if isinstance(a, dict) and (name := _text(a.get("name")))
        ],
        published=_date(paper.get("publishedAt")) or _date(item.get("publishedAt")),
        listed=_date(paper.get("submittedOnDailyAt"))
        or _date(item.get("submittedOnDailyAt"))
        or day,
        upvotes=_int(paper.get("upvotes")),
        num_comments=_int(item.get("numComments")) if item else _int(paper.get("numComments")),
        ai_summary=clean_source_text(summary) or None,
        keywords=[
            k for k in (_text(k) for k in (keywords if isinstance(keywords, list) else [])) if k
        ],
        github_repo=normalize_repo_url(repo) if isinstance(repo, str) else None,
        repo_in_text=find_github_repo(abstract),
        repo_promised=code_promised(abstract),
        project_page=_http_url(paper.get("projectPage")),
        withdrawn=bool(paper.get("withdrawnAt")),
        on_hf=True,
        sources=["hf"],
    )


def parse_daily(items: object, day: dt.date | None = None) -> list[Paper]:
    """Papers of a `GET /api/daily_papers` answer; unreadable entries are skipped."""
    if not isinstance(items, list):
        return []
    papers: list[Paper] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        paper = item.get("paper")
        try:
            parsed = parse_paper(paper, item, day) if isinstance(paper, dict) else None
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError too
            log.warning("Hugging Face: skipped daily entry %d (%s)", index, type(exc).__name__)
            continue
        if parsed is not None:
            papers.append(parsed)
    return papers


class HuggingFaceSource:
    name = "Hugging Face"

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._client = client
        self._sleep = sleep
        self._base = settings.hf_base_url.rstrip("/")

    async def _get(self, path: str, params: dict[str, str] | None, not_found_ok: bool) -> Any:
        return await get_json(
            self._client,
            f"{self._base}{path}",
            source=self.name,
            params=params,
            retries=self._settings.http_retries,
            max_retry_after=self._settings.max_retry_after,
            sleep=self._sleep,
            not_found_ok=not_found_ok,
        )

    async def daily(self, day: dt.date) -> list[Paper]:
        """The Daily Papers list of `day` (empty on days with none, e.g. weekends)."""
        data = await self._get(
            "/api/daily_papers", {"date": day.isoformat(), "limit": str(DAILY_LIMIT)}, False
        )
        if not isinstance(data, list):
            raise SourceError(self.name, "unexpected response shape (expected a list)")
        return parse_daily(data, day)

    async def paper(self, paper_id: str) -> Paper | None:
        """One paper by arXiv id; None when HF has not indexed it (404)."""
        bare = parse_arxiv_id(paper_id)
        data = await self._get(f"/api/papers/{bare}", None, True)
        if data is None:
            return None
        if not isinstance(data, dict):
            raise SourceError(self.name, "unexpected response shape (expected an object)")
        try:
            return parse_paper(data)
        except (ValueError, TypeError) as exc:
            raise SourceError(self.name, f"unreadable paper {bare}") from exc
