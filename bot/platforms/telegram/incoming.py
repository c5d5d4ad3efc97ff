"""A Telegram update as the conversation's `Incoming`: the bot's mention cut out, commands
for other bots told apart, a button's action and value checked; and the command menu."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from bot.core.buttons import parse_button
from bot.core.chat import Incoming
from handlers.registry import COMMANDS

if TYPE_CHECKING:  # types only: python-telegram-bot is imported where it is used (slow)
    from telegram import BotCommand, CallbackQuery, Message

__all__ = ["GROUP_TYPES", "bot_commands", "message_incoming", "query_incoming"]

# telegram.constants.ChatType and MessageEntity's values, as the Bot API sends them.
GROUP_TYPES: Final = frozenset({"group", "supergroup"})
_CHANNEL: Final = "channel"
_MENTION: Final = "mention"
_BOT_COMMAND: Final = "bot_command"


_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")  # Telegram's rule for setMyCommands


# Telegram sends "/start" (with a deep-link payload, maybe) when someone opens the bot.
_START = re.compile(r"^/start(?=@|\s|$)")


def bot_commands(lines: Sequence[tuple[str, str]]) -> list[BotCommand]:
    """setMyCommands' list from `help_lines`: names Telegram accepts, descriptions it
    accepts (1..256 characters), at most 100."""
    # Imported here: python-telegram-bot takes ~0.3 s to import, which only serve needs.
    from telegram import BotCommand
    from telegram.constants import BotCommandLimit

    out: list[BotCommand] = []
    for synopsis, summary in lines:
        name, _, usage = synopsis.lstrip("/").partition(" ")
        if not _COMMAND_NAME.match(name):
            continue  # Telegram refuses the whole list for one bad name
        description = " ".join(f"{summary} {usage}".split()) or name
        if len(description) > BotCommandLimit.MAX_DESCRIPTION:
            description = description[: BotCommandLimit.MAX_DESCRIPTION - 1] + "…"
        out.append(BotCommand(name, description))
    return out[: BotCommandLimit.MAX_COMMAND_NUMBER]


def _same_name(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and str(a).lower() == str(b).lower()


def _cut(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` without the (offset, length) spans, counted in UTF-16 units as Telegram's
    entities are; runs of spaces left behind collapse to one."""
    units = text.encode("utf-16-le", "surrogatepass")
    out = bytearray()
    pos = 0
    for offset, length in sorted(spans):
        out += units[2 * pos : 2 * offset]
        pos = max(pos, offset + length)
    out += units[2 * pos :]
    cleaned = out.decode("utf-16-le", "surrogatepass")
    cleaned = re.sub(r"[^\S\n]{2,}", " ", cleaned).strip()
    # "@bot, what about…" → "what about…"
    return cleaned.lstrip(",:;").strip()


def message_incoming(
    update_id: int, message: Message, *, bot_name: str | None, bot_id: int | None
) -> Incoming | None:
    """The conversation's view of a text message; None for what it does not answer."""
    text = message.text
    chat = message.chat
    if text is None or chat.type == _CHANNEL:
        return None
    is_group = chat.type in GROUP_TYPES
    user = message.from_user
    # No user: a message sent on behalf of a chat (anonymous admin, linked channel).
    user_id = str(user.id) if user is not None else str((message.sender_chat or chat).id)
    mentioned = command_for_us = False
    cuts: list[tuple[int, int]] = []
    for entity, piece in message.parse_entities([_MENTION, _BOT_COMMAND]).items():
        if entity.type == _MENTION and _same_name(piece[1:], bot_name):
            mentioned = True
            cuts.append((entity.offset, entity.length))
        elif entity.type == _BOT_COMMAND:
            _, _, target = piece.partition("@")
            command_for_us = command_for_us or not target or _same_name(target, bot_name)
    replied = message.reply_to_message
    if replied is not None and replied.forum_topic_created is not None:
        replied = None  # in a forum topic every message "replies" to the topic's opening
    to_bot = (
        replied is not None
        and replied.from_user is not None
        and bot_id is not None
        and replied.from_user.id == bot_id
    )
    text = _cut(text, cuts) if cuts else text
    if "start" not in COMMANDS:
        text = _START.sub("/help", text)  # a first "/start" deserves the help, not "unknown"
    ref = str(message.message_id)
    return Incoming(
        platform="telegram",
        chat_id=str(chat.id),
        user_id=user_id,
        text=text,
        user_name=user.full_name if user is not None else (chat.title or ""),
        is_group=is_group,
        addressed=not is_group or command_for_us or mentioned or to_bot,
        message_ref=ref,
        reply_ref=ref,  # in groups the answer replies to the asker's message
        thread_refs=(str(replied.message_id),) if replied is not None else (),
        event_id=f"u{update_id}",  # a redelivered update is answered once
        bot_name=bot_name,
    )


def query_incoming(query: CallbackQuery, *, bot_name: str | None) -> Incoming | None:
    """The conversation's view of a button click; None for a button not ours (old
    keyboards, other bots' formats: `bot.core.buttons`) and clicks without a message
    (inline mode)."""
    message = query.message
    button = parse_button(query.data)
    if message is None or button is None:
        return None
    chat = message.chat
    ref = str(message.message_id)
    return Incoming(
        platform="telegram",
        chat_id=str(chat.id),
        user_id=str(query.from_user.id),
        user_name=query.from_user.full_name,
        is_group=chat.type in GROUP_TYPES,
        addressed=True,
        message_ref=ref,
        reply_ref=ref,
        thread_refs=(ref,),  # the message the buttons are under: what it is about
        event_id=f"cq{query.id}",
        button=button,
        bot_name=bot_name,
    )
