"""GitHub: repo URLs in text, repo facts, 404, rate limits, bounded concurrency, cache."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from digest.errors import SourceError
from digest.models import Platform, Subscription
from digest.settings import Settings
from digest.sources.github import (
    CACHE_NS,
    CACHE_TTL,
    CONCURRENCY,
    HISTORY_DAYS,
    HISTORY_NS,
    HISTORY_TTL,
    GitHubSource,
    find_github_repo,
    normalize_repo_url,
)
from digest.store.base import Store
from tests.conftest import FakeClock

NOW = dt.datetime(2026, 5, 8, 6, 0, tzinfo=dt.UTC)
TOKEN = "ghp_test_token_never_shown"


def repo_json(owner: str, name: str, stars: int = 1234, **extra: Any) -> dict[str, Any]:
    """A trimmed `GET /repos/{owner}/{repo}` answer, in GitHub's real shape."""
    data: dict[str, Any] = {
        "id": 987654321,
        "node_id": "R_kgDOExample",
        "name": name,
        "full_name": f"{owner}/{name}",
        "private": False,
        "owner": {"login": owner, "id": 1, "type": "Organization"},
        "html_url": f"https://github.com/{owner}/{name}",
        "description": "Code for the paper ",
        "fork": False,
        "url": f"https://api.github.com/repos/{owner}/{name}",
        "created_at": "2026-04-30T08:12:00Z",
        "updated_at": "2026-05-08T01:00:00Z",
        "pushed_at": "2026-05-07T22:41:09Z",
        "homepage": None,
        "stargazers_count": stars,
        "watchers_count": stars,
        "language": "Python",
        "forks_count": 12,
        "archived": False,
        "disabled": False,
        "open_issues_count": 3,
        "license": {"key": "apache-2.0", "name": "Apache License 2.0"},
        "topics": ["llm"],
        "default_branch": "main",
        "subscribers_count": 9,
    }
    data.update(extra)
    return data


