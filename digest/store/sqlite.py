"""The embedded Store: one SQLite file (WAL mode) through aiosqlite.

Expiry is checked against the injected clock: an expired row is invisible at once and
deleted lazily (when read, and by a periodic sweep on writes). Every write runs in its own
`BEGIN IMMEDIATE` transaction under an asyncio lock, so tasks sharing the connection never
interleave statements in one transaction and other processes on the same file wait for
the write lock (busy timeout) instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import aiosqlite
from pydantic import ValidationError

from digest.errors import StoreError
from digest.models import Platform, Subscription
from digest.store._common import (
    DELIVERY_RETENTION,
    Clock,
    check_namespace,
    epoch,
    utc_now,
)
from digest.store.base import Store

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)

# How long a writer waits for another process holding the database's write lock.
BUSY_TIMEOUT_MS = 5_000
# Expired rows that are never read again are swept at most this often (clock time).
PRUNE_INTERVAL = dt.timedelta(hours=1)
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at REAL,  -- epoch seconds; NULL: never
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cache_expiry ON cache (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS seen (
    reader TEXT NOT NULL,
    paper_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (reader, paper_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_expiry ON seen (expires_at);

CREATE TABLE IF NOT EXISTS subscriptions (
    platform TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    data TEXT NOT NULL,  -- Subscription JSON, secrets included
    PRIMARY KEY (platform, chat_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deliveries (
    chat_key TEXT NOT NULL,
    day TEXT NOT NULL,
    part INTEGER NOT NULL,
    ref TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (chat_key, day, part)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_age ON deliveries (recorded_at);

CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
"""


