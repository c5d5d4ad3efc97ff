"""GitHub: repo URLs in free text, and repo facts (stars, last push) from the REST API.

Without a token GitHub allows 60 requests an hour, so answers are cached in the Store
and a rate limit stops the batch at once instead of waiting for the reset.

Velocity is what people follow, so the Store also keeps each repo's star count per day
(`HISTORY_NS`, the last `HISTORY_DAYS` days): after `repos()`, `deltas` holds, per repo
URL, the stars gained since the latest earlier day's count and how many days back that
was ("+120 stars since yesterday").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable

import httpx

from digest.errors import SourceError, StoreError
from digest.models import RepoInfo
from digest.settings import Settings
from digest.sources.http import RateLimited, get_json
from digest.store.base import Store

__all__ = ["GitHubSource", "code_promised", "find_github_repo", "normalize_repo_url"]

log = logging.getLogger(__name__)

CACHE_NS = "github"
CACHE_TTL = dt.timedelta(hours=6)
HISTORY_NS = "repo_history"
HISTORY_DAYS = 14  # daily star counts kept per repo
HISTORY_TTL = dt.timedelta(days=30)  # a repo no brief mentions for a month is forgotten
CONCURRENCY = 4
API_VERSION = "2022-11-28"

# First path segments of github.com that are site pages, not owners.
_NOT_OWNERS = frozenset(
    {
        "about", "apps", "collections", "contact", "customer-stories", "enterprise",
        "events", "explore", "features", "login", "marketplace", "new", "notifications",
        "orgs", "organizations", "pricing", "pulls", "issues", "search", "security",
        "settings", "site", "sponsors", "team", "topics", "trending", "users",
    }
)  # fmt: skip
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_URL = re.compile(
    rf"^(?:(?:https?|git)://|git@)?(?:www\.)?github\.com[/:]({_OWNER})/({_NAME})(?:[/?#].*)?$",
    re.IGNORECASE,
)
# In prose: not part of a longer host (gist.github.com, mygithub.com) or word.
_IN_TEXT = re.compile(
    rf"(?<![\w.@-])(?:(?:https?|git)://)?(?:www\.)?github\.com/{_OWNER}/{_NAME}", re.IGNORECASE
)


def normalize_repo_url(url: str) -> str | None:
    """`github.com/Owner/Repo.git/tree/main` -> `https://github.com/Owner/Repo`.

    None when `url` is not a link to a repository (a profile, a site page, another host).
    """
    m = _URL.match(url.strip())
    if m is None:
        return None
    owner, name = m.group(1), m.group(2)
    # Prose often ends a link with a full stop; a repo name never ends with ".git" either.
    name = name.rstrip(".")
    if name.lower().endswith(".git"):
        name = name[:-4]
    if not name or name in {".", ".."} or owner.lower() in _NOT_OWNERS:
        return None
    return f"https://github.com/{owner}/{name}"


def find_github_repo(text: str) -> str | None:
    """The first github.com/owner/repo link in free text, normalised; None if there is none."""
    for m in _IN_TEXT.finditer(text):
        repo = normalize_repo_url(m.group(0))
        if repo is not None:
            return repo
    return None


# What authors write when the repository they link holds no code yet.
_PROMISED = re.compile(
    r"\b(?:coming soon|available soon|soon (?:be )?(?:released|available|public)"
    r"|(?:will|would) be (?:made )?(?:publicly |fully )?"
    r"(?:released|available|open[- ]?sourced|public|published)"
    r"|to be (?:released|open[- ]?sourced)|(?:upon|after) (?:acceptance|publication))\b",
    re.IGNORECASE,
)


def code_promised(text: str) -> bool:
    """Whether `text` says the code is still to come ("Code is coming soon at …")."""
    return bool(_PROMISED.search(text))


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _parse_history(raw: str | None) -> dict[dt.date, int]:
    """A stored `{"2026-05-07": 1234, ...}`; anything unreadable is an empty history."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    out: dict[dt.date, int] = {}
    if isinstance(data, dict):
        for day, stars in data.items():
            try:
                d = dt.date.fromisoformat(str(day))
            except ValueError:
                continue
            if isinstance(stars, int) and not isinstance(stars, bool):
                out[d] = stars
    return out


def parse_repo(data: object, fallback_url: str, fetched_at: dt.datetime) -> RepoInfo:
    """A `GET /repos/{owner}/{repo}` answer as RepoInfo; SourceError if it is not one."""
    if not isinstance(data, dict):
        raise SourceError("GitHub", "unexpected response shape")
    stars = data.get("stargazers_count")
    full_name = data.get("full_name")
    if not isinstance(stars, int) or isinstance(stars, bool) or not isinstance(full_name, str):
        raise SourceError("GitHub", "unexpected response shape")
    html_url = data.get("html_url")
    url = (normalize_repo_url(html_url) if isinstance(html_url, str) else None) or fallback_url
    description = data.get("description")
    return RepoInfo(
        full_name=full_name,
        url=url,
        stars=stars,
        pushed_at=_parse_time(data.get("pushed_at")),
        description=description.strip() or None if isinstance(description, str) else None,
        archived=data.get("archived") is True,
        fetched_at=fetched_at,
        size=size
        if isinstance(size := data.get("size"), int) and not isinstance(size, bool)
        else None,
    )


