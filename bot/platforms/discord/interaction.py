"""One interaction, seen from paperdrop: its signature checked, what it asks turned into
an `Incoming`, and where its answers go (the interaction's webhook, then the channel).

    Discord ──POST /discord/interactions──► verify Ed25519 (else 401)
      PING (1) ─────────────────────────────► PONG (1)
      slash command (2) ──► Incoming ──────► deferred (5) "thinking…", then the answer
      button click (3) ───► Incoming ──────► deferred update (6), then an ephemeral note

The answer edits the deferred reply (`PATCH /webhooks/{app}/{token}/messages/@original`)
and further messages follow it (`POST /webhooks/{app}/{token}`); a token is valid for
15 minutes, after which what is left goes to the channel as the bot (`DiscordSender`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from bot.core.buttons import parse_button
from bot.core.chat import Incoming
from bot.core.messages import OutMessage
from bot.platforms.discord.commands import invoked_text
from bot.platforms.discord.send import DiscordRest, DiscordSender, TokenExpired
from digest.errors import ConfigError, DeliveryError
from digest.models import Platform, Subscription
from digest.redaction import redact_pattern_in_logs

__all__ = [
    "EPHEMERAL",
    "InteractionSender",
    "Verifier",
    "click_incoming",
    "command_incoming",
    "is_admin",
    "mask_webhook_tokens",
]

log = logging.getLogger(__name__)

EPHEMERAL = 64  # message flag: seen by the one who asked
_THREAD_TYPES = frozenset({10, 11, 12})  # announcement, public and private threads
# Permission bits that make someone a chat admin here: ADMINISTRATOR, MANAGE_CHANNELS,
# MANAGE_GUILD.
_ADMIN_BITS = (1 << 3) | (1 << 4) | (1 << 5)
_WEBHOOK_PATH = re.compile(r"(/webhooks/\d+/)[^/\s?\"']+")


def mask_webhook_tokens(loggers: tuple[str, ...]) -> None:
    """An interaction's token is in its webhook URL, which httpx logs: masked in these
    loggers' lines (and, once logging is set up, in every line)."""
    redact_pattern_in_logs(_WEBHOOK_PATH, r"\1***", loggers)


