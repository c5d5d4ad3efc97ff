"""Discord sending: REST API v10 through httpx (reference: the message id).

httpx rather than discord.py or hikari: those are Gateway frameworks that own the event
loop and a WebSocket; paperdrop needs four REST routes and the interactions endpoint.

`DiscordRest` makes one call: `Authorization: Bot <token>` (none on interaction
webhooks, whose token is in the path), waits before a route bucket that Discord said is
empty (`X-RateLimit-Remaining: 0`, `X-RateLimit-Reset-After`), and turns a 429 into
`RetryAfter(retry_after)` (float seconds; `global` for the whole bot), waited out by
`bot.core.retries.with_rate_retries` a bounded number of times. Refusals: `ChatGone`
when the bot may not post in the channel any more, `TokenExpired` for an interaction
token past its 15 minutes, `DeliveryError` with Discord's code and message for the rest.
No token is ever in an error or a log line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.core.messages import OutMessage
from bot.core.ports import Sleep
from bot.core.ratelimit import Limiter
from bot.core.retries import DEFAULT_RATE_RETRIES, Pacing, RetryAfter
from bot.platforms.discord.rules import SDK_LOGGERS, rate_keys
from bot.platforms.discord.settings import DiscordSettings
from digest.errors import ChatGone, ConfigError, DeliveryError
from digest.models import Platform, Subscription
from digest.redaction import redact_in_logs, scrub_line

__all__ = ["DiscordRest", "DiscordSender", "TokenExpired", "TokenRefused"]

log = logging.getLogger(__name__)

# JSON error codes meaning the bot cannot post in this channel any more.
_GONE = frozenset(
    {
        10003,  # Unknown Channel
        50001,  # Missing Access
        50007,  # Cannot send messages to this user
        50013,  # Missing Permissions
        50083,  # Operation on an archived thread
    }
)
_TOKEN_EXPIRED = frozenset({50027, 10015})  # Invalid Webhook Token, Unknown Webhook


class TokenExpired(DeliveryError):
    """An interaction's webhook token is no longer valid (15 minutes passed)."""


class TokenRefused(DeliveryError):
    """Discord refused the bot token (401): trying again cannot help."""