class SQLiteStore(Store):
    """A Store in one SQLite file (or ":memory:"); call `connect()` or use `open()`."""

    def __init__(self, path: Path | str, *, clock: Clock = utc_now) -> None:
        self._path = str(path)
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._last_prune = -math.inf

    @classmethod
    async def open(cls, path: Path | str, *, clock: Clock = utc_now) -> SQLiteStore:
        """A connected store with its schema in place."""
        store = cls(path, clock=clock)
        await store.connect()
        return store

    def __repr__(self) -> str:
        state = "open" if self._db is not None else "closed"
        return f"SQLiteStore({self._path!r}, {state})"

    async def connect(self) -> None:
        """Open the database (WAL mode) and create the schema; a no-op when connected."""
        if self._db is not None:
            return
        try:
            if self._path != ":memory:":
                # aiosqlite leaves its worker thread reporting to the event loop after a
                # failed connect; probing first keeps an unopenable path a clean error.
                await asyncio.to_thread(_probe, self._path)
            # isolation_level=None: no implicit transactions; _write() opens them explicitly.
            db = await aiosqlite.connect(self._path, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store {self._path}: {_one_line(exc)}") from exc
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.executescript(_SCHEMA)
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            await db.close()
            raise StoreError(f"cannot open SQLite store {self._path}: {_one_line(exc)}") from exc
        self._db = db

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    # --- plumbing ------------------------------------------------------------------------

    def _now(self) -> float:
        return epoch(self._clock())

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError(f"SQLite store {self._path} is not open")
        return self._db

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self._path}: {_one_line(exc)}") from exc

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        db = self._conn()
        with self._translate():
            yield db

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        db = self._conn()
        async with self._write_lock:
            with self._translate():
                # BEGIN and COMMIT are inside the try: a task cancelled while awaiting either
                # must not leave the shared connection inside an open transaction.
                try:
                    await db.execute("BEGIN IMMEDIATE")
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    # SQLite may already have rolled back (e.g. a full disk), or the COMMIT
                    # went through before a cancel landed; keep the original cause. The
                    # shield lets the rollback finish even if this task is cancelled again.
                    with contextlib.suppress(sqlite3.Error):
                        await asyncio.shield(db.execute("ROLLBACK"))
                    raise

    async def _maybe_prune(self, db: aiosqlite.Connection, now: float) -> None:
        if now - self._last_prune < PRUNE_INTERVAL.total_seconds():
            return
        self._last_prune = now
        await db.execute("DELETE FROM cache WHERE expires_at <= ?", (now,))
        await db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
        await db.execute("DELETE FROM locks WHERE expires_at <= ?", (now,))
        await db.execute(
            "DELETE FROM deliveries WHERE recorded_at <= ?",
            (now - DELIVERY_RETENTION.total_seconds(),),
        )

    # --- cache -----------------------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> str | None:
        check_namespace(namespace)
        now = self._now()
        async with self._read() as db:
            cur = await db.execute(
                "SELECT value, expires_at FROM cache WHERE namespace = ? AND key = ?",
                (namespace, key),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= now:
            async with self._write() as db:
                await db.execute(
                    "DELETE FROM cache WHERE namespace = ? AND key = ? AND expires_at <= ?",
                    (namespace, key, now),
                )
            return None
        return str(value)

    async def cache_set(
        self, namespace: str, key: str, value: str, ttl: dt.timedelta | None = None
    ) -> None:
        check_namespace(namespace)
        now = self._now()
        expires_at = None if ttl is None else now + ttl.total_seconds()
        async with self._write() as db:
            await db.execute(
                "INSERT INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE"
                " SET value = excluded.value, expires_at = excluded.expires_at",
                (namespace, key, value, expires_at),
            )
            await self._maybe_prune(db, now)

    async def cache_add(self, namespace: str, key: str, value: str, ttl: dt.timedelta) -> bool:
        check_namespace(namespace)
        now = self._now()
        async with self._write() as db:
            # An expired row counts as absent: replace it; a live one wins.
            cur = await db.execute(
                "INSERT INTO cache (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE"
                " SET value = excluded.value, expires_at = excluded.expires_at"
                " WHERE cache.expires_at IS NOT NULL AND cache.expires_at <= ?",
                (namespace, key, value, now + ttl.total_seconds(), now),
            )
            return cur.rowcount > 0

    async def cache_delete(self, namespace: str, key: str) -> None:
        check_namespace(namespace)
        async with self._write() as db:
            await db.execute("DELETE FROM cache WHERE namespace = ? AND key = ?", (namespace, key))

    # --- seen papers -------------------------------------------------------------------------

    async def seen(self, reader: str) -> set[str]:
        now = self._now()
        async with self._read() as db:
            cur = await db.execute(
                "SELECT paper_id FROM seen WHERE reader = ? AND expires_at > ?", (reader, now)
            )
            rows = await cur.fetchall()
        return {str(row[0]) for row in rows}

    async def mark_seen(self, reader: str, paper_ids: Iterable[str], ttl: dt.timedelta) -> None:
        ids = list(dict.fromkeys(paper_ids))
        if not ids:
            return
        now = self._now()
        expires_at = now + ttl.total_seconds()
        async with self._write() as db:
            await db.execute("DELETE FROM seen WHERE reader = ? AND expires_at <= ?", (reader, now))
            # max(): a later mark extends an existing one and never shortens it.
            await db.executemany(
                "INSERT INTO seen (reader, paper_id, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (reader, paper_id) DO UPDATE"
                " SET expires_at = max(expires_at, excluded.expires_at)",
                [(reader, paper_id, expires_at) for paper_id in ids],
            )
            await self._maybe_prune(db, now)

    # --- subscriptions -------------------------------------------------------------------------

    async def save_subscription(self, sub: Subscription) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO subscriptions (platform, chat_id, data) VALUES (?, ?, ?)"
                " ON CONFLICT (platform, chat_id) DO UPDATE SET data = excluded.data",
                (sub.platform, sub.chat_id, sub.model_dump_json()),
            )

    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None:
        async with self._read() as db:
            cur = await db.execute(
                "SELECT data FROM subscriptions WHERE platform = ? AND chat_id = ?",
                (platform, chat_id),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        try:
            return Subscription.model_validate_json(row[0])
        except ValidationError as exc:
            raise StoreError(f"stored subscription {platform}:{chat_id} is unreadable") from exc

    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        async with self._write() as db:
            cur = await db.execute(
                "DELETE FROM subscriptions WHERE platform = ? AND chat_id = ?",
                (platform, chat_id),
            )
            return cur.rowcount > 0

    async def list_subscriptions(self) -> list[Subscription]:
        async with self._read() as db:
            cur = await db.execute(
                "SELECT platform, chat_id, data FROM subscriptions ORDER BY platform, chat_id"
            )
            rows = await cur.fetchall()
        subs: list[Subscription] = []
        for platform, chat_id, data in rows:
            try:
                subs.append(Subscription.model_validate_json(data))
            except ValidationError:
                # One bad row must not stop every other chat's delivery.
                log.warning("skipping unreadable subscription %s:%s", platform, chat_id)
        return subs

    # --- deliveries ------------------------------------------------------------------------------

    async def delivered_parts(self, chat_key: str, day: dt.date) -> dict[int, str]:
        cutoff = self._now() - DELIVERY_RETENTION.total_seconds()
        async with self._read() as db:
            cur = await db.execute(
                "SELECT part, ref FROM deliveries"
                " WHERE chat_key = ? AND day = ? AND recorded_at > ?",
                (chat_key, day.isoformat(), cutoff),
            )
            rows = await cur.fetchall()
        return {int(part): str(ref) for part, ref in rows}

    async def mark_delivered(self, chat_key: str, day: dt.date, part: int, ref: str) -> None:
        now = self._now()
        async with self._write() as db:
            # The first record wins: a repeat must not rewrite which message holds the part.
            await db.execute(
                "INSERT INTO deliveries (chat_key, day, part, ref, recorded_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_key, day, part) DO NOTHING",
                (chat_key, day.isoformat(), part, ref, now),
            )
            await self._maybe_prune(db, now)

    # --- locks -----------------------------------------------------------------------------------

    async def acquire_lock(self, name: str, owner: str, ttl: dt.timedelta) -> bool:
        now = self._now()
        async with self._write() as db:
            cur = await db.execute("SELECT owner, expires_at FROM locks WHERE name = ?", (name,))
            row = await cur.fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                return False
            await db.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE"
                " SET owner = excluded.owner, expires_at = excluded.expires_at",
                (name, owner, now + ttl.total_seconds()),
            )
            return True

    async def release_lock(self, name: str, owner: str) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    async def drop_lock(self, name: str) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM locks WHERE name = ?", (name,))


def _probe(path: str) -> None:
    sqlite3.connect(path).close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
