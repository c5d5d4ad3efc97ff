"""The conversation: a platform event in, the same answers on every platform out."""

from bot.chat.conversation import Conversation

__all__ = ["Conversation"]
