"""Feishu/Lark sending: custom-bot webhooks and app messages over httpx.

Reference: message_id (a custom-bot webhook returns none, so "webhook"). httpx rather than
lark-oapi's client for sending: lark-oapi's client is synchronous at heart (its async calls
run requests in a thread), it does not cover custom-bot webhooks at all, and the two
endpoints plus the token call we need are a small surface that httpx covers directly and
asynchronously. (Receiving is native as well: see `receive`, `events` and `longconn`.)

Refusals: `ChatGone` when the bot can no longer post there, `DeliveryError` with Feishu's
code and message for the rest; 429s and throttling codes are waited out.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.core.messages import OutMessage
from bot.core.ports import Clock, Sleep
from bot.core.ratelimit import Limiter
from bot.core.retries import DEFAULT_RATE_RETRIES, Pacing, RetryAfter, retry_after_header
from bot.platforms.feishu.options import webhook, webhook_secret
from bot.platforms.feishu.render import IMAGE_PENDING
from bot.platforms.feishu.rules import SDK_LOGGERS, rate_keys
from bot.platforms.feishu.settings import feishu_settings
from digest.errors import ChatGone, DeliveryError
from digest.fulltext.fetch import IMAGE_MAX_BYTES, ArxivWeb, FetchFailed
from digest.models import Platform, Subscription
from digest.redaction import redact_in_logs, scrub_line
from digest.settings import Settings

__all__ = ["WEBHOOK_REF", "FeishuSender", "feishu_sign", "feishu_uuid"]

# The reference of a custom-bot message: a webhook answers with no message id.
WEBHOOK_REF = "webhook"

log = logging.getLogger(__name__)

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES_PATH = "/open-apis/im/v1/messages"
IMAGES_PATH = "/open-apis/im/v1/images"

ImageFetch = Callable[[str], Awaitable[bytes]]
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
    """Custom-bot webhooks (the `webhook` option) and app messages (tenant token) over httpx."""

    platform: Platform = "feishu"

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: Limiter | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        max_rate_retries: int = DEFAULT_RATE_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        images: ImageFetch | None = None,
    ) -> None:
        self._settings = settings
        self._images = images
        self._web: ArxivWeb | None = None
        own = feishu_settings(settings)
        self._base = own.base_url.rstrip("/")
        self._app_id = own.app_id
        self._app_secret = own.app_secret.get_secret_value() if own.app_secret else None
        redact_in_logs(self._app_secret, SDK_LOGGERS)
        self._client = httpx.AsyncClient(timeout=settings.http_timeout, transport=transport)
        self._pace = Pacing("feishu", limiter, sleep, max_rate_retries)
        self._clock = clock
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
            webhook(sub),
            webhook_secret(sub),
        ]

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        hook = webhook(sub)
        if hook is not None:
            redact_in_logs(hook, SDK_LOGGERS)
        # A brief part's uuid is stable per (chat, day, part): a re-run is deduplicated.
        # An answer (no day) is new each time it is sent: the same "/help" twice must
        # arrive twice; the nonce stays the same across this send's own retries.
        nonce = "" if day is not None else secrets.token_hex(8)
        if hook is None and msg.media_url:
            msg = await self._with_image(sub, msg)

        async def attempt() -> str:
            if hook is not None:
                return await self._send_webhook(sub, hook, msg)
            return await self._send_app(sub, msg, thread_ref, day, nonce)

        keys = rate_keys(sub.chat_id, webhook=hook is not None)
        return await self._pace.run(attempt, chat=sub.chat_id, keys=keys)

    # webhook mode

    async def _send_webhook(self, sub: Subscription, hook: str, msg: OutMessage) -> str:
        body = dict(msg.payload)
        signing = webhook_secret(sub)
        if signing is not None:
            timestamp = str(int(self._clock()))
            body["timestamp"] = timestamp
            body["sign"] = feishu_sign(timestamp, signing)
        data = await self._post(sub, hook, body, headers={})
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
        return str(ref) if ref else WEBHOOK_REF

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
            redact_in_logs(token, SDK_LOGGERS)
            expire = float(data.get("expire") or 7200)
            self._token = token
            self._token_expires = now + max(expire - TOKEN_REFRESH_MARGIN, 0.0)
            return token

    async def _send_app(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        day: dt.date | None,
        nonce: str = "",
    ) -> str:
        payload = dict(msg.payload)
        content = payload.get("content", payload.get("card"))
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        msg_type = payload.get("msg_type", "interactive")
        uid = feishu_uuid(sub.chat_id, day, msg.part, nonce + content)
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

    # images (a card's figure)

    async def _fetch_image(self, url: str) -> bytes:
        """The image from the configured arXiv hosts only (the polite client)."""
        if self._images is not None:
            return await self._images(url)
        if self._web is None:
            self._web = ArxivWeb(self._settings)
        got = await self._web.get(url, max_bytes=IMAGE_MAX_BYTES)
        if got.status != 200 or not got.content_type.startswith("image/"):
            raise FetchFailed("unreadable", f"HTTP {got.status} {got.content_type}")
        return got.body

    async def _upload_image(self, sub: Subscription, data: bytes) -> str:
        token = await self._tenant_token(sub)
        try:
            resp = await self._client.post(
                self._base + IMAGES_PATH,
                data={"image_type": "message"},
                files={"image": ("figure", data)},
                headers={"Authorization": f"Bearer {token}"},
            )
            answer = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DeliveryError(
                "feishu", sub.chat_id, f"image upload: {type(exc).__name__}"
            ) from None
        key = (answer.get("data") or {}).get("image_key") if isinstance(answer, dict) else None
        if _code(answer) != 0 or not isinstance(key, str):
            raise DeliveryError(
                "feishu", sub.chat_id, f"image upload: {self._describe(sub, answer)}"
            )
        return key

    async def _with_image(self, sub: Subscription, msg: OutMessage) -> OutMessage:
        """The card with its figure uploaded (im/v1/images) and keyed; without the image
        when that fails: a failed image never loses the card."""
        assert msg.media_url is not None
        key: str | None = None
        try:
            key = await self._upload_image(sub, await self._fetch_image(msg.media_url))
        except (DeliveryError, FetchFailed, ValueError) as exc:
            log.info("feishu: figure not shown: %s", getattr(exc, "reason", None) or exc)
        payload = dict(msg.payload)
        raw = payload.get("content")
        card = json.loads(raw) if isinstance(raw, str) else payload.get("card")
        if isinstance(card, dict):
            body = card.get("body") or {}
            elements = []
            for el in body.get("elements") or []:
                if isinstance(el, dict) and el.get("img_key") == IMAGE_PENDING:
                    if key is None:
                        continue
                    el = {**el, "img_key": key}
                elements.append(el)
            card = {**card, "body": {**body, "elements": elements}}
            if isinstance(raw, str):
                payload["content"] = json.dumps(card, ensure_ascii=False)
            else:
                payload["card"] = card
        return msg.model_copy(update={"payload": payload, "media_url": None})

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
            raise RetryAfter(_feishu_retry_after(resp.headers))
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if resp.status_code in (403, 404) and webhook(sub) is not None:
                raise ChatGone("feishu", sub.chat_id, f"webhook answered HTTP {resp.status_code}")
            raise DeliveryError("feishu", sub.chat_id, f"HTTP {resp.status_code}, no JSON answer")
        if _code(data) in _FEISHU_RATE_LIMITED:
            raise RetryAfter(_feishu_retry_after(resp.headers))
        return data

    def _describe(self, sub: Subscription, data: dict[str, Any]) -> str:
        message = data.get("msg") or data.get("StatusMessage") or ""
        return scrub_line(f"code {_code(data)}: {message}", self._secrets(sub))

    def _raise_for_code(self, sub: Subscription, data: dict[str, Any]) -> None:
        code = _code(data)
        if code == 0:
            return
        if code in _FEISHU_GONE:
            raise ChatGone("feishu", sub.chat_id, self._describe(sub, data))
        raise DeliveryError("feishu", sub.chat_id, self._describe(sub, data))

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._web is not None:
            await self._web.aclose()


def _code(data: dict[str, Any]) -> int:
    # Open API answers carry "code"; old custom-bot answers "StatusCode".
    raw = data.get("code", data.get("StatusCode", 0))
    try:
        return int(raw)
    except (TypeError, ValueError):
        return -1


def _feishu_retry_after(headers: httpx.Headers) -> float:
    return retry_after_header(dict(headers), "retry-after", "x-ogw-ratelimit-reset")
