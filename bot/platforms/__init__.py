"""The platform registry: one adapter per platform, and the only place that lists them.

A fourth platform is one new package here (its adapter, settings, render, send, receive)
plus one line below and its tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bot.core.platform import PlatformAdapter
from bot.platforms.discord import DiscordAdapter
from bot.platforms.feishu import FeishuAdapter
from bot.platforms.slack import SlackAdapter
from bot.platforms.telegram import TelegramAdapter
from digest.errors import ConfigError
from digest.settings import Settings

__all__ = ["PLATFORMS", "adapter", "load_settings"]

PLATFORMS: Mapping[str, PlatformAdapter] = MappingProxyType(
    {a.name: a for a in (TelegramAdapter(), SlackAdapter(), FeishuAdapter(), DiscordAdapter())}
)


def adapter(name: str) -> PlatformAdapter:
    """The adapter of a platform name; ConfigError for an unknown one."""
    found = PLATFORMS.get(name)
    if found is None:
        raise ConfigError(f"unknown platform {name!r} (use {', '.join(PLATFORMS)})")
    return found


def load_settings(**values: Any) -> Settings:
    """The settings from the environment and `.env` (`values` override them), with every
    platform's own settings read too (a bad value raises pydantic's ValidationError)."""
    settings = Settings(**values)
    for name, target in PLATFORMS.items():
        settings.platforms.setdefault(name, target.settings_class())
    return settings