class Verifier:
    """Ed25519 over `X-Signature-Timestamp + body`, against the application's key."""

    def __init__(self, public_key_hex: str, max_age: float) -> None:
        try:
            self._key = eddsa.import_public_key(bytes.fromhex(public_key_hex.strip()))
        except ValueError:
            raise ConfigError(
                "PAPERDROP_DISCORD_PUBLIC_KEY is not an Ed25519 public key in hex "
                "(the Developer Portal's General Information shows it)"
            ) from None
        self._max_age = max_age

    @property
    def key(self) -> ECC.EccKey:
        return self._key

    def check(self, signature: str, timestamp: str, body: bytes, now: float) -> bool:
        """Whether Discord signed this body, recently."""
        try:
            stamp = float(timestamp)
            raw = bytes.fromhex(signature)
        except ValueError:
            return False
        if abs(now - stamp) > self._max_age:
            return False
        try:
            eddsa.new(self._key, "rfc8032").verify(timestamp.encode() + body, raw)
        except ValueError:
            return False
        return True


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _user(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    member = payload.get("member")
    user = member.get("user") if isinstance(member, Mapping) else payload.get("user")
    return user if isinstance(user, Mapping) else {}


def _where(payload: Mapping[str, Any]) -> tuple[str, str | None]:
    """(chat, thread): a thread's interactions belong to its parent channel's chat."""
    channel = payload.get("channel")
    channel_id = _text(payload.get("channel_id"))
    if isinstance(channel, Mapping):
        channel_id = _text(channel.get("id")) or channel_id
        parent = _text(channel.get("parent_id"))
        if channel.get("type") in _THREAD_TYPES and parent:
            return parent, channel_id
    return channel_id, None


def _base(payload: Mapping[str, Any]) -> dict[str, Any]:
    user = _user(payload)
    chat, thread = _where(payload)
    return {
        "platform": "discord",
        "chat_id": chat,
        "user_id": _text(user.get("id")),
        "user_name": _text(user.get("global_name")) or _text(user.get("username")),
        "is_group": bool(payload.get("guild_id")),
        "addressed": True,
        "event_id": _text(payload.get("id")) or None,
        "command_prefix": "/",
        "reply_ref": thread,
        "thread_refs": (thread,) if thread else (),
    }


def command_incoming(payload: Mapping[str, Any]) -> Incoming:
    """A slash command as if typed ("/paper 2605.29559"); in a thread, a reply there."""
    data = payload.get("data")
    return Incoming(text=invoked_text(data if isinstance(data, Mapping) else {}), **_base(payload))


def click_incoming(payload: Mapping[str, Any]) -> Incoming | None:
    """A click on one of our buttons (`bot.core.buttons`), or None."""
    data = payload.get("data")
    button = parse_button(data.get("custom_id") if isinstance(data, Mapping) else None)
    if button is None:
        return None
    message = payload.get("message")
    message_id = _text(message.get("id")) if isinstance(message, Mapping) else ""
    base = _base(payload)
    # The clicked message first (a pick's thread is keyed by it), then the thread.
    refs = tuple(dict.fromkeys(r for r in (message_id, *base["thread_refs"]) if r))
    base.update(message_ref=message_id or None, reply_ref=None, thread_refs=refs)
    return Incoming(button=button, **base)


def is_admin(payload: Mapping[str, Any]) -> bool:
    """In a server: the member's permissions in this channel say admin; a DM is theirs."""
    member = payload.get("member")
    if not payload.get("guild_id") or not isinstance(member, Mapping):
        return True
    try:
        permissions = int(_text(member.get("permissions")) or "0")
    except ValueError:
        return False
    return bool(permissions & _ADMIN_BITS)


class InteractionSender:
    """A `Sender` for one interaction's answers: the first edits the deferred reply, the
    rest follow it; once the token has expired, the bot posts in the channel instead."""

    platform: Platform = "discord"

    def __init__(
        self,
        rest: DiscordRest,
        bot: DiscordSender,
        *,
        application_id: str,
        token: str,
        deferred: bool,
    ) -> None:
        self._rest = rest
        self._bot = bot
        self._path = f"/webhooks/{application_id}/{token}"
        self._route = f"webhook:{token[-12:]}"
        self.pending_original = deferred  # a "thinking…" reply waits to be replaced
        self.expired = False
        self.sent = 0

    def __repr__(self) -> str:  # never show the token
        return "InteractionSender()"

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        if not self.expired:
            body = msg.payload["message"] if msg.method == "thread" else msg.payload
            try:
                ref = await self.webhook(body, chat=sub.chat_id)
            except TokenExpired:
                self.expired = True
                log.info("discord: interaction token expired; answering in the channel")
            else:
                self.sent += 1
                return ref
        ref = await self._bot.send(sub, msg, thread_ref)
        self.sent += 1
        return ref

    async def webhook(self, body: dict[str, Any], *, chat: str, ephemeral: bool = False) -> str:
        """Edit the deferred reply (the first time) or post a follow-up; the message id."""
        if ephemeral:
            body = {**body, "flags": EPHEMERAL}
        if self.pending_original and not ephemeral:
            answer = await self._call("PATCH", f"{self._path}/messages/@original", body, chat)
            self.pending_original = False
        else:
            answer = await self._call("POST", self._path, body, chat)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise DeliveryError("discord", chat, "answer without a message id")
        return str(answer["id"])

    async def drop_original(self, chat: str) -> None:
        """Remove the "thinking…" reply (an answer that must not be seen by all)."""
        if not self.pending_original or self.expired:
            return
        self.pending_original = False
        try:
            await self._call("DELETE", f"{self._path}/messages/@original", None, chat)
        except TokenExpired:
            self.expired = True

    async def _call(self, method: str, path: str, body: dict[str, Any] | None, chat: str) -> Any:
        async def attempt() -> Any:
            return await self._rest.call(
                method, path, route=self._route, chat=chat, body=body, auth=False
            )

        return await self._bot.retried(attempt, chat)

    async def aclose(self) -> None:
        """The clients belong to the receiver and the bot's sender."""
