"""Shared fixtures: a fake clock, the real local Redis, and a Store of each kind.

Redis tests use the real server (PAPERDROP_TEST_REDIS_URL, default 127.0.0.1:6379 db 0),
a fresh key prefix per test, and delete every key under it afterwards. When Redis is not
there they fail with a message saying so; they never skip.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from hypothesis import settings as hypothesis_settings
from redis.exceptions import RedisError

from digest.store import RedisStore, SQLiteStore, Store
from digest.store.redis import make_client, redact_url

# PTB 22 warns (an error under filterwarnings=error) when it builds a RetryAfter without
# its timedelta mode; production sets the same in bot/platforms/telegram/send.py.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# CI runs the property tests with a fixed seed, so a run is reproducible; locally each run
# explores new examples.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REDIS_URL_ENV = "PAPERDROP_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
FAKE_CLOCK_START = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that only moves when told to: pass `clock.now` where a clock is injected."""

    def __init__(self, start: dt.datetime = FAKE_CLOCK_START) -> None:
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)


# No test reads a paper from arxiv.org: unless a test points them at its fake, the arXiv
# web hosts are a closed port (refused at once), and no spacing is waited for.
CLOSED_ARXIV_WEB = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _no_real_arxiv_web(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDROP_ARXIV_HTML_URL", f"{CLOSED_ARXIV_WEB}/html/")
    monkeypatch.setenv("PAPERDROP_ARXIV_PDF_URL", f"{CLOSED_ARXIV_WEB}/pdf/")
    monkeypatch.setenv("PAPERDROP_ARXIV_FULLTEXT_INTERVAL", "0")


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_url() -> str:
    return os.environ.get(REDIS_URL_ENV) or DEFAULT_REDIS_URL


async def _connect_redis(url: str) -> aioredis.Redis:
    client = make_client(url)  # the production client: same pool and decoding
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        pytest.fail(
            f"these tests need a Redis server at {redact_url(url)} "
            f"(start one or set {REDIS_URL_ENV}): {exc}",
            pytrace=False,
        )
    return client


async def _delete_prefix(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await client.delete(*keys)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A connected client (decoded responses); fails the test when Redis is missing."""
    client = await _connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test alone; every key under it is deleted afterwards."""
    prefix = f"paperdrop-test:{uuid.uuid4().hex}:"
    yield prefix
    await _delete_prefix(redis_client, prefix)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(
    request: pytest.FixtureRequest, fake_clock: FakeClock, redis_url: str
) -> AsyncIterator[Store]:
    """Each Store implementation in turn, on `fake_clock`, empty."""
    if request.param == "sqlite":
        sqlite_store = await SQLiteStore.open(":memory:", clock=fake_clock.now)
        yield sqlite_store
        await sqlite_store.close()
        return
    # Async fixtures cannot pull other async fixtures by name, hence no redis_client here.
    client = await _connect_redis(redis_url)
    prefix = f"paperdrop-test:{uuid.uuid4().hex}:"
    redis_store = RedisStore(client, prefix=prefix, clock=fake_clock.now)
    yield redis_store
    await redis_store.close()
    await _delete_prefix(client, prefix)
    await client.aclose()
