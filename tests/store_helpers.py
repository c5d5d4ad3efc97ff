"""A Store that can be switched off, as Redis is while it restarts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any

from digest.errors import StoreError
from digest.models import Platform, Subscription
from digest.store.base import Store

__all__ = ["Switchable"]


class Switchable(Store):
    """The real Store, with an off switch: while `down`, every call fails as an
    unreachable Redis does (StoreError)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name.startswith("_") or name in ("inner", "down", "refused", "close"):
            return value
        inner = object.__getattribute__(self, "inner")
        target = getattr(inner, name, None)
        if not callable(target) or not asyncio.iscoroutinefunction(target):
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            if object.__getattribute__(self, "down"):
                self.refused += 1
                raise StoreError("Redis at redis://127.0.0.1:6390/0: Connection refused")
            return await target(*args, **kwargs)

        return call

    # The abstract methods (all delegated by __getattribute__ above).
    async def cache_get(self, namespace: str, key: str) -> str | None:
        raise NotImplementedError

    async def cache_set(
        self, namespace: str, key: str, value: str, ttl: dt.timedelta | None = None
    ) -> None:
        raise NotImplementedError

    async def cache_add(self, namespace: str, key: str, value: str, ttl: dt.timedelta) -> bool:
        raise NotImplementedError

    async def cache_delete(self, namespace: str, key: str) -> None:
        raise NotImplementedError

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
