"""Telegram's settings: PAPERDROP_TELEGRAM_… (README.md "Configuration", `.env.example`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bot.core.platform import platform_settings, platform_settings_config
from digest.settings import Settings

__all__ = ["TelegramSettings", "telegram_settings"]


class TelegramSettings(BaseSettings):
    model_config = platform_settings_config("telegram")

    token: SecretStr | None = Field(None, description="the bot's token, from @BotFather")
    api_url: str = Field("https://api.telegram.org/bot", description="the Bot API")
    # Receiving (serve): with no webhook URL, long polling (no public URL needed).
    webhook_url: str | None = Field(
        None, description="public https URL of POST /telegram; unset: long polling"
    )
    webhook_secret: SecretStr | None = Field(
        None, description="checked against X-Telegram-Bot-Api-Secret-Token"
    )


def telegram_settings(settings: Settings) -> TelegramSettings:
    """Telegram's settings among `settings` (read from the environment unless given)."""
    return platform_settings(settings, "telegram", TelegramSettings)
