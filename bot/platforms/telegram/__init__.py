"""Telegram: HTML messages through python-telegram-bot; long polling or a webhook."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from bot.platforms.base import OutMessage, PlatformAdapter, RateKeys, Receiver
from digest.models import Document, Platform, Subscription
from digest.settings import Settings

if TYPE_CHECKING:
    from bot.conversation import ReceiverDeps
    from bot.ratelimit import Limiter
    from bot.sending import Sender, Sleep

__all__ = ["TelegramAdapter"]


class TelegramAdapter(PlatformAdapter):
    name: ClassVar[Platform] = "telegram"
    title: ClassVar[str] = "Telegram"
    # A numeric chat id (negative for groups) or a public @channelusername.
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^(-?\d{1,20}|@[A-Za-z0-9_]{4,64})$")
    chat_id_help: ClassVar[str] = "a numeric chat id (groups are negative) or @channelname"

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        from bot.platforms.telegram.render import render_telegram

        return render_telegram(doc, threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        from bot.platforms.telegram.send import TelegramSender

        return TelegramSender(settings, limiter=limiter, sleep=sleep)

    def rate_keys(self, chat_id: str, *, webhook: bool = False) -> RateKeys:
        from bot.ratelimit import TELEGRAM_GLOBAL, TELEGRAM_PER_CHAT, TELEGRAM_PER_GROUP

        keys: RateKeys = [(f"tg:chat:{chat_id}", TELEGRAM_PER_CHAT)]
        # Group and supergroup ids are negative; private chats are positive user ids.
        if chat_id.startswith("-"):
            keys.append((f"tg:group:{chat_id}", TELEGRAM_PER_GROUP))
        keys.append(("tg:global", TELEGRAM_GLOBAL))
        return keys

    def configured(self, settings: Settings) -> bool:
        return settings.telegram_token is not None and bool(
            settings.telegram_token.get_secret_value()
        )

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        if not self.configured(deps.settings):
            return None
        from bot.platforms.telegram.receive import TelegramReceiver

        return TelegramReceiver(deps)
