"""Slack sending through slack_sdk's AsyncWebClient (reference: ts), with the SDK's
rate-limit retry handler installed (sleeping through our injected `sleep`).

Refusals: `ChatGone` for the errors meaning the bot cannot post in the channel any more,
`DeliveryError` with Slack's error code for the rest; 429s are waited out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from bot.core.messages import OutMessage
from bot.core.ports import Sleep
from bot.core.ratelimit import Limiter
from bot.core.retries import DEFAULT_RATE_RETRIES, Pacing, RetryAfter, retry_after_header
from bot.platforms.slack.rules import SDK_LOGGERS, rate_keys
from bot.platforms.slack.settings import slack_settings
from digest.errors import ChatGone, ConfigError, DeliveryError
from digest.models import Platform, Subscription
from digest.redaction import redact_in_logs, scrub_line
from digest.settings import Settings

# slack_sdk and aiohttp are imported where a sender is made or used: they take ~0.3 s to
# import, which the commands that send nothing (`--help`, `brief`…) should not pay.
if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.http_retry.async_handler import AsyncRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["SLACK_SDK_RATE_RETRIES", "SlackSender"]

log = logging.getLogger(__name__)

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


@functools.cache
def _sleeping_rate_limit_handler() -> Any:
    """The SDK's 429 handler, sleeping through our injected `sleep` (tests never wait); a
    class made on first use, as it subclasses the SDK's (imported then)."""
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState

    class SleepingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
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
            if response is None:  # pragma: no cover - the SDK calls this with a 429 only
                raise error or RuntimeError("no response")
            state.next_attempt_requested = True
            await self._sleep(retry_after_header(response.headers))
            state.increment_current_attempt()

    return SleepingRateLimitHandler


class SlackSender:
    """Sends `chat.postMessage` payloads through slack_sdk's AsyncWebClient."""

    platform: Platform = "slack"

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: Limiter | None = None,
        sleep: Sleep = asyncio.sleep,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
    ) -> None:
        from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler

        own = slack_settings(settings)
        if own.bot_token is None or not own.bot_token.get_secret_value():
            raise ConfigError("Slack needs PAPERDROP_SLACK_BOT_TOKEN")
        self._token = own.bot_token.get_secret_value()
        redact_in_logs(self._token, SDK_LOGGERS)
        self._base_url = own.api_url
        self._timeout = int(max(1, settings.http_timeout))
        self._pace = Pacing("slack", limiter, sleep, max_rate_retries)
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self.retry_handlers: list[AsyncRetryHandler] = [
            _sleeping_rate_limit_handler()(sleep, SLACK_SDK_RATE_RETRIES),
            AsyncConnectionErrorRetryHandler(),
        ]

    def __repr__(self) -> str:
        return "SlackSender()"

    def _web(self) -> AsyncWebClient:
        import aiohttp
        from slack_sdk.web.async_client import AsyncWebClient

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
        import aiohttp
        from slack_sdk.errors import SlackApiError

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
            try:
                resp = await client.chat_postMessage(channel=sub.chat_id, **kwargs)
            except SlackApiError as exc:
                status = getattr(exc.response, "status_code", None)
                data = exc.response.data if isinstance(exc.response.data, dict) else {}
                code = str(data.get("error") or f"HTTP {status}")
                if status == 429 or code in ("ratelimited", "rate_limited"):
                    raise RetryAfter(retry_after_header(exc.response.headers)) from None
                if code in _SLACK_GONE:
                    raise ChatGone("slack", sub.chat_id, code) from None
                detail = data.get("response_metadata", {}).get("messages") or []
                reason = code + (f" ({'; '.join(map(str, detail[:3]))})" if detail else "")
                raise DeliveryError(
                    "slack", sub.chat_id, scrub_line(reason, [self._token])
                ) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = scrub_line(f"{exc.__class__.__name__}: {exc}", [self._token])
                raise DeliveryError("slack", sub.chat_id, reason) from None
            ts = resp.get("ts")
            if not ts:
                raise DeliveryError("slack", sub.chat_id, "answer without a message ts")
            return str(ts)

        def post() -> Awaitable[str]:
            return self._pace.run(attempt, chat=sub.chat_id, keys=rate_keys(sub.chat_id))

        try:
            return await post()
        except DeliveryError as exc:
            blocks = kwargs.get("blocks")
            images = [b for b in blocks or [] if isinstance(b, dict) and b.get("type") == "image"]
            if not exc.reason.startswith("invalid_blocks") or not images:
                raise
            # Slack could not fetch a figure: the message goes without it.
            log.info("slack: image not shown (%s); sending without it", exc.reason[:120])
            kwargs["blocks"] = [b for b in blocks or [] if b not in images]
            return await post()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None
