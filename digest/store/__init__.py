"""The Store and its two implementations; `open_store` picks one from the settings."""

from __future__ import annotations

from digest.errors import StoreError
from digest.settings import Settings
from digest.store.base import Store
from digest.store.redis import RedisStore
from digest.store.sqlite import SQLiteStore

__all__ = ["RedisStore", "SQLiteStore", "Store", "open_store"]


async def open_store(settings: Settings) -> Store:
    """Redis when `settings.redis_url` is set, else SQLite at `resolved_sqlite_path`.

    Raises StoreError (one line, no password) when the store cannot be reached.
    """
    if settings.redis_url:
        return await RedisStore.from_url(settings.redis_url, settings.redis_prefix)
    path = settings.resolved_sqlite_path
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of SQLite store {path}: {exc}") from exc
    return await SQLiteStore.open(path)
