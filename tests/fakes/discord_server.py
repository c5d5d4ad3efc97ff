"""A fake Discord for contract tests: the REST API a bot calls, and the interactions it receives.

    async with FakeDiscord() as discord:
        # send side: base_url is ``http://127.0.0.1:PORT/api/v10``
        httpx.post(f"{discord.base_url}/channels/C1/messages",
                   headers={"Authorization": f"Bot {discord.token}"}, json={"content": "hi"})
        # receive side: a signed interaction posted to the bot's endpoint
        reply = await discord.interact(url, discord.slash_command("paper", {"id": "2605.29559"}))

REST (``/api/v10``), ``Authorization: Bot <token>`` on every call (else 401, code 0):

- ``POST /channels/{channel}/messages``: create a message. ``PATCH
  /channels/{channel}/messages/{id}``: edit a bot message (unknown -> 404, code 10008).
- ``POST /channels/{channel}/messages/{id}/threads``: start a thread from a message
  (``name`` 1..100 chars; one thread per message, else 400 code 160004); the thread is a
  channel of its own whose ``parent_id`` is `channel`, and, as on Discord, its id is the
  message's id.
- ``POST /webhooks/{app_id}/{token}``: an interaction follow-up; ``PATCH
  /webhooks/{app_id}/{token}/messages/@original``: edit the deferred reply. A token lives
  15 minutes on the fake clock (then 401 code 50027 "Invalid Webhook Token"); unknown ->
  404 code 10015 "Unknown Webhook". Follow-ups honour ``flags: 64`` (ephemeral).
  ``DELETE /webhooks/{app_id}/{token}/messages/@original`` removes the deferred reply
  (recorded in `deleted_originals`).
- ``GET /users/@me``: the bot user.
- ``PUT /applications/{app_id}/commands``: replace the global slash commands (names
  ``^[-_a-z0-9]{1,32}$``, descriptions 1..100, <= 25 options, <= 100 commands; else 400
  code 50035); kept in `commands`.

Message bodies (JSON, or ``payload_json`` in a multipart form), checked as Discord does and
refused with 400 ``{"code": 50035, "message": "Invalid Form Body", "errors": {...}}``:
``content`` <= 2,000; <= 10 ``embeds``, title <= 256, description <= 4,096, <= 25 fields
(name <= 256, value <= 1,024), footer text <= 2,048, author name <= 256, and <= 6,000
characters across every embed's title, description, field names and values, footer text
and author name; ``components``: <= 5 action rows (type 1) of 1..5 buttons (type 2), each
with ``custom_id`` <= 100 (style 5 buttons carry a ``url`` instead) and a label <= 80. A body
with neither content nor embeds is refused with code 50006 "Cannot send an empty message".
Mass mentions (``@everyone``, ``@here``) in content are accepted; when ``allowed_mentions``
does not say ``{"parse": []}`` (or leave out "everyone") the message is flagged in
`mass_mentions` so tests can assert a bot never pings a channel.

Rate limits, when `enforce_rate_limits`, on the injectable clock: per route bucket, 5
messages per 5 s per channel (and per webhook token), plus a global 50 requests per
second. Every answer carries ``X-RateLimit-Limit/-Remaining/-Reset-After/-Bucket``; a 429
carries ``Retry-After`` and ``{"message": "You are being rate limited.", "retry_after":
<float seconds>, "global": <bool>}``. `fail_next(status, method=..., chat=...)` injects a
failure (``method`` is ``"messages"``, ``"edit"``, ``"thread"``, ``"followup"`` or
``"original"``).

Interactions: the fake holds an Ed25519 key; `public_key` is the hex public key to give the
bot. `interact(url, payload)` POSTs the payload signed over ``X-Signature-Timestamp +
body`` in ``X-Signature-Ed25519`` (``forge=True`` signs with another key) and returns an
`InteractionReply` (status, JSON body). `ping()`, `slash_command(...)` and
`button_click(...)` build payloads shaped like Discord's (type 1, 2 and 3); each carries a
fresh interaction token registered for follow-ups. ``thread_of=<channel>`` makes the
interaction come from a thread of that channel (``channel.type`` 11 with its
``parent_id``), as Discord describes one used inside a thread. `wait_until(predicate)`
wakes whenever something is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from tests.fakes._base import FakeServer, Injection
from tests.fakes.ratelimit import Clock, Window

__all__ = [
    "CONTENT_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "DiscordMessage",
    "FakeDiscord",
    "InteractionReply",
]

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
ACTION_ROWS_LIMIT = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80
THREAD_NAME_LIMIT = 100
TOKEN_LIFETIME = 15 * 60.0

PER_ROUTE = Window(5, 5.0, "route")
GLOBAL = Window(50, 1.0, "global")

_MASS = re.compile(r"@(everyone|here)\b")
_COMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


@dataclass
class DiscordMessage:
    """A message the bot created (in a channel, a thread, or as an interaction reply)."""

    id: str
    channel_id: str
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    at: float
    via: str = "channel"  # "channel", "followup" or "original"
    ephemeral: bool = False
    reference: str | None = None
    edits: int = 0
    thread_id: str | None = None

    @property
    def text(self) -> str:
        """Content plus every embed's visible text, for assertions on what a reader sees."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for fld in embed.get("fields", []):
                parts += [fld.get("name", ""), fld.get("value", "")]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    @property
    def custom_ids(self) -> list[str]:
        return [
            button["custom_id"]
            for row in self.components
            for button in row.get("components", [])
            if "custom_id" in button
        ]


