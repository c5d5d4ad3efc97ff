"""The Feishu adapter: what the registry knows of Feishu."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from bot.core.chat import ReceiverDeps
from bot.core.messages import OutMessage
from bot.core.platform import Option, PlatformAdapter, Receiver
from bot.core.ports import Sender, Sleep
from bot.core.ratelimit import Limiter, RateKeys
from bot.platforms.feishu import options, rules
from bot.platforms.feishu.receive import FeishuReceiver
from bot.platforms.feishu.render import render_feishu
from bot.platforms.feishu.send import WEBHOOK_REF, FeishuSender
from bot.platforms.feishu.settings import FeishuSettings, feishu_settings
from digest.models import Document, Subscription
from digest.settings import Settings

__all__ = ["FeishuAdapter"]

# The stand-in custom bot of previews (`render`, `push --dry-run`): the setup needing no app.
_PREVIEW_WEBHOOK = "https://preview.invalid/"


class FeishuAdapter(PlatformAdapter):
    name: ClassVar[str] = "feishu"
    title: ClassVar[str] = "Feishu"
    # An app chat_id (oc_...), or any name for a custom-bot webhook subscription.
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
    chat_id_help: ClassVar[str] = "a chat_id such as oc_… (app) or a name (webhook)"
    settings_class: ClassVar[type[BaseSettings]] = FeishuSettings
    options: ClassVar[tuple[Option, ...]] = options.OPTIONS
    preview_variants: ClassVar[tuple[str, ...]] = ("webhook", "app")

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        if options.webhook(sub) is not None:
            return render_feishu(doc, mode="webhook")
        return render_feishu(doc, mode="app", threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        return FeishuSender(settings, limiter=limiter, sleep=sleep)

    def render_key(self, sub: Subscription) -> str:
        return f"threads={sub.threads},webhook={options.webhook(sub) is not None}"

    def has_message_id(self, ref: str) -> bool:
        return ref != WEBHOOK_REF  # a custom bot's message has no id to reply to

    def rate_keys(self, sub: Subscription) -> RateKeys:
        return rules.rate_keys(sub.chat_id, webhook=options.webhook(sub) is not None)

    def configured(self, settings: Settings) -> bool:
        own = feishu_settings(settings)
        return bool(own.app_id and own.app_secret)

    def can_deliver(self, sub: Subscription, settings: Settings) -> bool:
        return options.webhook(sub) is not None or self.configured(settings)

    def check_options(self, given: dict[str, str]) -> str | None:
        return super().check_options(given) or options.check_options(given)

    def check_subscription(self, sub: Subscription, settings: Settings) -> str | None:
        if options.webhook(sub) is None and not self.configured(settings):
            return (
                "Feishu needs --webhook URL, or app credentials "
                "(PAPERDROP_FEISHU_APP_ID and PAPERDROP_FEISHU_APP_SECRET)"
            )
        return None

    def preview_subscription(self, sub: Subscription, variant: str | None) -> Subscription:
        if variant == "app":
            return sub
        hook = {options.WEBHOOK: SecretStr(_PREVIEW_WEBHOOK)}
        return sub.model_copy(update={"options": {**sub.options, **hook}})

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        if not self.configured(deps.settings):
            return None
        return FeishuReceiver(deps)
