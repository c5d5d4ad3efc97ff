"""Telegram: HTML messages through python-telegram-bot; long polling or a webhook."""

from bot.platforms.telegram.adapter import TelegramAdapter

__all__ = ["TelegramAdapter"]