class GitHubSource:
    name = "GitHub"

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        *,
        store: Store | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._settings = settings
        self._client = client
        self._store = store
        self._sleep = sleep
        self._now = now
        self._base = settings.github_api_url.rstrip("/")
        # Reasons of the last `repos` call's failures, by normalised URL (for reports).
        self.failures: dict[str, str] = {}
        # Stars gained since the previous day's count and over how many days, by normalised
        # URL, for the repos of the last `repos` call that have an earlier count.
        self.deltas: dict[str, tuple[int, int]] = {}

    def __repr__(self) -> str:
        return f"GitHubSource(api={self._base!r}, token={'set' if self._token else 'none'})"

    @property
    def _token(self) -> str | None:
        token = self._settings.github_token
        return token.get_secret_value() or None if token is not None else None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    async def _cached(self, key: str) -> tuple[bool, RepoInfo | None]:
        """(hit, value): a cached None means GitHub said 404."""
        if self._store is None:
            return False, None
        raw = await self._store.cache_get(CACHE_NS, key)
        if raw is None:
            return False, None
        if raw == "null":
            return True, None
        try:
            return True, RepoInfo.model_validate_json(raw)
        except ValueError:
            return False, None  # a corrupt or outdated entry is a miss

    async def repo(self, url: str) -> RepoInfo | None:
        """Facts of the repo at `url`; None when it is not a repo URL or GitHub has no such repo."""
        norm = normalize_repo_url(url)
        if norm is None:
            return None
        owner_name = norm.removeprefix("https://github.com/")
        key = owner_name.lower()
        hit, cached = await self._cached(key)
        if hit:
            return cached
        data = await get_json(
            self._client,
            f"{self._base}/repos/{owner_name}",
            source=self.name,
            headers=self._headers(),
            retries=self._settings.http_retries,
            max_retry_after=self._settings.max_retry_after,
            sleep=self._sleep,
            not_found_ok=True,
        )
        info = None if data is None else parse_repo(data, norm, self._now())
        if self._store is not None:
            value = "null" if info is None else info.model_dump_json()
            await self._store.cache_set(CACHE_NS, key, value, CACHE_TTL)
        return info

    async def velocity(self, info: RepoInfo) -> tuple[int, int] | None:
        """Record `info`'s star count for the day it was fetched; return the stars gained
        since the latest earlier day's count and how many days that was (None: no count
        before that day, or no Store)."""
        if self._store is None:
            return None
        key = info.full_name.lower()
        day = info.fetched_at.date()
        try:
            raw = await self._store.cache_get(HISTORY_NS, key)
            history = _parse_history(raw)
            earlier = [d for d in history if d < day]
            delta = None
            if earlier:
                last = max(earlier)
                delta = (info.stars - history[last], (day - last).days)
            history[day] = info.stars
            kept = dict(sorted(history.items())[-HISTORY_DAYS:])
            value = json.dumps({d.isoformat(): n for d, n in kept.items()})
            await self._store.cache_set(HISTORY_NS, key, value, HISTORY_TTL)
        except StoreError as exc:
            log.warning("GitHub: star history of %s not kept: %s", info.full_name, exc)
            return None
        return delta

    async def repos(self, urls: Iterable[str]) -> dict[str, RepoInfo]:
        """Facts of several repos, keyed by normalised URL; unknown repos are absent.

        At most CONCURRENCY requests run at once; a rate limit stops the rest. Raises
        SourceError only when every request failed (404s and cache hits are answers).
        """
        wanted = list(dict.fromkeys(n for u in urls if (n := normalize_repo_url(u))))
        self.failures = {}
        self.deltas = {}
        found: dict[str, RepoInfo] = {}
        answered = 0
        limited: RateLimited | None = None
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(norm: str) -> None:
            nonlocal answered, limited
            async with gate:
                if limited is not None:
                    self.failures[norm] = limited.reason
                    return
                try:
                    info = await self.repo(norm)
                except RateLimited as exc:
                    limited = exc
                    self.failures[norm] = exc.reason
                    return
                except SourceError as exc:
                    self.failures[norm] = exc.reason
                    return
            answered += 1
            if info is not None:
                found[norm] = info
                delta = await self.velocity(info)
                if delta is not None:
                    self.deltas[norm] = delta

        await asyncio.gather(*(one(n) for n in wanted))
        if wanted and answered == 0:
            first = limited or SourceError(self.name, next(iter(self.failures.values())))
            raise SourceError(self.name, f"{first.reason} ({len(wanted)} repos not checked)")
        if self.failures:
            log.warning("GitHub: %d of %d repos not checked", len(self.failures), len(wanted))
        return {n: found[n] for n in wanted if n in found}
