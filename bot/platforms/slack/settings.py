"""Slack's settings: PAPERDROP_SLACK_… (README.md "Configuration", `.env.example`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bot.core.platform import platform_settings, platform_settings_config
from digest.settings import Settings

__all__ = ["SlackSettings", "slack_settings"]


class SlackSettings(BaseSettings):
    model_config = platform_settings_config("slack")

    bot_token: SecretStr | None = Field(None, description="xoxb-… token (chat:write)")
    api_url: str = Field("https://slack.com/api/", description="the Web API")
    # Receiving (serve): Socket Mode with an app token, else HTTP with the signing secret.
    app_token: SecretStr | None = Field(None, description="xapp-… token: Socket Mode")
    signing_secret: SecretStr | None = Field(
        None, description="HTTP mode (POST /slack/events) when no app token is set"
    )


def slack_settings(settings: Settings) -> SlackSettings:
    """Slack's settings among `settings` (read from the environment unless given)."""
    return platform_settings(settings, "slack", SlackSettings)