class _Bucket:
    """What Discord said of one route bucket: requests left and when it refills."""

    __slots__ = ("remaining", "reset_at")

    def __init__(self, remaining: int, reset_at: float) -> None:
        self.remaining = remaining
        self.reset_at = reset_at


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class DiscordRest:
    """One HTTP client for Discord's REST API, honouring its rate-limit headers."""

    def __init__(
        self,
        own: DiscordSettings,
        *,
        timeout: float,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = own.token
        redact_in_logs(self._token, SDK_LOGGERS)
        self.base_url = own.api_url.rstrip("/")
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._route_bucket: dict[str, str] = {}  # route key -> Discord's bucket id
        self._buckets: dict[str, _Bucket] = {}

    def __repr__(self) -> str:  # never show the token
        return f"DiscordRest(base_url={self.base_url!r})"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def _wait_for_bucket(self, route: str) -> None:
        bucket = self._buckets.get(self._route_bucket.get(route, ""))
        if bucket is None or bucket.remaining > 0:
            return
        wait = bucket.reset_at - self._clock()
        bucket.remaining = 1  # waited once: the next answer says how it stands
        if wait > 0:
            await self._sleep(wait)

    def _learn(self, route: str, headers: httpx.Headers) -> None:
        bucket_id = headers.get("x-ratelimit-bucket")
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset_after = _number(headers.get("x-ratelimit-reset-after"))
        if bucket_id is None or remaining is None or reset_after is None:
            return
        self._route_bucket[route] = bucket_id
        self._buckets[bucket_id] = _Bucket(int(remaining), self._clock() + reset_after)

    async def call(
        self,
        method: str,
        path: str,
        *,
        route: str,
        chat: str,
        body: dict[str, Any] | list[Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """One request; the JSON answer (None for 204). Raises RetryAfter on a 429."""
        await self._wait_for_bucket(route)
        headers = {"Authorization": f"Bot {self._token}"} if auth else {}
        try:
            response = await self._http().request(
                method, self.base_url + path, json=body, headers=headers
            )
        except httpx.HTTPError as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            raise DeliveryError("discord", chat, self._scrub(reason)) from None
        self._learn(route, response.headers)
        if response.status_code == 429:
            data = _json(response)
            wait = _number(str(data.get("retry_after"))) if isinstance(data, dict) else None
            if isinstance(data, dict) and data.get("global"):
                log.info("discord: globally rate limited for %.2fs", wait or 1.0)
            raise RetryAfter(wait if wait is not None else 1.0)
        if response.status_code == 204:
            return None
        if response.is_success:
            return _json(response)
        raise self._refusal(response, chat)

    def _refusal(self, response: httpx.Response, chat: str) -> DeliveryError:
        data = _json(response)
        code = data.get("code") if isinstance(data, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        reason = self._scrub(f"HTTP {response.status_code} {code}: {message}")
        if isinstance(data, dict) and data.get("errors"):
            reason = self._scrub(f"{reason} {str(data['errors'])[:200]}")
        if code in _TOKEN_EXPIRED:
            return TokenExpired("discord", chat, reason)
        if response.status_code == 401:
            return TokenRefused("discord", chat, reason)
        if code in _GONE or response.status_code in (403, 404):
            return ChatGone("discord", chat, reason)
        return DeliveryError("discord", chat, reason)

    def _scrub(self, text: str) -> str:
        return scrub_line(text, [self._token])

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class DiscordSender:
    """Posts messages to channels (and starts a pick's thread) as the bot."""

    platform: Platform = "discord"

    def __init__(
        self,
        own: DiscordSettings,
        *,
        timeout: float = 20.0,
        limiter: Limiter | None = None,
        sleep: Sleep = asyncio.sleep,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
    ) -> None:
        if not own.can_send:
            raise ConfigError("Discord needs PAPERDROP_DISCORD_BOT_TOKEN")
        self.rest = DiscordRest(own, timeout=timeout, sleep=sleep)
        self._pace = Pacing("discord", limiter, sleep, max_rate_retries)

    def __repr__(self) -> str:
        return "DiscordSender()"

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        # Into a thread (a channel of its own) when the answer belongs there.
        channel = thread_ref if (msg.in_thread and thread_ref) else sub.chat_id
        if msg.method == "messages":
            return await self.post(channel, msg.payload)
        if msg.method == "thread":
            ref = await self.post(channel, msg.payload["message"])
            await self.start_thread(channel, ref, str(msg.payload["name"]))
            return ref
        raise DeliveryError("discord", sub.chat_id, f"unsupported method {msg.method}")

    async def post(self, channel: str, body: dict[str, Any]) -> str:
        """POST /channels/{channel}/messages; the new message's id."""

        async def attempt() -> Any:
            return await self.rest.call(
                "POST",
                f"/channels/{channel}/messages",
                route=f"messages:{channel}",
                chat=channel,
                body=body,
            )

        answer = await self._pace.run(attempt, chat=channel, keys=rate_keys(channel))
        if not isinstance(answer, dict) or not answer.get("id"):
            raise DeliveryError("discord", channel, "answer without a message id")
        return str(answer["id"])

    async def start_thread(self, channel: str, message_id: str, name: str) -> str | None:
        """A thread from a message (its id is the message's); None when refused (the
        message is out: a thread that could not start never sends it again)."""

        async def attempt() -> Any:
            return await self.rest.call(
                "POST",
                f"/channels/{channel}/messages/{message_id}/threads",
                route=f"threads:{channel}",
                chat=channel,
                body={"name": name, "auto_archive_duration": 1440},
            )

        try:
            answer = await self.retried(attempt, channel)
        except DeliveryError as exc:
            log.warning("discord: thread not started from a pick: %s", exc.reason)
            return None
        return str(answer.get("id")) if isinstance(answer, dict) else None

    async def retried(self, attempt: Callable[[], Awaitable[Any]], chat: str) -> Any:
        """`attempt` (not a limited send), its 429s waited out."""
        return await self._pace.run(attempt, chat=chat)

    async def aclose(self) -> None:
        await self.rest.aclose()
