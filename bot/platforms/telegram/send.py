"""Telegram sending through python-telegram-bot's `telegram.Bot` (reference: message_id).

Refusals: `ChatGone` when the bot can no longer post there (blocked, kicked, chat gone),
`DeliveryError` with Telegram's own reason for the rest; 429s are waited out
(`bot.core.retries`). Every Bot API call, `getMe` included, goes through `call_with_retries`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.core.messages import OutMessage
from bot.core.ports import Sleep
from bot.core.ratelimit import Limiter
from bot.core.retries import DEFAULT_RATE_RETRIES, Pacing, RetryAfter
from bot.platforms.telegram.rules import SDK_LOGGERS, rate_keys
from bot.platforms.telegram.settings import telegram_settings
from digest.errors import ChatGone, ConfigError, DeliveryError
from digest.models import Platform, Subscription
from digest.redaction import redact_in_logs, scrub_line
from digest.settings import Settings
from digest.sources.http import backoff

__all__ = ["PTB_TIMEDELTA_ENV", "TRANSIENT_RETRIES", "TelegramSender", "TokenRejected"]

T = TypeVar("T")
# Connection errors and 5xx answers are retried this many times, with backoff.
TRANSIENT_RETRIES = 3


class _Transient(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenRejected(DeliveryError):
    """Telegram refused the bot token (401/404 on any call): nothing works until it is
    fixed, so trying again cannot help."""


PTB_TIMEDELTA_ENV = "PTB_TIMEDELTA"
# Telegram answers 400 with these when the bot can never post there again.
_TELEGRAM_GONE_400 = (
    "chat not found",
    "chat_write_forbidden",
    "have no rights to send a message",
    "need administrator rights",
    "group chat was deactivated",
)


def _reply_to(msg: OutMessage, thread_ref: str | None) -> Any:
    """The ReplyParameters of a message that goes into a thread (a reply to `thread_ref`),
    else None."""
    if not (msg.in_thread and thread_ref):
        return None
    from telegram import ReplyParameters  # the SDK is imported where it is used

    return ReplyParameters(message_id=int(thread_ref), allow_sending_without_reply=True)


class TelegramSender:
    """Sends `sendMessage` payloads through `telegram.Bot` (one client, initialised once)."""

    platform: Platform = "telegram"

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: Limiter | None = None,
        sleep: Sleep = asyncio.sleep,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
        pool_size: int = 16,
    ) -> None:
        import telegram
        from telegram.request import HTTPXRequest

        own = telegram_settings(settings)
        if own.token is None or not own.token.get_secret_value():
            raise ConfigError("Telegram needs PAPERDROP_TELEGRAM_TOKEN")
        # Opt in to v22's timedelta time periods (the future default): otherwise PTB emits
        # a deprecation warning while *constructing* RetryAfter, which a warnings-as-errors
        # setup turns into a crash instead of a 429 we can wait out.
        os.environ.setdefault(PTB_TIMEDELTA_ENV, "1")
        self._token = own.token.get_secret_value()
        redact_in_logs(self._token, SDK_LOGGERS)
        timeout = settings.http_timeout
        request = HTTPXRequest(
            connection_pool_size=pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            # Waiting for a pooled connection is not a failure of the message.
            pool_timeout=None,
        )
        self._bot = telegram.Bot(self._token, base_url=own.api_url, request=request)
        self._pace = Pacing("telegram", limiter, sleep, max_rate_retries)
        self._init_lock = asyncio.Lock()
        self._ready = False

    def __repr__(self) -> str:
        return "TelegramSender()"

    @property
    def bot(self) -> Any:
        """The `telegram.Bot` (initialised by the first call)."""
        return self._bot

    async def _ensure_ready(self) -> None:
        async with self._init_lock:
            if not self._ready:
                try:
                    await self.call("-", lambda bot: bot.initialize())  # getMe, once
                except DeliveryError as exc:
                    raise DeliveryError(
                        "telegram", "-", f"bot initialisation failed: {exc.reason}"
                    ) from None
                self._ready = True

    def _reason(self, exc: BaseException) -> str:
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        return scrub_line(message, [self._token])

    async def call(
        self,
        chat_id: str,
        make: Callable[[Any], Awaitable[T]],
        *,
        limited: bool = False,
        transient_retries: int = TRANSIENT_RETRIES,
    ) -> T:
        """One Bot API call: 429s waited out, transient errors retried, errors translated.

        `limited`: count it against the chat's send rate (messages, not look-ups).
        `transient_retries`: 0 for a caller that retries on its own schedule (a receiver
        coming back after an outage).
        """
        transient = 0

        async def attempt() -> T:
            # A transient error's retry is a send of its own: it waits for a slot too.
            nonlocal transient
            while True:
                if limited:
                    await self._pace.slot(rate_keys(chat_id))
                try:
                    return await self._translate(chat_id, make(self._bot))
                except _Transient as exc:
                    if transient >= transient_retries:
                        raise DeliveryError("telegram", chat_id, exc.reason) from None
                    await self._pace.sleep(backoff(transient))
                    transient += 1

        return await self._pace.run(attempt, chat=chat_id)

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        if msg.method not in ("sendMessage", "sendPhoto"):
            raise DeliveryError("telegram", sub.chat_id, f"unsupported method {msg.method}")
        await self._ensure_ready()
        if msg.method == "sendPhoto":
            return await self._send_photo(sub, msg, thread_ref)
        extra = dict(msg.payload)
        text = str(extra.pop("text", msg.text))
        parse_mode = extra.pop("parse_mode", None)
        extra.pop("chat_id", None)
        reply = _reply_to(msg, thread_ref)
        if reply is not None:
            extra.pop("reply_parameters", None)

        sent = await self.call(
            sub.chat_id,
            lambda bot: bot.send_message(
                chat_id=sub.chat_id,
                text=text,
                parse_mode=parse_mode,
                reply_parameters=reply,
                api_kwargs=extra or None,
            ),
            limited=True,
        )
        return str(sent.message_id)

    async def _send_photo(self, sub: Subscription, msg: OutMessage, thread_ref: str | None) -> str:
        """A figure by its URL (Telegram downloads it), with its HTML caption."""
        reply = _reply_to(msg, thread_ref)
        sent = await self.call(
            sub.chat_id,
            lambda bot: bot.send_photo(
                chat_id=sub.chat_id,
                photo=str(msg.payload["photo"]),
                caption=msg.payload.get("caption"),
                parse_mode=msg.payload.get("parse_mode"),
                reply_parameters=reply,
            ),
            limited=True,
        )
        return str(sent.message_id)

    async def _translate(self, chat_id: str, call: Awaitable[T]) -> T:
        from telegram.error import (
            BadRequest,
            ChatMigrated,
            Forbidden,
            InvalidToken,
            NetworkError,
            TelegramError,
            TimedOut,
        )
        from telegram.error import (
            RetryAfter as TelegramRetryAfter,
        )
        from telegram.warnings import PTBDeprecationWarning

        try:
            return await call
        except TelegramRetryAfter as exc:
            # v22 warns when the int form is read; the value is the same either way.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                after = exc.retry_after
            seconds = after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
            raise RetryAfter(seconds) from None
        except Forbidden as exc:
            raise ChatGone("telegram", chat_id, self._reason(exc)) from None
        except ChatMigrated as exc:
            raise DeliveryError(
                "telegram",
                chat_id,
                f"group was upgraded to a supergroup; resubscribe chat {exc.new_chat_id}",
            ) from None
        except BadRequest as exc:
            reason = self._reason(exc)
            if any(marker in reason.lower() for marker in _TELEGRAM_GONE_400):
                raise ChatGone("telegram", chat_id, reason) from None
            raise DeliveryError("telegram", chat_id, reason) from None
        except InvalidToken:
            raise TokenRejected("telegram", chat_id, "the bot token was rejected") from None
        except (TimedOut, NetworkError) as exc:
            # Connection trouble or a 5xx: worth another try (bounded by the caller).
            raise _Transient(self._reason(exc)) from None
        except TelegramError as exc:
            raise DeliveryError("telegram", chat_id, self._reason(exc)) from None

    async def aclose(self) -> None:
        if self._ready:
            await self._bot.shutdown()
            self._ready = False
        else:
            # The request objects may have opened nothing; shutting them down is harmless.
            await self._bot.request.shutdown()
