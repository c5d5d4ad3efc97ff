"""The Discord adapter: what the registry knows of Discord.

Its settings are its own (`DiscordSettings`, env prefix PAPERDROP_DISCORD_): held in
`Settings.platforms` (read from the environment and `.env` once) and reached by
`own_settings`, the one place the package gets them (an
adapter made with `DiscordAdapter(own=…)` uses those instead, as tests do).
"""

from __future__ import annotations

import re
from typing import ClassVar

from bot.core.chat import ReceiverDeps
from bot.core.messages import OutMessage
from bot.core.platform import PlatformAdapter, Receiver, platform_settings
from bot.core.ports import Sender, Sleep
from bot.core.ratelimit import Limiter, RateKeys
from bot.platforms.discord import rules
from bot.platforms.discord.receive import DiscordReceiver
from bot.platforms.discord.render import render_discord
from bot.platforms.discord.send import DiscordSender
from bot.platforms.discord.settings import DiscordSettings
from digest.models import Document, Platform, Subscription
from digest.settings import Settings

__all__ = ["DiscordAdapter"]


class DiscordAdapter(PlatformAdapter):
    name: ClassVar[Platform] = "discord"
    title: ClassVar[str] = "Discord"
    # A snowflake: a channel's (or a thread's, or a DM channel's) id.
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[0-9]{15,21}$")
    chat_id_help: ClassVar[str] = "a channel id such as 1234567890123456789 (Copy Channel ID)"
    settings_class: ClassVar[type[DiscordSettings]] = DiscordSettings

    def __init__(self, own: DiscordSettings | None = None) -> None:
        self._own = own

    def own_settings(self, settings: Settings) -> DiscordSettings:
        """Discord's settings: the ones this adapter was made with, else those `settings`
        carry (read from the environment once)."""
        if self._own is not None:
            return self._own
        return platform_settings(settings, self.name, DiscordSettings)

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        return render_discord(doc, threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        own = self.own_settings(settings)
        return DiscordSender(own, timeout=settings.http_timeout, limiter=limiter, sleep=sleep)

    def rate_keys(self, sub: Subscription) -> RateKeys:
        return rules.rate_keys(sub.chat_id)

    def configured(self, settings: Settings) -> bool:
        return self.own_settings(settings).can_send

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        own = self.own_settings(deps.settings)
        if not own.can_receive:
            return None
        return DiscordReceiver(deps, own)
