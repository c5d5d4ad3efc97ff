"""Shared fixtures: a fake clock, the real local Redis, and a Store of each kind.

Redis tests use the real server (PAPERDROP_TEST_REDIS_URL, default 127.0.0.1:6379 db 0),
a fresh key prefix per test, and delete every key under it afterwards. When Redis (or
Chromium, for the HTML page's browser test) is not there, a test that needs it is
skipped with the reason and how to get it, on a developer's machine; in CI (the `CI`
environment variable set, as `.ci/run` and every CI service set it) it fails instead: CI
must never pass by skipping what it exists to run.

Also here: the hypothesis profiles, the CA bundle the tests' HTTP clients trust, and how
pytest-xdist spreads the tests over its workers.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import certifi
import pytest
import redis
import redis.asyncio as aioredis
from hypothesis import settings as hypothesis_settings
from redis.exceptions import RedisError
from xdist.scheduler import LoadScopeScheduling

from digest.redaction import redact_url
from digest.store import RedisStore, SQLiteStore, Store
from digest.store.redis import make_client

# PTB 22 warns (an error under filterwarnings=error) when it builds a RetryAfter without
# its timedelta mode; production sets the same in bot/platforms/telegram/send.py.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# Two hypothesis profiles. "ci" (the default when CI is set): each property test's full
# example count and a fixed seed, so a run is reproducible. "dev" (the default elsewhere):
# a fifth of the examples (`examples(n)` in tests/strategies.py scales each test's count by
# the profile), new ones each run, and no deadline, which a busy laptop would trip.
# HYPOTHESIS_PROFILE names one outright (HYPOTHESIS_PROFILE=ci: the full run locally).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, max_examples=100)
hypothesis_settings.register_profile("dev", max_examples=20, deadline=None)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# lark-oapi (the Feishu SDK the Feishu tests check the fake against) is ~10,000 modules and
# seconds to import, on first use: the modules that use it share one xdist worker, so only
# that one pays. (xdist_group marks would say so, but under pytest 9 they group nothing.)
LARK_MODULES = frozenset(
    {
        "tests/bot/platforms/feishu/test_chat.py",
        "tests/bot/platforms/feishu/test_events.py",
        "tests/fakes/test_feishu_receive.py",
    }
)


class _LarkOnOneWorker(LoadScopeScheduling):
    """xdist's `load`, test by test to whichever worker is free, except that the
    lark-oapi modules go to one worker as one unit."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return "lark-oapi" if module in LARK_MODULES else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    """`-n` alone (`--dist load`, scripts/check) schedules with `_LarkOnOneWorker`."""
    if config.getvalue("dist") != "load":
        return None
    return _LarkOnOneWorker(config, log)


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


@pytest.fixture(scope="session", autouse=True)
def _one_certificate_ca_bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Clients trust a bundle of one CA certificate, not certifi's ~150. Every httpx client
    parses its bundle when made (~50 ms, ~1500 clients in the suite, more in the processes
    the tests start, which inherit it); every test talks plain HTTP to local fakes, so no
    certificate is ever checked (and the machine's own SSL_CERT_FILE is not needed)."""
    bundle = Path(certifi.where()).read_text(encoding="utf-8")
    first = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", bundle, re.S)
    assert first is not None, f"no certificate in {certifi.where()}"
    path = tmp_path_factory.mktemp("ca") / "one.pem"
    path.write_text(first.group(0), encoding="ascii")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(path))
        yield


@pytest.fixture(autouse=True)
def _no_real_arxiv_web(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERDROP_ARXIV_HTML_URL", f"{CLOSED_ARXIV_WEB}/html/")
    monkeypatch.setenv("PAPERDROP_ARXIV_PDF_URL", f"{CLOSED_ARXIV_WEB}/pdf/")
    monkeypatch.setenv("PAPERDROP_ARXIV_FULLTEXT_INTERVAL", "0")


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def in_ci() -> bool:
    """Running in CI: what a test needs must be there (missing is a failure, not a skip)."""
    return bool(os.environ.get("CI"))


def missing(reason: str) -> NoReturn:
    """A test's prerequisite is not installed: skip, saying why and how to get it (README,
    "Running the tests"); in CI, fail."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a missing prerequisite fails)", pytrace=False)
    pytest.skip(reason)


@functools.cache
def _redis_problem(url: str) -> str | None:
    """Why Redis at `url` cannot be used, or None (asked once per test run)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


def need_redis(url: str) -> None:
    problem = _redis_problem(url)
    if problem is not None:
        missing(
            f"needs a Redis server at {redact_url(url)} ({problem}): run `redis-server` "
            f"(apt-get install redis-server) or set {REDIS_URL_ENV}"
        )


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV) or DEFAULT_REDIS_URL
    need_redis(url)
    return url


async def _connect_redis(url: str) -> aioredis.Redis:
    need_redis(url)
    client = make_client(url)  # the production client: same pool and decoding
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        missing(f"needs a Redis server at {redact_url(url)} ({exc})")
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
