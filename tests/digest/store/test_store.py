"""The Store contract, run against SQLite and the real local Redis alike.

Expiry the store computes from its clock (seen marks, SQLite ttls) is tested by advancing
the fake clock; expiry Redis enforces itself (cache ttls, locks, key TTLs) is tested by
reading PTTL bounds, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from digest.errors import StoreError
from digest.models import PaperSummary, Subscription
from digest.redaction import redact_url
from digest.settings import Settings
from digest.store import RedisStore, SQLiteStore, Store, open_store
from digest.store._common import DELIVERY_RETENTION
from digest.store.base import (
    SUMMARY_NS,
    CacheDelete,
    CacheSet,
    DropLock,
    MarkDelivered,
    MarkSeen,
    ReleaseLock,
    thread_write,
)
from digest.store.redis import _scrub
from tests.conftest import FakeClock

DAY = 24 * 3600
HOUR = 3600
DAY_1 = dt.date(2026, 6, 1)
DAY_2 = dt.date(2026, 6, 2)
# Slack for PTTL reads: the command round trip between setting a TTL and reading it.
PTTL_SLACK_MS = 5_000
DONE = "delivered"


async def assert_pttl(store: RedisStore, key: str, ttl: dt.timedelta) -> None:
    expected = int(ttl.total_seconds() * 1000)
    pttl = await store.client.pttl(store.prefix + key)
    assert expected - PTTL_SLACK_MS < pttl <= expected, (key, pttl, expected)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


def settings(**values: Any) -> Settings:
    # _env_file=None: a developer's .env must not change what the test checks.
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# --- seen papers ----------------------------------------------------------------------------


async def test_seen_marks_expire_with_the_clock(store: Store, fake_clock: FakeClock) -> None:
    assert await store.seen("alice") == set()
    await store.mark_seen("alice", ["2605.00001", "2605.00002"], dt.timedelta(days=1))
    assert await store.seen("alice") == {"2605.00001", "2605.00002"}

    fake_clock.advance(DAY - 1)
    assert await store.seen("alice") == {"2605.00001", "2605.00002"}
    fake_clock.advance(1)  # the very moment of expiry: already gone
    assert await store.seen("alice") == set()


async def test_mark_seen_extends_and_never_shortens(store: Store, fake_clock: FakeClock) -> None:
    await store.mark_seen("alice", ["2605.00001"], dt.timedelta(days=1))
    await store.mark_seen("alice", ["2605.00002"], dt.timedelta(days=10))
    fake_clock.advance(12 * HOUR)
    await store.mark_seen("alice", ["2605.00001"], dt.timedelta(days=1))  # now ends at 36 h
    await store.mark_seen("alice", ["2605.00002"], dt.timedelta(hours=1))  # must not shorten

    fake_clock.advance(20 * HOUR)  # 32 h: past the first mark, inside the renewed one
    assert await store.seen("alice") == {"2605.00001", "2605.00002"}
    fake_clock.advance(5 * HOUR)  # 37 h
    assert await store.seen("alice") == {"2605.00002"}


async def test_seen_is_per_reader(store: Store) -> None:
    ttl = dt.timedelta(days=90)
    await store.mark_seen("alice", ["2605.00001", "2605.00001", "2605.00002"], ttl)
    await store.mark_seen("bob", ["2605.00003"], ttl)
    await store.mark_seen("carol", [], ttl)
    assert await store.seen("alice") == {"2605.00001", "2605.00002"}
    assert await store.seen("bob") == {"2605.00003"}
    assert await store.seen("carol") == set()


@pytest.mark.redis
async def test_redis_seen_key_lives_until_the_latest_mark(
    redis_client: aioredis.Redis, redis_prefix: str, fake_clock: FakeClock
) -> None:
    store = RedisStore(redis_client, prefix=redis_prefix, clock=fake_clock.now)
    key = redis_prefix + "seen:alice"
    await store.mark_seen("alice", ["2605.00001"], dt.timedelta(days=2))
    await store.mark_seen("alice", ["2605.00002"], dt.timedelta(days=1))
    await assert_pttl(store, "seen:alice", dt.timedelta(days=2))
    fake_clock.advance(DAY)
    await store.mark_seen("alice", ["2605.00003"], dt.timedelta(days=3))
    await assert_pttl(store, "seen:alice", dt.timedelta(days=3))
    # The expired mark is gone from the set itself, not only hidden.
    assert await redis_client.zrange(key, 0, -1) == ["2605.00001", "2605.00003"]
    fake_clock.advance(4 * DAY)
    assert await store.seen("alice") == set()
    assert await redis_client.exists(key) == 0
    await store.close()
    assert await redis_client.ping()  # an injected client stays the caller's


async def test_sqlite_prunes_expired_rows(tmp_path: Path, fake_clock: FakeClock) -> None:
    path = tmp_path / "store.sqlite3"
    async with await SQLiteStore.open(path, clock=fake_clock.now) as store:
        await store.mark_seen("alice", ["2605.00001", "2605.00002"], dt.timedelta(hours=1))
        await store.cache_set("ns", "k", "v", dt.timedelta(hours=1))
        fake_clock.advance(2 * HOUR)
        assert await store.cache_get("ns", "k") is None
        await store.mark_seen("alice", ["2605.00003"], dt.timedelta(hours=1))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT paper_id FROM seen").fetchall() == [("2605.00003",)]
        assert db.execute("SELECT count(*) FROM cache").fetchone() == (0,)
    db.close()


# --- caches -------------------------------------------------------------------------------


def a_summary() -> PaperSummary:
    return PaperSummary(
        contribution="让智能体在长任务中自我纠错。",
        why="Cuts tool-call errors.",
        category="Agents",
        mode="llm",
    )


async def test_summary_round_trip(store: Store) -> None:
    summary = a_summary()
    await store.put_summary("2605.00001", "zh", "v3", summary)
    assert await store.get_summary("2605.00001", "zh", "v3") == summary
    assert await store.get_summary("2605.00001", "en", "v3") is None
    assert await store.get_summary("2605.00001", "zh", "v4") is None
    assert await store.get_summary("2605.00002", "zh", "v3") is None


async def test_corrupt_summary_is_a_miss(store: Store) -> None:
    key = Store.summary_key("2605.00001", "en", "v3")
    await store.cache_set(SUMMARY_NS, key, '{"contribution": "half a JSON')
    assert await store.get_summary("2605.00001", "en", "v3") is None
    await store.cache_set(SUMMARY_NS, key, '{"contribution": "no other fields"}')
    assert await store.get_summary("2605.00001", "en", "v3") is None
    # A fresh summary replaces the bad entry.
    await store.put_summary("2605.00001", "en", "v3", a_summary())
    assert await store.get_summary("2605.00001", "en", "v3") == a_summary()


async def test_cache_set_get_delete(store: Store) -> None:
    await store.cache_set("repo", "owner/name", "1")
    await store.cache_set("other", "owner/name", "2")
    await store.cache_set("repo", "owner/name", "3")
    assert await store.cache_get("repo", "owner/name") == "3"
    assert await store.cache_get("other", "owner/name") == "2"
    await store.cache_delete("repo", "owner/name")
    await store.cache_delete("repo", "never-set")
    assert await store.cache_get("repo", "owner/name") is None
    assert await store.cache_get("other", "owner/name") == "2"


async def test_cache_add_stores_once_until_it_expires(store: Store, fake_clock: FakeClock) -> None:
    ttl = dt.timedelta(minutes=10)
    assert await store.cache_add("event", "slack:Ev1", "1", ttl) is True
    assert await store.cache_add("event", "slack:Ev1", "2", ttl) is False  # a retry
    assert await store.cache_get("event", "slack:Ev1") == "1"
    # Concurrent claims: exactly one wins.
    wins = await asyncio.gather(*(store.cache_add("event", "race", str(i), ttl) for i in range(8)))
    assert sum(wins) == 1
    if isinstance(store, RedisStore):
        await assert_pttl(store, "cache:event:slack:Ev1", ttl)
        return
    fake_clock.advance(ttl.total_seconds() + 1)
    assert await store.cache_add("event", "slack:Ev1", "3", ttl) is True
    assert await store.cache_get("event", "slack:Ev1") == "3"


async def test_cache_ttl(store: Store, fake_clock: FakeClock) -> None:
    ttl = dt.timedelta(hours=1)
    await store.cache_set("ns", "short", "v", ttl)
    await store.cache_set("ns", "forever", "v")
    await store.cache_set("ns", "gone", "v", dt.timedelta(0))
    assert await store.cache_get("ns", "short") == "v"
    assert await store.cache_get("ns", "gone") is None
    if isinstance(store, RedisStore):
        await assert_pttl(store, "cache:ns:short", ttl)  # expiry is the server's (SET PX)
        assert await store.client.pttl(store.prefix + "cache:ns:forever") == -1
        return
    fake_clock.advance(HOUR - 1)
    assert await store.cache_get("ns", "short") == "v"
    fake_clock.advance(2)
    assert await store.cache_get("ns", "short") is None
    fake_clock.advance(1000 * DAY)
    assert await store.cache_get("ns", "forever") == "v"
    # Setting again revives an expired key.
    await store.cache_set("ns", "short", "w", ttl)
    assert await store.cache_get("ns", "short") == "w"


async def test_namespace_with_colon_is_refused(store: Store) -> None:
    # Otherwise ("a:b", "c") and ("a", "b:c") would share one Redis key.
    with pytest.raises(ValueError, match="namespace"):
        await store.cache_set("a:b", "c", "v")
    with pytest.raises(ValueError, match="namespace"):
        await store.cache_get("", "c")


async def test_thread_context_round_trip(store: Store, fake_clock: FakeClock) -> None:
    context = {"brief": "2026-06-01", "papers": ["2605.00001"], "note": "多智能体 & <b>"}
    await store.save_thread("slack:C1:1717200000.000100", context)
    assert await store.get_thread("slack:C1:1717200000.000100") == context
    assert await store.get_thread("slack:C1:other") is None
    await store.cache_set("thread", "not-a-dict", "[1, 2]")
    assert await store.get_thread("not-a-dict") is None
    if isinstance(store, RedisStore):
        await assert_pttl(store, "cache:thread:slack:C1:1717200000.000100", dt.timedelta(days=14))
    else:
        fake_clock.advance(15 * DAY)
        assert await store.get_thread("slack:C1:1717200000.000100") is None


# --- subscriptions --------------------------------------------------------------------------

WEBHOOK = "https://open.feishu.cn/open-apis/bot/v2/hook/0d3b-secret-token"
SIGNING_SECRET = "sign-me-9f8e7d"


def feishu_sub(chat_id: str = "oc_team") -> Subscription:
    return Subscription(
        platform="feishu",
        chat_id=chat_id,
        options={"webhook": SecretStr(WEBHOOK), "secret": SecretStr(SIGNING_SECRET)},
        interests=["agents", "RL"],
        language="zh",
        time="07:30",
        tz="Asia/Shanghai",
    )


async def test_subscription_crud_keeps_secrets(store: Store) -> None:
    subs = [
        Subscription(platform="telegram", chat_id="-1002", language="en"),
        feishu_sub("oc_b"),
        Subscription(platform="slack", chat_id="C9", threads=True),
        Subscription(platform="telegram", chat_id="-1001", active=False, inactive_reason="403"),
        feishu_sub("oc_a"),
    ]
    for sub in subs:
        await store.save_subscription(sub)

    got = await store.get_subscription("feishu", "oc_a")
    assert got == feishu_sub("oc_a")
    assert got is not None
    assert got.option("webhook") == WEBHOOK and got.option("secret") == SIGNING_SECRET
    assert WEBHOOK not in repr(got) and SIGNING_SECRET not in repr(got)

    listed = await store.list_subscriptions()
    assert [s.key for s in listed] == [
        "feishu:oc_a", "feishu:oc_b", "slack:C9", "telegram:-1001", "telegram:-1002",
    ]  # fmt: skip
    assert listed[3].active is False and listed[3].inactive_reason == "403"
    assert all(WEBHOOK not in repr(s) for s in listed)

    # Saving again replaces (no duplicate), deleting reports whether there was one.
    await store.save_subscription(feishu_sub("oc_a").model_copy(update={"time": "09:15"}))
    replaced = await store.get_subscription("feishu", "oc_a")
    assert replaced is not None and replaced.time == "09:15"
    assert len(await store.list_subscriptions()) == 5
    assert await store.delete_subscription("feishu", "oc_a") is True
    assert await store.delete_subscription("feishu", "oc_a") is False
    assert await store.get_subscription("feishu", "oc_a") is None
    assert await store.get_subscription("slack", "oc_b") is None  # platform is part of the key
    assert next(s.key for s in await store.list_subscriptions()) == "feishu:oc_b"


async def test_unreadable_subscription_is_skipped_in_lists(
    store: Store, tmp_path: Path, fake_clock: FakeClock
) -> None:
    await store.save_subscription(feishu_sub("oc_good"))
    if isinstance(store, RedisStore):
        await store.client.hset(store.prefix + "subscriptions", "slack:CBAD", "{broken")
        target: Store = store
    else:
        path = tmp_path / "subs.sqlite3"
        target = await SQLiteStore.open(path, clock=fake_clock.now)
        await target.save_subscription(feishu_sub("oc_good"))
        with sqlite3.connect(path) as db:
            db.execute("INSERT INTO subscriptions VALUES ('slack', 'CBAD', '{broken')")
        db.close()
    try:
        assert [s.key for s in await target.list_subscriptions()] == ["feishu:oc_good"]
        with pytest.raises(StoreError, match="slack:CBAD"):
            await target.get_subscription("slack", "CBAD")
    finally:
        if target is not store:
            await target.close()


# Subscription JSON as it was stored before platform options (top-level webhook/secret).
OLD_FEISHU_JSON = json.dumps(
    {
        "platform": "feishu",
        "chat_id": "hook-team",
        "webhook": WEBHOOK,
        "secret": SIGNING_SECRET,
        "profile_path": None,
        "interests": ["agents"],
        "language": "zh",
        "time": "07:30",
        "tz": "Asia/Shanghai",
        "threads": False,
        "active": True,
        "inactive_reason": None,
    }
)
OLD_TELEGRAM_JSON = '{"platform":"telegram","chat_id":"-1001","webhook":null,"secret":null}'


async def test_subscriptions_stored_before_options_load_with_their_options(
    store: Store, tmp_path: Path, fake_clock: FakeClock
) -> None:
    if isinstance(store, RedisStore):
        for key, raw in (
            ("feishu:hook-team", OLD_FEISHU_JSON),
            ("telegram:-1001", OLD_TELEGRAM_JSON),
        ):
            await store.client.hset(store.prefix + "subscriptions", key, raw)
        target: Store = store
    else:
        path = tmp_path / "old.sqlite3"
        target = await SQLiteStore.open(path, clock=fake_clock.now)
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT INTO subscriptions VALUES ('feishu', 'hook-team', ?)", (OLD_FEISHU_JSON,)
            )
            db.execute(
                "INSERT INTO subscriptions VALUES ('telegram', '-1001', ?)", (OLD_TELEGRAM_JSON,)
            )
        db.close()
    try:
        hook = await target.get_subscription("feishu", "hook-team")
        assert hook is not None and hook.language == "zh" and hook.tz == "Asia/Shanghai"
        assert hook.option("webhook") == WEBHOOK and hook.option("secret") == SIGNING_SECRET
        assert WEBHOOK not in repr(hook) and SIGNING_SECRET not in repr(hook)
        tg = await target.get_subscription("telegram", "-1001")
        assert tg is not None and tg.options == {}
        # Saved again, it is in the new shape, and loads the same.
        await target.save_subscription(hook)
        assert await target.get_subscription("feishu", "hook-team") == hook
        assert '"webhook":' not in hook.model_dump_json().split('"options"')[0]
    finally:
        if target is not store:
            await target.close()


# --- deliveries ---------------------------------------------------------------------------


async def test_delivery_records_are_idempotent_and_per_chat_day(
    store: Store, fake_clock: FakeClock
) -> None:
    await store.mark_delivered("telegram:-1001", DAY_1, 0, "msg-10")
    await store.mark_delivered("telegram:-1001", DAY_1, 1, "msg-11")
    await store.mark_delivered("telegram:-1001", DAY_1, 0, "msg-99")  # a retry of part 0
    await store.mark_delivered("telegram:-1001", DAY_2, 0, "msg-20")
    await store.mark_delivered("slack:C1", DAY_1, 2, "1717200000.000100")

    assert await store.delivered_parts("telegram:-1001", DAY_1) == {0: "msg-10", 1: "msg-11"}
    assert await store.delivered_parts("telegram:-1001", DAY_2) == {0: "msg-20"}
    assert await store.delivered_parts("slack:C1", DAY_1) == {2: "1717200000.000100"}
    assert await store.delivered_parts("slack:C1", DAY_2) == {}
    assert await store.delivered_parts("feishu:oc_x", DAY_1) == {}

    if isinstance(store, RedisStore):
        await assert_pttl(store, "delivered:telegram:-1001:2026-06-01", DELIVERY_RETENTION)
    else:
        fake_clock.advance(DELIVERY_RETENTION.total_seconds() + 1)
        assert await store.delivered_parts("telegram:-1001", DAY_1) == {}


async def test_concurrent_mark_delivered_loses_nothing(store: Store) -> None:
    parts = range(60)
    await asyncio.gather(
        *(store.mark_delivered("feishu:oc_team", DAY_1, p, f"om_{p}") for p in parts),
        *(store.mark_delivered("feishu:oc_team", DAY_1, p, f"dup_{p}") for p in parts[::3]),
        *(store.mark_delivered("slack:C2", DAY_1, p, f"ts_{p}") for p in parts),
    )
    got = await store.delivered_parts("feishu:oc_team", DAY_1)
    assert sorted(got) == list(parts)
    # Each part holds exactly one of the refs written for it (whichever came first).
    assert all(got[p] in {f"om_{p}", f"dup_{p}"} for p in parts)
    assert await store.delivered_parts("slack:C2", DAY_1) == {p: f"ts_{p}" for p in parts}


# --- locks --------------------------------------------------------------------------------


async def expire_lock(store: Store, fake_clock: FakeClock, name: str, ttl_s: int) -> None:
    """Let a lock's lease run out: the fake clock for SQLite, the server's TTL for Redis."""
    if isinstance(store, RedisStore):
        # Redis expires it on its own clock; PEXPIREAT in the past is what that moment does.
        await store.client.pexpireat(store.prefix + f"lock:{name}", 1)
    else:
        fake_clock.advance(ttl_s + 1)


async def test_lock_owner_renews_and_others_wait(store: Store, fake_clock: FakeClock) -> None:
    minute = dt.timedelta(seconds=60)
    assert await store.acquire_lock("scheduler", "replica-a", minute) is True
    assert await store.acquire_lock("scheduler", "replica-b", minute) is False
    assert await store.acquire_lock("other-lock", "replica-b", minute) is True

    fake_clock.advance(50)
    assert await store.acquire_lock("scheduler", "replica-a", dt.timedelta(seconds=600)) is True
    if isinstance(store, RedisStore):
        await assert_pttl(store, "lock:scheduler", dt.timedelta(seconds=600))
    fake_clock.advance(50)  # 100 s after the first lease: only the renewal keeps it
    assert await store.acquire_lock("scheduler", "replica-b", minute) is False

    await store.release_lock("scheduler", "replica-b")  # not the owner: ignored
    assert await store.acquire_lock("scheduler", "replica-b", minute) is False

    await expire_lock(store, fake_clock, "scheduler", 600)
    assert await store.acquire_lock("scheduler", "replica-b", minute) is True
    assert await store.acquire_lock("scheduler", "replica-a", minute) is False
    await store.release_lock("scheduler", "replica-a")  # its lease ran out: ignored
    assert await store.acquire_lock("scheduler", "replica-a", minute) is False

    await store.release_lock("scheduler", "replica-b")
    assert await store.acquire_lock("scheduler", "replica-a", minute) is True


async def test_one_of_many_concurrent_acquirers_wins(store: Store) -> None:
    owners = [f"replica-{i}" for i in range(20)]
    results = await asyncio.gather(
        *(store.acquire_lock("scheduler", o, dt.timedelta(seconds=30)) for o in owners)
    )
    assert sum(results) == 1


async def test_sqlite_lock_is_shared_between_connections(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    path = tmp_path / "shared.sqlite3"
    async with (
        await SQLiteStore.open(path, clock=fake_clock.now) as one,
        await SQLiteStore.open(path, clock=fake_clock.now) as two,
    ):
        assert await one.acquire_lock("scheduler", "a", dt.timedelta(seconds=30))
        assert not await two.acquire_lock("scheduler", "b", dt.timedelta(seconds=30))
        await one.mark_delivered("slack:C1", DAY_1, 0, "ts")
        assert await two.delivered_parts("slack:C1", DAY_1) == {0: "ts"}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


# --- lifecycle ----------------------------------------------------------------------------


async def test_close_is_idempotent_and_final(store: Store) -> None:
    await store.close()
    await store.close()
    with pytest.raises(StoreError):
        await store.cache_get("ns", "k")


async def test_open_store_sqlite_creates_directories(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "paperdrop.sqlite3"
    store = await open_store(settings(sqlite_path=path))
    try:
        assert isinstance(store, SQLiteStore)
        await store.cache_set("ns", "k", "v")
    finally:
        await store.close()
    assert path.is_file()
    async with await SQLiteStore.open(path) as again:  # persisted
        assert await again.cache_get("ns", "k") == "v"


async def test_sqlite_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open SQLite store"):
        await SQLiteStore.open(tmp_path)  # a directory, not a database file


@pytest.mark.redis
async def test_open_store_redis_uses_the_prefix(
    redis_url: str, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = await open_store(settings(redis_url=redis_url, redis_prefix=redis_prefix))
    try:
        assert isinstance(store, RedisStore)
        await store.cache_set("ns", "k", "v")
        await store.mark_seen("alice", ["2605.00001"], dt.timedelta(days=1))
        await store.save_subscription(feishu_sub())
        await store.mark_delivered("feishu:oc_team", DAY_1, 0, "om_1")
        assert await store.acquire_lock("scheduler", "a", dt.timedelta(seconds=30))
    finally:
        await store.close()
    await store.close()
    keys = {key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")}
    assert {k.removeprefix(redis_prefix) for k in keys} == {
        "cache:ns:k",
        "seen:alice",
        "subscriptions",
        "delivered:feishu:oc_team:2026-06-01",
        "lock:scheduler",
    }


@pytest.mark.parametrize(
    "url",
    [
        "redis://paperdrop:pa55-w0rd@127.0.0.1:{port}/0",
        "redis://:pa55-w0rd@127.0.0.1:{port}",
        "redis://127.0.0.1:{port}/0?password=pa55-w0rd",
    ],
)
async def test_unreachable_redis_is_a_store_error_without_password(url: str) -> None:
    port = free_port()
    with pytest.raises(StoreError) as caught:
        await open_store(settings(redis_url=url.format(port=port), redis_prefix="x:"))
    message = str(caught.value)
    assert "pa55-w0rd" not in message
    assert "pa55-w0rd" not in repr(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message and "***" in message


async def test_bad_redis_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="invalid Redis URL") as caught:
        await RedisStore.from_url("http://user:pa55-w0rd@127.0.0.1:1/0", "x:")
    assert "pa55-w0rd" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://u:p%40ss@h:1/2", "redis://u:***@h:1/2"),
        ("rediss://:tok@h", "rediss://:***@h"),
        ("redis://h/0?password=x&ssl_cert_reqs=none", "redis://h/0?password=***&ssl_cert_reqs=none"),
        ("redis://u@h", "redis://u@h"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_error_text_is_scrubbed_of_the_url_password() -> None:
    # Defence in depth: should redis-py ever quote the URL, the password still goes.
    url = "redis://u:pa55-w0rd@127.0.0.1:1/0"
    exc = OSError(f"cannot connect to {url}\nretry later")
    assert _scrub(exc, url) == "cannot connect to redis://u:***@127.0.0.1:1/0 retry later"


async def test_sqlite_write_cancelled_midway_leaves_no_open_transaction(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "c.sqlite3")
    try:
        for _ in range(20):  # cancel at different await points of the write
            task = asyncio.create_task(store.mark_delivered("telegram:1", DAY_1, 0, "m"))
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # The next write would fail with "cannot start a transaction within a transaction".
            await store.mark_delivered("telegram:2", DAY_1, 1, "n")
        assert await store.delivered_parts("telegram:2", DAY_1) == {1: "n"}
    finally:
        await store.close()


# --- batch forms: the single forms' semantics, in one round trip on Redis ----------------


async def test_cache_batch_forms_match_the_single_ones(store: Store, fake_clock: FakeClock) -> None:
    hour = dt.timedelta(hours=1)
    await store.cache_set_many("ns", {"a": "1", "b": "2", "gone": "x"}, hour)
    await store.cache_set_many("ns", {"forever": "y"})
    await store.cache_set_many("ns", {"gone": "z"}, dt.timedelta(0))  # already expired
    assert await store.cache_get_many("ns", ["a", "b", "gone", "forever", "never", "a"]) == {
        "a": "1",
        "b": "2",
        "forever": "y",
    }
    assert await store.cache_get_many("other", ["a"]) == {}
    assert await store.cache_get_many("ns", []) == {}
    # Added only where nothing is: in order, duplicates once.
    added = await store.cache_add_many("ns", ["c", "a", "d", "c"], "new", hour)
    assert added == ["c", "d"]
    assert await store.cache_get("ns", "a") == "1"
    assert await store.cache_get("ns", "c") == "new"
    await store.cache_delete_many("ns", ["a", "c", "never"])
    assert await store.cache_get_many("ns", ["a", "b", "c", "d"]) == {"b": "2", "d": "new"}
    if isinstance(store, RedisStore):
        await assert_pttl(store, "cache:ns:b", hour)
        await assert_pttl(store, "cache:ns:d", hour)
        assert await store.client.pttl(store.prefix + "cache:ns:forever") == -1
    else:
        fake_clock.advance(2 * HOUR)
        assert await store.cache_get_many("ns", ["b", "d", "forever"]) == {"forever": "y"}
        # An expired entry counts as absent for an add.
        assert await store.cache_add_many("ns", ["b", "forever"], "again", hour) == ["b"]
    with pytest.raises(ValueError, match="namespace"):
        await store.cache_get_many("bad:ns", ["a"])


async def test_get_subscriptions_by_key(store: Store) -> None:
    subs = [
        Subscription(platform="telegram", chat_id="-1001", interests=["agents"]),
        Subscription(platform="slack", chat_id="C9", active=False),
    ]
    for sub in subs:
        await store.save_subscription(sub)
    found = await store.get_subscriptions(["slack:C9", "telegram:-1001", "telegram:404"])
    assert found == {"slack:C9": subs[1], "telegram:-1001": subs[0]}
    assert await store.get_subscriptions([]) == {}


async def test_lease_delivery_takes_the_lock_and_reads_the_parts(
    store: Store, fake_clock: FakeClock
) -> None:
    minute = dt.timedelta(seconds=60)
    await store.mark_delivered("telegram:1", DAY_1, 0, "m0")
    assert await store.lease_delivery("d:1", "push-a", minute, "telegram:1", DAY_1) == {0: "m0"}
    # Another owner is refused; the holder renews and reads what arrived since.
    assert await store.lease_delivery("d:1", "push-b", minute, "telegram:1", DAY_1) is None
    await store.mark_delivered("telegram:1", DAY_1, 1, "m1")
    held = await store.lease_delivery("d:1", "push-a", minute, "telegram:1", DAY_1)
    assert held == {0: "m0", 1: "m1"}
    assert await store.lease_delivery("d:2", "push-b", minute, "telegram:2", DAY_1) == {}
    await expire_lock(store, fake_clock, "d:1", 60)
    assert await store.lease_delivery("d:1", "push-b", minute, "telegram:1", DAY_1) == held
    assert await store.acquire_lock("d:1", "push-a", minute) is False


async def test_write_applies_every_kind_in_order(store: Store, fake_clock: FakeClock) -> None:
    minute = dt.timedelta(seconds=60)
    assert await store.acquire_lock("deliver:x", "push-a", minute)
    assert await store.acquire_lock("deliver:y", "push-b", minute)
    assert await store.acquire_lock("deliver:z", "push-b", minute)
    await store.cache_set("ns", "old", "1")
    await store.write(
        [
            MarkDelivered("telegram:1", DAY_1, 0, "m0"),
            MarkDelivered("telegram:1", DAY_1, 0, "again"),  # the first record wins
            CacheSet("ns", "k", "v", dt.timedelta(hours=1)),
            CacheSet("ns", "k", "v2", dt.timedelta(hours=1)),  # in order: the last wins
            CacheDelete("ns", "old"),
            MarkSeen("chat", ("2605.00001", "2605.00002"), dt.timedelta(days=2)),
            MarkSeen("chat", (), dt.timedelta(days=2)),
            thread_write("telegram:1:77", {"paper_id": "2605.00001"}),
            ReleaseLock("deliver:x", "push-a"),
            ReleaseLock("deliver:y", "push-a"),  # not its owner: ignored
            DropLock("deliver:z"),  # whoever holds it
        ]
    )
    await store.write([])
    assert await store.delivered_parts("telegram:1", DAY_1) == {0: "m0"}
    assert await store.cache_get("ns", "k") == "v2"
    assert await store.cache_get("ns", "old") is None
    assert await store.seen("chat") == {"2605.00001", "2605.00002"}
    assert await store.get_thread("telegram:1:77") == {"paper_id": "2605.00001"}
    assert await store.acquire_lock("deliver:x", "push-c", minute) is True
    assert await store.acquire_lock("deliver:y", "push-c", minute) is False
    assert await store.acquire_lock("deliver:z", "push-c", minute) is True
    fake_clock.advance(3 * DAY)
    assert await store.seen("chat") == set()


async def test_redis_write_is_one_round_trip_without_a_transaction(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = RedisStore(redis_client, prefix=redis_prefix)
    await store.acquire_lock("deliver:x", "push-a", dt.timedelta(seconds=60))
    sent: list[int] = []
    execute = redis_client.connection_pool.get_connection

    class Counting:
        async def __call__(self, *args: Any, **kwargs: Any) -> Any:
            sent.append(1)
            return await execute(*args, **kwargs)

    writes = [
        MarkDelivered("telegram:1", DAY_1, 0, "m0"),
        CacheSet(DONE, "telegram:1|2026-06-01", "1", dt.timedelta(days=1)),
        MarkSeen("telegram:1", ("2605.00001",), dt.timedelta(days=2)),
        ReleaseLock("deliver:x", "push-a"),
    ]
    before = await redis_client.info("commandstats")
    redis_client.connection_pool.get_connection = Counting()  # type: ignore[method-assign]
    try:
        await store.write(writes)
    finally:
        redis_client.connection_pool.get_connection = execute  # type: ignore[method-assign]
    after = await redis_client.info("commandstats")
    assert sent == [1]  # one connection taken: one pipeline
    assert "cmdstat_multi" not in after or (
        after["cmdstat_multi"]["calls"] == before.get("cmdstat_multi", {}).get("calls", 0)
    )
    assert await store.delivered_parts("telegram:1", DAY_1) == {0: "m0"}
    # The release script is loaded again when Redis lost it (a restart).
    await redis_client.script_flush()
    await store.acquire_lock("deliver:x", "push-a", dt.timedelta(seconds=60))
    await store.write([ReleaseLock("deliver:x", "push-a")])
    assert await store.acquire_lock("deliver:x", "push-b", dt.timedelta(seconds=60))
