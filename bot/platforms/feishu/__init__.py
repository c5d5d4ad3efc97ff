"""Feishu/Lark: interactive cards (JSON 2.0) by custom-bot webhook or app bot; events by
the long connection or HTTP callbacks, on asyncio (lark-oapi's protocol, not its import:
see `longconn`)."""

from bot.platforms.feishu.adapter import FeishuAdapter

__all__ = ["FeishuAdapter"]
