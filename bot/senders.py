"""Senders: put one rendered OutMessage into one chat and return the platform's reference.

    sender.send(sub, msg, thread_ref, day=...) -> "message reference"

* Telegram: python-telegram-bot's `telegram.Bot` (reference: message_id).
* Slack: slack_sdk's `AsyncWebClient` with the SDK's rate-limit retry handler installed
  (reference: ts).
* Feishu: httpx (reference: message_id; a custom-bot webhook returns none, so "webhook").
  httpx rather than lark-oapi: lark-oapi's client is synchronous at heart (its async
  calls run requests in a thread), its domain is a fixed enum where we need the base
  URL as a plain setting (Feishu vs Lark vs a local fake), it does not cover custom-bot
  webhooks at all, and the two endpoints plus the token call we need are a small surface
  that httpx covers directly and asynchronously.

Refusals: `ChatGone` when the bot can no longer post there (blocked, kicked, not in the
channel/chat, webhook deleted), `DeliveryError` with the platform's own reason for the
rest. 429s are waited out by their retry-after through the injected `sleep` and retried,
up to `max_rate_retries` times (generous), so a rate-limited message is delayed, never
dropped. Before every attempt the sender waits for the shared `RateLimiter`. No token or
webhook URL ever appears in an exception or a log line: reasons are scrubbed.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.base import OutMessage
from bot.ratelimit import RateLimiter
from digest.errors import ChatGone, ConfigError, DeliveryError, scrub
from digest.models import Platform, Subscription
from digest.settings import Settings

__all__ = [
    "DEFAULT_RATE_RETRIES",
    "FeishuSender",
    "Sender",
    "SlackSender",
    "TelegramSender",
    "feishu_sign",
    "feishu_uuid",
    "make_senders",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# 429s are retried this many times per message before giving up with a DeliveryError
# (at Telegram's usual retry_after of a few seconds, that is minutes of patience).
DEFAULT_RATE_RETRIES = 12
# A retry-after above this is not waited out in-process: the scheduler's next pass retries.
MAX_RETRY_AFTER = 600.0
# When a 429 carries no usable retry-after.
DEFAULT_RETRY_AFTER = 1.0


class Sender(Protocol):
    """What `deliver` needs from a platform."""

    platform: Platform

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str: ...

    async def aclose(self) -> None: ...


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    """One line, without any of `secrets` in it, short enough for a log or a report."""
    line = scrub(text, secrets)
    return line if len(line) <= 300 else line[:300] + "…"


class _Redactor(logging.Filter):
    """Masks known secrets in the HTTP libraries' own log lines.

    httpx logs every request URL at INFO, and Telegram's URLs (the bot token) and Feishu
    webhook URLs (the hook token) are secrets.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                record.msg = _scrub(message, self.secrets)
                record.args = ()
        return True


_REDACTOR = _Redactor()
for _name in ("httpx", "httpcore", "telegram", "slack_sdk", "aiohttp"):
    logging.getLogger(_name).addFilter(_REDACTOR)


def redact_in_logs(secret: str | None) -> None:
    """Mask `secret` in the HTTP libraries' log lines from now on."""
    if secret:
        _REDACTOR.secrets.add(secret)