@dataclass(frozen=True)
class InteractionReply:
    status: int
    body: dict[str, Any] | None
    text: str


@dataclass
class _Interaction:
    token: str
    channel_id: str
    created: float
    original: str | None = None


@dataclass
class _Refusal(Exception):
    status: int
    code: int
    message: str
    errors: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    is_global: bool = False


def _embed_chars(embed: dict[str, Any]) -> int:
    total = len(str(embed.get("title", ""))) + len(str(embed.get("description", "")))
    for fld in embed.get("fields", []) or []:
        total += len(str(fld.get("name", ""))) + len(str(fld.get("value", "")))
    total += len(str((embed.get("footer") or {}).get("text", "")))
    total += len(str((embed.get("author") or {}).get("name", "")))
    return total


def _too_long(errors: dict[str, Any], path: str, value: Any, limit: int) -> None:
    if value is not None and len(str(value)) > limit:
        errors[path] = {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
            ]
        }


def check_body(body: dict[str, Any], *, need_content: bool = True) -> None:
    """Refuse a message body the way Discord does (raises `_Refusal`)."""
    errors: dict[str, Any] = {}
    content = body.get("content")
    _too_long(errors, "content", content, CONTENT_LIMIT)
    embeds = body.get("embeds") or []
    if not isinstance(embeds, list) or len(embeds) > EMBEDS_PER_MESSAGE:
        errors["embeds"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "≤ 10"}]}
        embeds = []
    for i, embed in enumerate(embeds):
        _too_long(errors, f"embeds.{i}.title", embed.get("title"), TITLE_LIMIT)
        _too_long(errors, f"embeds.{i}.description", embed.get("description"), DESCRIPTION_LIMIT)
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_LIMIT:
            errors[f"embeds.{i}.fields"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
        for j, fld in enumerate(fields):
            if not fld.get("name") or not fld.get("value"):
                errors[f"embeds.{i}.fields.{j}"] = {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}
            _too_long(errors, f"embeds.{i}.fields.{j}.name", fld.get("name"), FIELD_NAME_LIMIT)
            _too_long(errors, f"embeds.{i}.fields.{j}.value", fld.get("value"), FIELD_VALUE_LIMIT)
        _too_long(errors, f"embeds.{i}.footer.text", (embed.get("footer") or {}).get("text"), 2048)
        _too_long(errors, f"embeds.{i}.author.name", (embed.get("author") or {}).get("name"), 256)
    if sum(_embed_chars(e) for e in embeds) > EMBED_TOTAL_LIMIT:
        errors["embeds"] = {
            "_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds 6000."}]
        }
    rows = body.get("components") or []
    if len(rows) > ACTION_ROWS_LIMIT:
        errors["components"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
        rows = []
    for i, row in enumerate(rows):
        buttons = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(buttons) <= BUTTONS_PER_ROW:
            errors[f"components.{i}"] = {"_errors": [{"code": "COMPONENT_LAYOUT_WIDTH_EXCEEDED"}]}
            continue
        for j, button in enumerate(buttons):
            where = f"components.{i}.components.{j}"
            if button.get("type") != 2:
                errors[where] = {"_errors": [{"code": "UNION_TYPE_CHOICES"}]}
            elif button.get("style") == 5:
                if not str(button.get("url", "")).startswith(("http://", "https://")):
                    errors[f"{where}.url"] = {"_errors": [{"code": "URL_TYPE_INVALID_URL"}]}
            elif not button.get("custom_id"):
                errors[f"{where}.custom_id"] = {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}
            _too_long(errors, f"{where}.custom_id", button.get("custom_id"), CUSTOM_ID_LIMIT)
            _too_long(errors, f"{where}.label", button.get("label"), LABEL_LIMIT)
    if errors:
        raise _Refusal(400, 50035, "Invalid Form Body", errors)
    if need_content and not content and not embeds:
        raise _Refusal(400, 50006, "Cannot send an empty message")


def _pings_everyone(body: dict[str, Any]) -> bool:
    if not _MASS.search(str(body.get("content") or "")):
        return False
    allowed = body.get("allowed_mentions")
    if allowed is None:
        return True
    return "everyone" in (allowed.get("parse") or [])


class FakeDiscord(FakeServer):
    """Discord's REST API and interaction sender, on 127.0.0.1 (see the module doc)."""

    def __init__(
        self,
        *,
        token: str = "discord-bot-token-SECRET",
        application_id: str = "900000000000000001",
        clock: Clock = time.monotonic,
        enforce_rate_limits: bool = False,
        port: int = 0,
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits, port=port)
        self.token = token
        self.application_id = application_id
        self.bot_user_id = "900000000000000002"
        self._key = ECC.generate(curve="ed25519")
        self.messages: list[DiscordMessage] = []
        self.threads: dict[str, str] = {}  # thread id -> parent message id
        self.thread_names: dict[str, str] = {}
        self.mass_mentions: list[DiscordMessage] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every REST call
        self.commands: list[dict[str, Any]] = []  # the registered slash commands
        self.deleted_originals: list[str] = []  # interaction tokens whose reply was deleted
        self._interactions: dict[str, _Interaction] = {}
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._changed = asyncio.Event()

    def __repr__(self) -> str:  # never show the token
        return f"FakeDiscord(base_url={self._origin or '-'})"

    def _base_path(self) -> str:
        return "/api/v10"

    # -- keys and payloads -----------------------------------------------------------------

    @property
    def public_key(self) -> str:
        """The application's public key, hex, as the developer portal shows it."""
        raw: bytes = self._key.public_key().export_key(format="raw")
        return raw.hex()

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _new_interaction(self, channel_id: str) -> tuple[str, str]:
        token = "itok-" + secrets.token_urlsafe(24)
        self._interactions[token] = _Interaction(token, channel_id, self.clock())
        return self._next_id(), token

    def _base_payload(
        self,
        kind: int,
        channel_id: str,
        user_id: str,
        guild_id: str | None,
        locale: str,
        thread_of: str | None = None,
    ) -> dict[str, Any]:
        interaction_id, token = self._new_interaction(channel_id)
        user = {"id": user_id, "username": f"user{user_id[-4:]}", "global_name": "A Reader"}
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": self.application_id,
            "type": kind,
            "token": token,
            "version": 1,
            "channel_id": channel_id,
            "channel": {"id": channel_id, "type": 0 if guild_id else 1},
            "locale": locale,
            "app_permissions": "2048",
        }
        if thread_of is not None:
            payload["channel"] = {"id": channel_id, "type": 11, "parent_id": thread_of}
        if guild_id:
            payload["guild_id"] = guild_id
            payload["member"] = {"user": user, "permissions": "2147483647", "roles": []}
        else:
            payload["user"] = user
        return payload

    def ping(self) -> dict[str, Any]:
        return {"id": self._next_id(), "application_id": self.application_id, "type": 1}

    def slash_command(
        self,
        name: str,
        options: dict[str, str] | None = None,
        *,
        channel_id: str = "100000000000000001",
        user_id: str = "200000000000000001",
        guild_id: str | None = None,
        locale: str = "en-US",
        admin: bool = True,
        thread_of: str | None = None,
    ) -> dict[str, Any]:
        """A type 2 interaction: ``/name option=value …`` (string options)."""
        payload = self._base_payload(2, channel_id, user_id, guild_id, locale, thread_of)
        payload["data"] = {
            "id": self._next_id(),
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()],
        }
        if guild_id and not admin:
            payload["member"]["permissions"] = "0"
        return payload

    def button_click(
        self,
        message: DiscordMessage,
        custom_id: str,
        *,
        user_id: str = "200000000000000001",
        guild_id: str | None = None,
        locale: str = "en-US",
        thread_of: str | None = None,
    ) -> dict[str, Any]:
        """A type 3 interaction: a click on a button of `message`."""
        payload = self._base_payload(3, message.channel_id, user_id, guild_id, locale, thread_of)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = {
            "id": message.id,
            "channel_id": message.channel_id,
            "content": message.content,
            "components": message.components,
        }
        return payload

    def sign(self, timestamp: str, body: bytes, *, forge: bool = False) -> str:
        key = ECC.generate(curve="ed25519") if forge else self._key
        return str(eddsa.new(key, "rfc8032").sign(timestamp.encode() + body).hex())

    async def interact(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        forge: bool = False,
        timestamp: str | None = None,
        within: float = 10.0,
    ) -> InteractionReply:
        """POST `payload` to the bot's interactions endpoint, signed as Discord signs."""
        body = json.dumps(payload).encode()
        stamp = timestamp or str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Signature-Timestamp": stamp,
            "X-Signature-Ed25519": self.sign(stamp, body, forge=forge),
            "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)",
        }
        async with httpx.AsyncClient(timeout=within) as client:
            response = await client.post(url, content=body, headers=headers)
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return InteractionReply(
            response.status_code, parsed if isinstance(parsed, dict) else None, response.text
        )

    # -- what the tests read -----------------------------------------------------------------

    def in_channel(self, channel_id: str) -> list[DiscordMessage]:
        return [m for m in self.messages if m.channel_id == channel_id]

    def replies_to(self, payload: dict[str, Any]) -> list[DiscordMessage]:
        """The original reply and follow-ups of one interaction, in order."""
        token = payload["token"]
        return [m for m in self.messages if m.via != "channel" and m.reference == token]

    def fail_next(
        self,
        status: int = 500,
        *,
        method: str | None = None,
        chat: str | None = None,
        count: int = 1,
        retry_after: int = 1,
    ) -> None:
        self._queue(Injection(status, retry_after, count, chat, method))

    async def wait_until(self, predicate: Any, within: float = 10.0) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), within)

    def _record(self, message: DiscordMessage) -> None:
        self.messages.append(message)
        self._changed.set()

    # -- HTTP --------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        api = "/api/v10"
        app.router.add_get(f"{api}/users/@me", self._wrap("me", self._me))
        app.router.add_post(f"{api}/channels/{{cid}}/messages", self._wrap("messages", self._send))
        app.router.add_patch(
            f"{api}/channels/{{cid}}/messages/{{mid}}", self._wrap("edit", self._edit)
        )
        app.router.add_post(
            f"{api}/channels/{{cid}}/messages/{{mid}}/threads", self._wrap("thread", self._thread)
        )
        app.router.add_post(
            f"{api}/webhooks/{{app}}/{{token}}", self._wrap("followup", self._followup)
        )
        app.router.add_patch(
            f"{api}/webhooks/{{app}}/{{token}}/messages/@original",
            self._wrap("original", self._original),
        )
        app.router.add_delete(
            f"{api}/webhooks/{{app}}/{{token}}/messages/@original",
            self._wrap("original", self._delete_original),
        )
        app.router.add_put(
            f"{api}/applications/{{app}}/commands", self._wrap("commands", self._commands)
        )

    def _wrap(self, method: str, handler: Any) -> Any:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path))
            target = request.match_info.get("cid") or request.match_info.get("token")
            try:
                bucket = self._authorize_and_limit(request, method, target)
                injected = self._take_injection(method, target)
                if injected is not None:
                    raise _Refusal(
                        injected.status,
                        0,
                        injected.error or f"injected {injected.status}",
                        retry_after=float(injected.retry_after) if injected.status == 429 else None,
                    )
                body = await self._body(request)
                result = await handler(request, body)
            except _Refusal as refusal:
                self._reject(
                    method,
                    target,
                    refusal.status,
                    f"{refusal.code}: {refusal.message}",
                    retry_after=int(refusal.retry_after) if refusal.retry_after else None,
                )
                self._changed.set()
                return self._refuse(refusal)
            headers = self._limit_headers(bucket, target, method)
            if result is None:
                return web.Response(status=204, headers=headers)
            return web.json_response(result, headers=headers)

        return handle

    def _authorize_and_limit(self, request: web.Request, method: str, target: str | None) -> str:
        webhook = method in ("followup", "original")
        if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            raise _Refusal(401, 0, "401: Unauthorized")
        bucket = f"{method if method != 'edit' else 'messages'}:{target}"
        if self.enforce_rate_limits and method != "me":
            verdict = self.windows.acquire(("global", GLOBAL), (bucket, PER_ROUTE))
            if not verdict.ok:
                raise _Refusal(
                    429,
                    0,
                    "You are being rate limited.",
                    retry_after=round(verdict.wait, 3),
                    is_global=verdict.window == GLOBAL,
                )
        return bucket

    def _limit_headers(self, bucket: str, target: str | None, method: str) -> dict[str, str]:
        used = self.windows.count(bucket, PER_ROUTE) if self.enforce_rate_limits else 0
        return {
            "X-RateLimit-Limit": str(PER_ROUTE.limit),
            "X-RateLimit-Remaining": str(max(0, PER_ROUTE.limit - used)),
            "X-RateLimit-Reset-After": f"{PER_ROUTE.period:.3f}",
            "X-RateLimit-Bucket": f"{method}-{abs(hash(bucket)) % 10**8:08d}",
        }

    @staticmethod
    def _refuse(refusal: _Refusal) -> web.Response:
        if refusal.status == 429:
            wait = refusal.retry_after or 1.0
            return web.json_response(
                {
                    "message": refusal.message,
                    "retry_after": wait,
                    "global": refusal.is_global,
                },
                status=429,
                headers={"Retry-After": str(max(1, int(-(-wait // 1))))}
                | ({"X-RateLimit-Global": "true"} if refusal.is_global else {}),
            )
        body: dict[str, Any] = {"message": refusal.message, "code": refusal.code}
        if refusal.errors:
            body["errors"] = refusal.errors
        return web.json_response(body, status=refusal.status)

    @staticmethod
    async def _body(request: web.Request) -> Any:
        if request.method in ("GET", "DELETE"):
            return {}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            raw = form.get("payload_json")
            data = json.loads(str(raw)) if raw is not None else {}
        else:
            text = await request.text()
            try:
                data = json.loads(text) if text.strip() else {}
            except ValueError as exc:
                raise _Refusal(400, 50109, "The request body contains invalid JSON.") from exc
        if not isinstance(data, dict | list):
            raise _Refusal(400, 50109, "The request body contains invalid JSON.")
        return data

    def _channel_exists(self, channel_id: str) -> None:
        if not channel_id.isdigit():
            raise _Refusal(404, 10003, "Unknown Channel")

    def _message(self, request: web.Request, body: dict[str, Any], *, via: str) -> DiscordMessage:
        check_body(body)
        message = DiscordMessage(
            id=self._next_id(),
            channel_id=request.match_info.get("cid", ""),
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            at=self.clock(),
            via=via,
        )
        ref = body.get("message_reference")
        if isinstance(ref, dict):
            message.reference = str(ref.get("message_id"))
        if _pings_everyone(body):
            self.mass_mentions.append(message)
        return message

    async def _me(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_user_id, "username": "paperdrop", "bot": True}

    async def _send(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        self._channel_exists(request.match_info["cid"])
        message = self._message(request, body, via="channel")
        if message.reference is not None and not any(
            m.id == message.reference for m in self.messages
        ):
            raise _Refusal(400, 50035, "Invalid Form Body", {"message_reference": "unknown"})
        self._record(message)
        return self._render(message)

    def _render(self, message: DiscordMessage) -> dict[str, Any]:
        return {
            "id": message.id,
            "channel_id": message.channel_id,
            "content": message.content,
            "embeds": message.embeds,
            "components": message.components,
            "author": {"id": self.bot_user_id, "bot": True},
            "flags": 64 if message.ephemeral else 0,
        }

    def _find(self, channel_id: str, message_id: str) -> DiscordMessage:
        for message in self.messages:
            if message.id == message_id and message.channel_id == channel_id:
                return message
        raise _Refusal(404, 10008, "Unknown Message")

    async def _edit(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        message = self._find(request.match_info["cid"], request.match_info["mid"])
        check_body(body, need_content=False)
        self._apply_edit(message, body)
        return self._render(message)

    def _apply_edit(self, message: DiscordMessage, body: dict[str, Any]) -> None:
        if "content" in body:
            message.content = str(body["content"] or "")
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = list(body["components"] or [])
        message.edits += 1
        self._changed.set()

    async def _thread(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        message = self._find(request.match_info["cid"], request.match_info["mid"])
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= THREAD_NAME_LIMIT:
            raise _Refusal(400, 50035, "Invalid Form Body", {"name": "1..100 characters"})
        if message.thread_id is not None:
            raise _Refusal(400, 160004, "A thread has already been created for this message")
        thread_id = message.id  # Discord: a thread from a message has the message's id
        message.thread_id = thread_id
        self.threads[thread_id] = message.id
        self.thread_names[thread_id] = name
        self._changed.set()
        return {"id": thread_id, "type": 11, "parent_id": message.channel_id, "name": name}

    def _interaction(self, request: web.Request) -> _Interaction:
        if request.match_info["app"] != self.application_id:
            raise _Refusal(404, 10015, "Unknown Webhook")
        interaction = self._interactions.get(request.match_info["token"])
        if interaction is None:
            raise _Refusal(404, 10015, "Unknown Webhook")
        if self.clock() >= interaction.created + TOKEN_LIFETIME:
            raise _Refusal(401, 50027, "Invalid Webhook Token")
        return interaction

    async def _followup(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        interaction = self._interaction(request)
        message = self._message(request, body, via="followup")
        message.channel_id = interaction.channel_id
        message.reference = interaction.token
        message.ephemeral = bool(int(body.get("flags") or 0) & 64)
        self._record(message)
        return self._render(message)

    async def _original(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        interaction = self._interaction(request)
        if interaction.original is None:
            message = self._message(request, body, via="original")
            message.channel_id = interaction.channel_id
            message.reference = interaction.token
            interaction.original = message.id
            self._record(message)
            return self._render(message)
        check_body(body, need_content=False)
        message = self._find(interaction.channel_id, interaction.original)
        self._apply_edit(message, body)
        return self._render(message)

    async def _delete_original(self, request: web.Request, body: dict[str, Any]) -> None:
        interaction = self._interaction(request)
        if interaction.original is not None:
            self.messages = [m for m in self.messages if m.id != interaction.original]
        self.deleted_originals.append(interaction.token)
        self._changed.set()

    async def _commands(self, request: web.Request, body: Any) -> list[dict[str, Any]]:
        if request.match_info["app"] != self.application_id:
            raise _Refusal(403, 50001, "Missing Access")
        if not isinstance(body, list) or len(body) > 100:
            raise _Refusal(400, 50035, "Invalid Form Body", {"_errors": "a list of <= 100"})
        errors: dict[str, Any] = {}
        for i, cmd in enumerate(body):
            if not _COMMAND_NAME.match(str(cmd.get("name", ""))):
                errors[f"{i}.name"] = {"_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME"}]}
            if not 1 <= len(str(cmd.get("description", ""))) <= 100:
                errors[f"{i}.description"] = {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}
            options = cmd.get("options") or []
            if len(options) > 25:
                errors[f"{i}.options"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
            for j, option in enumerate(options):
                if not _COMMAND_NAME.match(str(option.get("name", ""))):
                    errors[f"{i}.options.{j}.name"] = {"_errors": [{"code": "INVALID_NAME"}]}
                if not 1 <= len(str(option.get("description", ""))) <= 100:
                    errors[f"{i}.options.{j}.description"] = {"_errors": [{"code": "BAD_LENGTH"}]}
        if errors:
            raise _Refusal(400, 50035, "Invalid Form Body", errors)
        self.commands = [{**cmd, "id": self._next_id()} for cmd in body]
        self._changed.set()
        return self.commands