class MemoryStore(Store):
    """The cache primitives in memory; the rest is not needed here."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.ttls: dict[tuple[str, str], dt.timedelta | None] = {}

    async def cache_get(self, namespace: str, key: str) -> str | None:
        return self.values.get((namespace, key))

    async def cache_set(
        self, namespace: str, key: str, value: str, ttl: dt.timedelta | None = None
    ) -> None:
        self.values[(namespace, key)] = value
        self.ttls[(namespace, key)] = ttl

    async def cache_add(self, namespace: str, key: str, value: str, ttl: dt.timedelta) -> bool:
        if (namespace, key) in self.values:
            return False
        await self.cache_set(namespace, key, value, ttl)
        return True

    async def cache_delete(self, namespace: str, key: str) -> None:
        self.values.pop((namespace, key), None)

    async def seen(self, reader: str) -> set[str]:
        raise NotImplementedError

    async def mark_seen(self, reader: str, paper_ids: Iterable[str], ttl: dt.timedelta) -> None:
        raise NotImplementedError

    async def save_subscription(self, sub: Subscription) -> None:
        raise NotImplementedError

    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None:
        raise NotImplementedError

    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        raise NotImplementedError

    async def list_subscriptions(self) -> list[Subscription]:
        raise NotImplementedError

    async def delivered_parts(self, chat_key: str, day: dt.date) -> dict[int, str]:
        raise NotImplementedError

    async def mark_delivered(self, chat_key: str, day: dt.date, part: int, ref: str) -> None:
        raise NotImplementedError

    async def acquire_lock(self, name: str, owner: str, ttl: dt.timedelta) -> bool:
        raise NotImplementedError

    async def release_lock(self, name: str, owner: str) -> None:
        raise NotImplementedError

    async def drop_lock(self, name: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def settings(token: str | None = None) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        github_api_url="https://gh.test/",
        github_token=SecretStr(token) if token else None,
        http_retries=1,
    )


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


Handler = Callable[[httpx.Request], Any]


def source(
    handler: Handler, *, token: str | None = None, store: Store | None = None
) -> tuple[GitHubSource, httpx.AsyncClient, Sleeps]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    sleeps = Sleeps()
    gh = GitHubSource(settings(token), client, store=store, sleep=sleeps, now=lambda: NOW)
    return gh, client, sleeps


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("github.com/Owner/Repo.git/tree/main", "https://github.com/Owner/Repo"),
        ("https://github.com/allenai/EMO", "https://github.com/allenai/EMO"),
        ("http://www.github.com/a-b/c.d_e/", "https://github.com/a-b/c.d_e"),
        ("https://github.com/showlab/Sparkle#readme", "https://github.com/showlab/Sparkle"),
        ("git@github.com:owner/repo.git", "https://github.com/owner/repo"),
        ("https://github.com/owner/repo.", "https://github.com/owner/repo"),
        ("https://github.com/owner", None),
        ("https://github.com/features/copilot", None),
        ("https://github.com/orgs/allenai/repositories", None),
        ("https://gitlab.com/owner/repo", None),
        ("https://gist.github.com/owner/abc123", None),
        ("https://owner.github.io/repo", None),
        ("", None),
    ],
)
def test_normalize_repo_url(url: str, expected: str | None) -> None:
    assert normalize_repo_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Code is available at https://github.com/zhengkid/AutoTTS.",
            "https://github.com/zhengkid/AutoTTS",
        ),
        (
            "See github.com/features/actions and (github.com/xxyQwQ/StraTA) for code",
            "https://github.com/xxyQwQ/StraTA",
        ),
        ("Our gist https://gist.github.com/a/b is not a repo", None),
        ("No code released.", None),
        ("mirror at notgithub.com/a/b", None),
    ],
)
def test_find_github_repo(text: str, expected: str | None) -> None:
    assert find_github_repo(text) == expected


async def test_repo_reads_the_answer_and_sends_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=repo_json("allenai", "EMO", stars=321))

    gh, client, _ = source(handler, token=TOKEN)
    async with client:
        info = await gh.repo("github.com/allenai/EMO.git")
    assert info is not None
    assert info.full_name == "allenai/EMO" and info.url == "https://github.com/allenai/EMO"
    assert info.stars == 321 and not info.archived
    assert info.pushed_at == dt.datetime(2026, 5, 7, 22, 41, 9, tzinfo=dt.UTC)
    assert info.description == "Code for the paper" and info.fetched_at == NOW
    assert seen[0].url.path == "/repos/allenai/EMO"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert TOKEN not in repr(gh)


async def test_no_token_no_authorization_header_and_404_is_none() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"message": "Not Found"})

    gh, client, _ = source(handler)
    async with client:
        assert await gh.repo("https://github.com/gone/away") is None
        assert await gh.repo("https://example.org/not/github") is None
    assert len(seen) == 1  # the non-GitHub URL costs no request
    assert "Authorization" not in seen[0].headers


async def test_unexpected_answer_is_a_source_error() -> None:
    gh, client, _ = source(lambda r: httpx.Response(200, json={"message": "hm"}))
    async with client:
        with pytest.raises(SourceError, match="GitHub: unexpected response shape"):
            await gh.repo("https://github.com/a/b")


async def test_rate_limit_stops_the_batch_without_waiting() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1778231640"},
            json={"message": "API rate limit exceeded for 203.0.113.7."},
        )

    urls = [f"https://github.com/owner/repo{i}" for i in range(10)]
    gh, client, sleeps = source(handler, token=TOKEN)
    async with client:
        with pytest.raises(SourceError) as info:
            await gh.repos(urls)
    assert "HTTP 403 rate limited" in info.value.reason
    assert "10 repos not checked" in info.value.reason
    assert TOKEN not in str(info.value)
    assert len(seen) <= CONCURRENCY  # the rest were not even tried
    assert sleeps.calls == []
    assert set(gh.failures) == set(urls)


async def test_repos_keeps_answers_when_some_fail() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[1]
        if name == "gone":
            return httpx.Response(404, json={"message": "Not Found"})
        if name == "broken":
            return httpx.Response(502, text="bad gateway")
        return httpx.Response(200, json=repo_json("o", name, stars=len(name)))

    gh, client, sleeps = source(handler)
    urls = [
        "github.com/o/alpha.git",
        "https://github.com/o/alpha/tree/main",  # the same repo
        "https://github.com/o/gone",
        "https://github.com/o/broken",
        "https://github.com/o/beta",
    ]
    async with client:
        found = await gh.repos(urls)
    assert list(found) == ["https://github.com/o/alpha", "https://github.com/o/beta"]
    assert found["https://github.com/o/beta"].stars == 4
    assert gh.failures == {"https://github.com/o/broken": "HTTP 502 after 2 attempts"}
    assert sleeps.calls == [1.0]


async def test_repos_runs_at_most_four_requests_at_once() -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)  # let the others start if they may
        in_flight -= 1
        name = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json=repo_json("o", name))

    gh, client, _ = source(handler)
    urls = [f"https://github.com/o/r{i}" for i in range(12)]
    async with client:
        found = await gh.repos(urls)
    assert len(found) == 12
    assert 1 < peak <= CONCURRENCY


async def test_answers_are_cached_in_the_store() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/gone"):
            return httpx.Response(404, json={"message": "Not Found"})
        return httpx.Response(200, json=repo_json("Org", "Tool", stars=77))

    store = MemoryStore()
    gh, client, _ = source(handler, store=store)
    async with client:
        first = await gh.repos(["https://github.com/Org/Tool", "https://github.com/Org/gone"])
    assert sorted(seen) == ["/repos/Org/Tool", "/repos/Org/gone"]
    assert store.ttls[(CACHE_NS, "org/tool")] == CACHE_TTL == dt.timedelta(hours=6)

    # A new source instance (another run) sharing the store asks GitHub nothing.
    def offline(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request {request.url}")

    gh2, client2, _ = source(offline, store=store)
    async with client2:
        again = await gh2.repos(["github.com/org/tool", "https://github.com/Org/gone"])
        assert await gh2.repo("https://github.com/Org/gone") is None
    assert again["https://github.com/org/tool"] == first["https://github.com/Org/Tool"]
    assert "https://github.com/Org/gone" not in again


# --- star velocity: yesterday's count kept in the Store ---------------------------------


def counting_source(store: Store, clock: FakeClock, stars: list[int]) -> GitHubSource:
    answers = iter(stars)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=repo_json("shengshu-ai", "minWM", stars=next(answers)))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return GitHubSource(settings(), client, store=store, now=clock.now)


async def next_day(store: Store, clock: FakeClock, days: int = 1) -> None:
    """Time passes: the 6-hour answer cache has expired (Redis expires by its own clock)."""
    clock.advance(days * 24 * 3600)
    await store.cache_delete(CACHE_NS, "shengshu-ai/minwm")


async def test_star_velocity_since_the_previous_day(store: Store, fake_clock: FakeClock) -> None:
    url = "https://github.com/shengshu-ai/minWM"
    gh = counting_source(store, fake_clock, [100, 220, 250])
    await gh.repos([url])
    assert gh.deltas == {}  # the first count: nothing to compare with
    await next_day(store, fake_clock)
    found = await gh.repos([url])
    assert found[url].stars == 220 and gh.deltas == {url: (120, 1)}
    # Later the same day (a cached answer), still compared with yesterday's count.
    fake_clock.advance(3600)
    await gh.repos([url])
    assert gh.deltas == {url: (120, 1)}
    # Two days without a brief: the gain is over those two days.
    await next_day(store, fake_clock, 2)
    await gh.repos([url])
    assert gh.deltas == {url: (30, 2)}
    raw = await store.cache_get(HISTORY_NS, "shengshu-ai/minwm")
    assert raw is not None and json.loads(raw) == {
        "2026-06-01": 100,
        "2026-06-02": 220,
        "2026-06-04": 250,
    }


async def test_star_history_is_bounded_and_survives_a_corrupt_entry(
    store: Store, fake_clock: FakeClock
) -> None:
    url = "https://github.com/shengshu-ai/minWM"
    await store.cache_set(HISTORY_NS, "shengshu-ai/minwm", "not json", HISTORY_TTL)
    gh = counting_source(store, fake_clock, list(range(100, 100 + HISTORY_DAYS + 5)))
    await gh.repos([url])
    assert gh.deltas == {}
    for _ in range(HISTORY_DAYS + 4):
        await next_day(store, fake_clock)
        await gh.repos([url])
        assert gh.deltas == {url: (1, 1)}
    raw = await store.cache_get(HISTORY_NS, "shengshu-ai/minwm")
    assert raw is not None and len(json.loads(raw)) == HISTORY_DAYS


async def test_no_store_no_velocity() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=repo_json("a", "b", stars=5))

    gh, client, _ = source(handler)
    async with client:
        await gh.repos(["https://github.com/a/b"])
    assert gh.deltas == {}