class _RetryAfter(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited, retry after {seconds}s")
        self.seconds = seconds


async def _with_rate_retries(
    attempt: Callable[[], Awaitable[str]],
    *,
    platform: str,
    chat: str,
    sleep: Sleep,
    max_retries: int,
) -> str:
    """Run `attempt`, waiting out each _RetryAfter it raises, at most `max_retries` times."""
    for n in range(max_retries + 1):
        try:
            return await attempt()
        except _RetryAfter as exc:
            wait = min(max(exc.seconds, 0.0), MAX_RETRY_AFTER) or DEFAULT_RETRY_AFTER
            if n == max_retries or exc.seconds > MAX_RETRY_AFTER:
                raise DeliveryError(
                    platform, chat, f"still rate limited after {n + 1} attempts"
                ) from None
            log.info("%s chat %s: rate limited, retrying in %.1fs", platform, chat, wait)
            await sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


# --- Telegram ---------------------------------------------------------------------------

PTB_TIMEDELTA_ENV = "PTB_TIMEDELTA"
# Telegram answers 400 with these when the bot can never post there again.
_TELEGRAM_GONE_400 = (
    "chat not found",
    "chat_write_forbidden",
    "have no rights to send a message",
    "need administrator rights",
    "group chat was deactivated",
)


class TelegramSender:
    """Sends `sendMessage` payloads through `telegram.Bot` (one client, initialised once)."""

    platform: Platform = "telegram"

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
        pool_size: int = 16,
    ) -> None:
        import telegram
        from telegram.request import HTTPXRequest

        if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
            raise ConfigError("Telegram needs PAPERDROP_TELEGRAM_TOKEN")
        # Opt in to v22's timedelta time periods (the future default): otherwise PTB emits
        # a deprecation warning while *constructing* RetryAfter, which a warnings-as-errors
        # setup turns into a crash instead of a 429 we can wait out.
        os.environ.setdefault(PTB_TIMEDELTA_ENV, "1")
        self._token = settings.telegram_token.get_secret_value()
        redact_in_logs(self._token)
        timeout = settings.http_timeout
        request = HTTPXRequest(
            connection_pool_size=pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            # Waiting for a pooled connection is not a failure of the message.
            pool_timeout=None,
        )
        self._bot = telegram.Bot(self._token, base_url=settings.telegram_api_url, request=request)
        self._limiter = limiter
        self._sleep = sleep
        self._max_retries = max_rate_retries
        self._init_lock = asyncio.Lock()
        self._ready = False

    def __repr__(self) -> str:
        return "TelegramSender()"

    async def _ensure_ready(self) -> None:
        async with self._init_lock:
            if not self._ready:
                try:
                    await self._bot.initialize()  # getMe, once
                except Exception as exc:
                    raise DeliveryError(
                        "telegram", "-", f"bot initialisation failed: {self._reason(exc)}"
                    ) from None
                self._ready = True

    def _reason(self, exc: BaseException) -> str:
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        return _scrub(message, [self._token])

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        if msg.method != "sendMessage":
            raise DeliveryError("telegram", sub.chat_id, f"unsupported method {msg.method}")
        await self._ensure_ready()
        from telegram import ReplyParameters

        extra = dict(msg.payload)
        text = str(extra.pop("text", msg.text))
        parse_mode = extra.pop("parse_mode", None)
        extra.pop("chat_id", None)
        reply = None
        if msg.in_thread and thread_ref:
            extra.pop("reply_parameters", None)
            reply = ReplyParameters(message_id=int(thread_ref), allow_sending_without_reply=True)

        async def attempt() -> str:
            if self._limiter is not None:
                await self._limiter.acquire("telegram", sub.chat_id)
            return await self._send_once(sub.chat_id, text, parse_mode, reply, extra)

        return await _with_rate_retries(
            attempt,
            platform="telegram",
            chat=sub.chat_id,
            sleep=self._sleep,
            max_retries=self._max_retries,
        )

    async def _send_once(
        self, chat_id: str, text: str, parse_mode: Any, reply: Any, extra: dict[str, Any]
    ) -> str:
        from telegram.error import (
            BadRequest,
            ChatMigrated,
            Forbidden,
            InvalidToken,
            RetryAfter,
            TelegramError,
        )
        from telegram.warnings import PTBDeprecationWarning

        try:
            sent = await self._bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=parse_mode,
                reply_parameters=reply,
                api_kwargs=extra or None,
            )
        except RetryAfter as exc:
            # v22 warns when the int form is read; the value is the same either way.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                after = exc.retry_after
            seconds = after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
            raise _RetryAfter(seconds) from None
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
            raise DeliveryError("telegram", chat_id, "the bot token was rejected") from None
        except TelegramError as exc:
            raise DeliveryError("telegram", chat_id, self._reason(exc)) from None
        return str(sent.message_id)

    async def aclose(self) -> None:
        if self._ready:
            await self._bot.shutdown()
            self._ready = False
        else:
            # The request objects may have opened nothing; shutting them down is harmless.
            await self._bot.request.shutdown()


# --- Slack ------------------------------------------------------------------------------

# chat.postMessage errors meaning the bot cannot post in this channel any more.
_SLACK_GONE = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "cannot_dm_bot",
        "user_disabled",
    }
)
# How many 429s the SDK's own handler retries before ours takes over.
SLACK_SDK_RATE_RETRIES = 2


