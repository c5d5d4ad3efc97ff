"""The Telegram adapter: what the registry knows of Telegram."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic_settings import BaseSettings

from bot.core.chat import ReceiverDeps
from bot.core.messages import OutMessage
from bot.core.platform import PlatformAdapter, Receiver
from bot.core.ports import Sender, Sleep
from bot.core.ratelimit import Limiter, RateKeys
from bot.platforms.telegram import rules
from bot.platforms.telegram.receive import TelegramReceiver
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.send import TelegramSender
from bot.platforms.telegram.settings import TelegramSettings, telegram_settings
from digest.models import Document, Subscription
from digest.settings import Settings

__all__ = ["TelegramAdapter"]


class TelegramAdapter(PlatformAdapter):
    name: ClassVar[str] = "telegram"
    title: ClassVar[str] = "Telegram"
    # A numeric chat id (negative for groups) or a public @channelusername.
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^(-?\d{1,20}|@[A-Za-z0-9_]{4,64})$")
    chat_id_help: ClassVar[str] = "a numeric chat id (groups are negative) or @channelname"
    settings_class: ClassVar[type[BaseSettings]] = TelegramSettings

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        return render_telegram(doc, threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        return TelegramSender(settings, limiter=limiter, sleep=sleep)

    def rate_keys(self, sub: Subscription) -> RateKeys:
        return rules.rate_keys(sub.chat_id)

    def configured(self, settings: Settings) -> bool:
        token = telegram_settings(settings).token
        return token is not None and bool(token.get_secret_value())

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        if not self.configured(deps.settings):
            return None
        return TelegramReceiver(deps)
