"""Discord's own settings (env prefix PAPERDROP_DISCORD_, also read from `.env`).

The adapter reads them in one place (`DiscordAdapter.own_settings`); nothing of Discord
is in `digest.settings.Settings`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bot.core.platform import platform_settings_config

__all__ = ["DiscordSettings"]


class DiscordSettings(BaseSettings):
    model_config = platform_settings_config("discord")

    bot_token: SecretStr | None = Field(
        None, description="the bot's token (Developer Portal → Bot → Reset Token)"
    )
    application_id: str = Field(
        "", description="the application id (General Information): slash commands, follow-ups"
    )
    public_key: str = Field(
        "",
        description="the application's public key (hex, General Information): checks the "
        "Ed25519 signature of every request to POST /discord/interactions",
    )
    api_url: str = Field(
        "https://discord.com/api/v10", description="REST API base URL (tests: a local fake)"
    )
    signature_max_age: float = Field(
        300.0, gt=0, description="seconds: an interaction signed longer ago than this gets 401"
    )
    register_commands: bool = Field(
        True, description="overwrite the application's slash commands from the registry at start"
    )

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value() if self.bot_token is not None else ""

    @property
    def can_send(self) -> bool:
        return bool(self.token)

    @property
    def can_receive(self) -> bool:
        return bool(self.token and self.application_id and self.public_key)