class _SleepingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """The SDK's 429 handler, sleeping through our injected `sleep` (tests never wait)."""

    def __init__(self, sleep: Sleep, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # pragma: no cover - the SDK only calls this with a 429 response
            raise error or RuntimeError("no response")
        state.next_attempt_requested = True
        await self._sleep(_slack_retry_after(response.headers))
        state.increment_current_attempt()


def _slack_retry_after(headers: Any) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


class SlackSender:
    """Sends `chat.postMessage` payloads through slack_sdk's AsyncWebClient."""

    platform: Platform = "slack"

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
    ) -> None:
        if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
            raise ConfigError("Slack needs PAPERDROP_SLACK_BOT_TOKEN")
        self._token = settings.slack_bot_token.get_secret_value()
        redact_in_logs(self._token)
        self._base_url = settings.slack_api_url
        self._timeout = int(max(1, settings.http_timeout))
        self._limiter = limiter
        self._sleep = sleep
        self._max_retries = max_rate_retries
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self.retry_handlers: list[AsyncRetryHandler] = [
            _SleepingRateLimitHandler(sleep, SLACK_SDK_RATE_RETRIES),
            AsyncConnectionErrorRetryHandler(),
        ]

    def __repr__(self) -> str:
        return "SlackSender()"

    def _web(self) -> AsyncWebClient:
        if self._client is None:
            # One session for every call (the SDK would otherwise open one per request).
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
            self._client = AsyncWebClient(
                token=self._token,
                base_url=self._base_url,
                session=self._session,
                timeout=self._timeout,
                retry_handlers=self.retry_handlers,
            )
        return self._client

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        if msg.method != "chat.postMessage":
            raise DeliveryError("slack", sub.chat_id, f"unsupported method {msg.method}")
        kwargs = dict(msg.payload)
        kwargs.pop("channel", None)
        kwargs.pop("thread_ts", None)
        kwargs.setdefault("text", msg.text)  # Slack wants a fallback text with blocks
        if msg.in_thread and thread_ref:
            kwargs["thread_ts"] = thread_ref
        client = self._web()

        async def attempt() -> str:
            if self._limiter is not None:
                await self._limiter.acquire("slack", sub.chat_id)
            try:
                resp = await client.chat_postMessage(channel=sub.chat_id, **kwargs)
            except SlackApiError as exc:
                status = getattr(exc.response, "status_code", None)
                data = exc.response.data if isinstance(exc.response.data, dict) else {}
                code = str(data.get("error") or f"HTTP {status}")
                if status == 429 or code in ("ratelimited", "rate_limited"):
                    raise _RetryAfter(_slack_retry_after(exc.response.headers)) from None
                if code in _SLACK_GONE:
                    raise ChatGone("slack", sub.chat_id, code) from None
                detail = data.get("response_metadata", {}).get("messages") or []
                reason = code + (f" ({'; '.join(map(str, detail[:3]))})" if detail else "")
                raise DeliveryError("slack", sub.chat_id, _scrub(reason, [self._token])) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = _scrub(f"{exc.__class__.__name__}: {exc}", [self._token])
                raise DeliveryError("slack", sub.chat_id, reason) from None
            ts = resp.get("ts")
            if not ts:
                raise DeliveryError("slack", sub.chat_id, "answer without a message ts")
            return str(ts)

        return await _with_rate_retries(
            attempt,
            platform="slack",
            chat=sub.chat_id,
            sleep=self._sleep,
            max_retries=self._max_retries,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None


# --- Feishu -----------------------------------------------------------------------------

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES_PATH = "/open-apis/im/v1/messages"
# Refresh the tenant token this long before Feishu says it expires.
TOKEN_REFRESH_MARGIN = 300.0
# Feishu's uuid deduplicates a send for an hour; it may be at most 50 characters.
FEISHU_UUID_MAX = 50
# Codes meaning the tenant access token is missing, expired or invalid.
_FEISHU_BAD_TOKEN = frozenset({99991661, 99991663, 99991664, 99991665, 99991668, 99991671})
# Throttled: "request trigger frequency limit" (app, per app), 230020 (app, per chat),
# 11232 (custom bot "frequency limited"), 9499 only with HTTP 429.
_FEISHU_RATE_LIMITED = frozenset({99991400, 230020, 11232})
# The bot cannot post there any more: not in the group (230002), no availability to the
# user (230013), custom bot removed / webhook token invalid (19001).
_FEISHU_GONE = frozenset({230002, 230013, 19001})
FEISHU_SIGN_FAILED = 19021


def feishu_sign(timestamp: str, secret: str) -> str:
    """The custom-bot signature: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def feishu_uuid(chat_id: str, day: dt.date | None, part: int, content: str = "") -> str:
    """A send's idempotency key, the same on every retry of (chat, day, part)."""
    seed = f"{chat_id}|{day.isoformat() if day else content}|{part}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:40]
    uid = f"pd-{part}-{digest}"
    return uid[:FEISHU_UUID_MAX]


class FeishuSender:
    """Custom-bot webhooks (sub.webhook set) and app messages (tenant token) over httpx."""

    platform: Platform = "feishu"

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = settings.feishu_base_url.rstrip("/")
        self._app_id = settings.feishu_app_id
        self._app_secret = (
            settings.feishu_app_secret.get_secret_value() if settings.feishu_app_secret else None
        )
        redact_in_logs(self._app_secret)
        self._client = httpx.AsyncClient(timeout=settings.http_timeout, transport=transport)
        self._limiter = limiter
        self._sleep = sleep
        self._clock = clock
        self._max_retries = max_rate_retries
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.token_fetches = 0

    def __repr__(self) -> str:
        return "FeishuSender()"

    def _secrets(self, sub: Subscription) -> list[str | None]:
        return [
            self._app_secret,
            self._token,
            sub.webhook.get_secret_value() if sub.webhook else None,
            sub.secret.get_secret_value() if sub.secret else None,
        ]

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        webhook = sub.webhook is not None
        if sub.webhook is not None:
            redact_in_logs(sub.webhook.get_secret_value())

        async def attempt() -> str:
            if self._limiter is not None:
                await self._limiter.acquire(
                    "feishu", sub.chat_id, feishu_mode="webhook" if webhook else "app"
                )
            if webhook:
                return await self._send_webhook(sub, msg)
            return await self._send_app(sub, msg, thread_ref, day)

        return await _with_rate_retries(
            attempt,
            platform="feishu",
            chat=sub.chat_id,
            sleep=self._sleep,
            max_retries=self._max_retries,
        )

    # webhook mode

    async def _send_webhook(self, sub: Subscription, msg: OutMessage) -> str:
        assert sub.webhook is not None
        body = dict(msg.payload)
        if sub.secret is not None:
            timestamp = str(int(self._clock()))
            body["timestamp"] = timestamp
            body["sign"] = feishu_sign(timestamp, sub.secret.get_secret_value())
        data = await self._post(sub, sub.webhook.get_secret_value(), body, headers={})
        code = _code(data)
        if code == FEISHU_SIGN_FAILED:
            raise DeliveryError(
                "feishu",
                sub.chat_id,
                f"signature rejected (code {code}): the webhook's signing secret does not match",
            )
        self._raise_for_code(sub, data)
        inner = data.get("data")
        ref = inner.get("message_id") if isinstance(inner, dict) else None
        return str(ref) if ref else "webhook"

    # app mode

    async def _tenant_token(self, sub: Subscription, *, force: bool = False) -> str:
        async with self._token_lock:
            now = self._clock()
            if not force and self._token and now < self._token_expires:
                return self._token
            if not self._app_id or not self._app_secret:
                raise DeliveryError(
                    "feishu",
                    sub.chat_id,
                    "app mode needs PAPERDROP_FEISHU_APP_ID and PAPERDROP_FEISHU_APP_SECRET "
                    "(or subscribe with --webhook)",
                )
            body = {"app_id": self._app_id, "app_secret": self._app_secret}
            data = await self._post(sub, self._base + TOKEN_PATH, body, headers={})
            token = data.get("tenant_access_token")
            if _code(data) != 0 or not isinstance(token, str):
                raise DeliveryError(
                    "feishu", sub.chat_id, f"tenant token refused: {self._describe(sub, data)}"
                )
            self.token_fetches += 1
            redact_in_logs(token)
            expire = float(data.get("expire") or 7200)
            self._token = token
            self._token_expires = now + max(expire - TOKEN_REFRESH_MARGIN, 0.0)
            return token

    async def _send_app(
        self, sub: Subscription, msg: OutMessage, thread_ref: str | None, day: dt.date | None
    ) -> str:
        payload = dict(msg.payload)
        content = payload.get("content", payload.get("card"))
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        msg_type = payload.get("msg_type", "interactive")
        uid = feishu_uuid(sub.chat_id, day, msg.part, content)
        if msg.in_thread and thread_ref:
            url = f"{self._base}{MESSAGES_PATH}/{thread_ref}/reply"
            body: dict[str, Any] = {
                "msg_type": msg_type,
                "content": content,
                "reply_in_thread": True,
                "uuid": uid,
            }
        else:
            url = f"{self._base}{MESSAGES_PATH}?receive_id_type=chat_id"
            body = {
                "receive_id": sub.chat_id,
                "msg_type": msg_type,
                "content": content,
                "uuid": uid,
            }
        data: dict[str, Any] = {}
        for refreshed in (False, True):
            token = await self._tenant_token(sub, force=refreshed)
            data = await self._post(sub, url, body, headers={"Authorization": f"Bearer {token}"})
            if _code(data) not in _FEISHU_BAD_TOKEN:
                break
            log.info("feishu: tenant token refused, fetching a new one")
        self._raise_for_code(sub, data)
        inner = data.get("data")
        ref = inner.get("message_id") if isinstance(inner, dict) else None
        if not ref:
            raise DeliveryError("feishu", sub.chat_id, "answer without a message_id")
        return str(ref)

    # shared

    async def _post(
        self, sub: Subscription, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            resp = await self._client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            # httpx's messages may contain the URL, which for a webhook holds its token.
            raise DeliveryError(
                "feishu", sub.chat_id, f"request failed: {exc.__class__.__name__}"
            ) from None
        if resp.status_code == 429:
            raise _RetryAfter(_feishu_retry_after(resp.headers))
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if resp.status_code in (403, 404) and sub.webhook is not None:
                raise ChatGone("feishu", sub.chat_id, f"webhook answered HTTP {resp.status_code}")
            raise DeliveryError("feishu", sub.chat_id, f"HTTP {resp.status_code}, no JSON answer")
        if _code(data) in _FEISHU_RATE_LIMITED:
            raise _RetryAfter(_feishu_retry_after(resp.headers))
        return data

    def _describe(self, sub: Subscription, data: dict[str, Any]) -> str:
        message = data.get("msg") or data.get("StatusMessage") or ""
        return _scrub(f"code {_code(data)}: {message}", self._secrets(sub))

    def _raise_for_code(self, sub: Subscription, data: dict[str, Any]) -> None:
        code = _code(data)
        if code == 0:
            return
        if code in _FEISHU_GONE:
            raise ChatGone("feishu", sub.chat_id, self._describe(sub, data))
        raise DeliveryError("feishu", sub.chat_id, self._describe(sub, data))

    async def aclose(self) -> None:
        await self._client.aclose()


def _code(data: dict[str, Any]) -> int:
    # Open API answers carry "code"; old custom-bot answers "StatusCode".
    raw = data.get("code", data.get("StatusCode", 0))
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def _feishu_retry_after(headers: httpx.Headers) -> float:
    for name in ("retry-after", "x-ogw-ratelimit-reset"):
        value = headers.get(name)
        if value:
            try:
                return max(float(value), 0.0)
            except ValueError:
                continue
    return DEFAULT_RETRY_AFTER


def make_senders(
    settings: Settings,
    platforms: Iterable[Platform],
    *,
    limiter: RateLimiter | None = None,
    sleep: Sleep = asyncio.sleep,
) -> dict[Platform, Sender]:
    """One sender per platform asked for; ConfigError when its credentials are missing."""
    out: dict[Platform, Sender] = {}
    for platform in dict.fromkeys(platforms):
        if platform == "telegram":
            out[platform] = TelegramSender(settings, limiter=limiter, sleep=sleep)
        elif platform == "slack":
            out[platform] = SlackSender(settings, limiter=limiter, sleep=sleep)
        else:
            out[platform] = FeishuSender(settings, limiter=limiter, sleep=sleep)
    return out
