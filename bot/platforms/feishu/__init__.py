"""Feishu/Lark: interactive cards (JSON 2.0) by custom-bot webhook or app bot; events by
the long connection or HTTP callbacks, on asyncio (lark-oapi's protocol, not its import:
see `longconn`)."""

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

__all__ = ["FeishuAdapter"]


class FeishuAdapter(PlatformAdapter):
    name: ClassVar[Platform] = "feishu"
    title: ClassVar[str] = "Feishu"
    # An app chat_id (oc_...), or any name for a custom-bot webhook subscription.
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
    chat_id_help: ClassVar[str] = "a chat_id such as oc_… (app) or a name (webhook)"

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        from bot.platforms.feishu.render import render_feishu

        if sub.webhook is not None:
            return render_feishu(doc, mode="webhook")
        return render_feishu(doc, mode="app", threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        from bot.platforms.feishu.send import FeishuSender

        return FeishuSender(settings, limiter=limiter, sleep=sleep)

    def rate_keys(self, chat_id: str, *, webhook: bool = False) -> RateKeys:
        from bot.ratelimit import FEISHU_APP_PER_CHAT, FEISHU_WEBHOOK_PER_BOT

        if webhook:
            # A custom bot is bound to one chat: its webhook is the "bot" the limit counts.
            return [(f"feishu:hook:{chat_id}", FEISHU_WEBHOOK_PER_BOT)]
        return [(f"feishu:chat:{chat_id}", FEISHU_APP_PER_CHAT)]

    def configured(self, settings: Settings) -> bool:
        return bool(settings.feishu_app_id and settings.feishu_app_secret)

    def check_subscription(self, sub: Subscription, settings: Settings) -> str | None:
        if sub.webhook is None and not self.configured(settings):
            return (
                "Feishu needs --webhook URL, or app credentials "
                "(PAPERDROP_FEISHU_APP_ID and PAPERDROP_FEISHU_APP_SECRET)"
            )
        return None

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        if not self.configured(deps.settings):
            return None
        from bot.platforms.feishu.receive import FeishuReceiver

        return FeishuReceiver(deps)
