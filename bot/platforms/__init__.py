"""The platform registry: one adapter per platform, and the only place that lists them.

A fourth platform is one new package here (render, send, receive, its adapter) plus one
line below and its tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.core.platform import PlatformAdapter
from bot.platforms.discord import DiscordAdapter
from bot.platforms.feishu import FeishuAdapter
from bot.platforms.slack import SlackAdapter
from bot.platforms.telegram import TelegramAdapter
from digest.errors import ConfigError
from digest.models import Platform

__all__ = ["PLATFORMS", "adapter"]

PLATFORMS: Mapping[Platform, PlatformAdapter] = MappingProxyType(
    {a.name: a for a in (TelegramAdapter(), SlackAdapter(), FeishuAdapter(), DiscordAdapter())}
)


def adapter(name: str) -> PlatformAdapter:
    """The adapter of a platform name; ConfigError for an unknown one."""
    found: PlatformAdapter | None = PLATFORMS.get(name)  # type: ignore[call-overload]
    if found is None:
        raise ConfigError(f"unknown platform {name!r} (use {', '.join(PLATFORMS)})")
    return found
