"""The Slack adapter: what the registry knows of Slack."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic_settings import BaseSettings

from bot.core.chat import ReceiverDeps
from bot.core.messages import OutMessage
from bot.core.platform import PlatformAdapter, Receiver
from bot.core.ports import Sender, Sleep
from bot.core.ratelimit import Limiter, RateKeys
from bot.platforms.slack import rules
from bot.platforms.slack.receive import SlackReceiver
from bot.platforms.slack.render import render_slack
from bot.platforms.slack.send import SlackSender
from bot.platforms.slack.settings import SlackSettings, slack_settings
from digest.models import Document, Subscription
from digest.settings import Settings

__all__ = ["SlackAdapter"]


class SlackAdapter(PlatformAdapter):
    name: ClassVar[str] = "slack"
    title: ClassVar[str] = "Slack"
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Z0-9]{1,32}$")
    chat_id_help: ClassVar[str] = "a channel id such as C0123456789"
    settings_class: ClassVar[type[BaseSettings]] = SlackSettings

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        return render_slack(doc, threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        return SlackSender(settings, limiter=limiter, sleep=sleep)

    def rate_keys(self, sub: Subscription) -> RateKeys:
        return rules.rate_keys(sub.chat_id)

    def configured(self, settings: Settings) -> bool:
        token = slack_settings(settings).bot_token
        return token is not None and bool(token.get_secret_value())

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        own = slack_settings(deps.settings)
        if not self.configured(deps.settings) or not (own.app_token or own.signing_secret):
            return None
        return SlackReceiver(deps)
