"""Slack: Block Kit messages through slack_sdk; slack-bolt receives (Socket Mode or HTTP)."""

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

__all__ = ["SlackAdapter"]


class SlackAdapter(PlatformAdapter):
    name: ClassVar[Platform] = "slack"
    title: ClassVar[str] = "Slack"
    chat_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Z0-9]{1,32}$")
    chat_id_help: ClassVar[str] = "a channel id such as C0123456789"

    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        from bot.platforms.slack.render import render_slack

        return render_slack(doc, threads=sub.threads)

    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        from bot.platforms.slack.send import SlackSender

        return SlackSender(settings, limiter=limiter, sleep=sleep)

    def rate_keys(self, chat_id: str, *, webhook: bool = False) -> RateKeys:
        from bot.ratelimit import SLACK_PER_CHANNEL

        return [(f"slack:chan:{chat_id}", SLACK_PER_CHANNEL)]

    def configured(self, settings: Settings) -> bool:
        return settings.slack_bot_token is not None and bool(
            settings.slack_bot_token.get_secret_value()
        )

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        s = deps.settings
        if not self.configured(s) or not (s.slack_app_token or s.slack_signing_secret):
            return None
        from bot.platforms.slack.receive import SlackReceiver

        return SlackReceiver(deps)
