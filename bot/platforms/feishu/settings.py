"""Feishu's settings: PAPERDROP_FEISHU_… (README.md "Configuration", `.env.example`).

Custom-bot webhooks need none of them: their URL and secret are subscription options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bot.core.platform import platform_settings, platform_settings_config
from digest.settings import Settings

__all__ = ["FeishuSettings", "feishu_settings"]


class FeishuSettings(BaseSettings):
    model_config = platform_settings_config("feishu")

    app_id: str | None = Field(None, description="the app bot's App ID (cli_…)")
    app_secret: SecretStr | None = Field(None, description="the app bot's App Secret")
    base_url: str = Field(
        "https://open.feishu.cn", description="Feishu's Open API (Lark: https://open.larksuite.com)"
    )
    # Receiving (serve): the long connection needs no public URL.
    event_mode: Literal["ws", "http"] = Field(
        "ws", description="ws: lark-oapi long connection; http: POST /feishu/events"
    )
    verification_token: SecretStr | None = Field(
        None, description="HTTP mode: the token every event carries"
    )
    encrypt_key: SecretStr | None = Field(
        None, description="HTTP mode: events encrypted and signed with it"
    )


def feishu_settings(settings: Settings) -> FeishuSettings:
    """Feishu's settings among `settings` (read from the environment unless given)."""
    return platform_settings(settings, "feishu", FeishuSettings)
