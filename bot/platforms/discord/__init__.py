"""Discord: messages with embeds over REST v10 (httpx); HTTP interactions received."""

from bot.platforms.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
