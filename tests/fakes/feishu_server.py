"""A fake Feishu/Lark open platform: custom-bot webhooks and the app-bot message API.

    async with FakeFeishu(chats=["oc_team"]) as fs:
        url = fs.register_webhook("hook-token", secret="s3cret")     # full webhook URL
        async with httpx.AsyncClient(base_url=fs.base_url) as http:
            ...

`base_url` is ``http://127.0.0.1:PORT`` (the setting that is ``https://open.feishu.cn``
or ``https://open.larksuite.com`` in production). Accepted messages of both kinds land in
`messages` (`FeishuMessage.via` says which).

Custom-bot webhook, ``POST /open-apis/bot/v2/hook/{token}`` (answers are always HTTP 200,
the verdict is in ``code``, as the real endpoint does):

- unknown (or `block_chat`-ed) token -> 19001 "param invalid: incoming webhook access
  token invalid";
- body over 20 KB (20 * 1024 bytes, the official guide) -> 19036 "The message exceeds
  the size limit" (19036 is the code seen from the real webhook for oversize messages;
  its real text names the limit);
- not JSON -> 9499 "Bad Request";
- a token registered with a secret needs ``timestamp`` (seconds) and ``sign`` =
  base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), the timestamp within one
  hour of `wall_clock` -> else 19021 "sign match fail or timestamp is not within one
  hour from current time";
- ``msg_type`` missing/unknown -> 19002 "params error, msg_type need"; ``text`` needs
  ``content.text``, ``post`` needs ``content.post``, ``interactive`` needs a valid
  ``card`` (see `validate_card`) -> 9499 "Bad Request" / 11246 card errors;
- rate limit when `enforce_rate_limits`: 5 per 1.0 s and 100 per 60 s per token ->
  11232 "frequency limited psm[...]" (HTTP 200, like the real answer seen in logs; no
  retry-after is given by Feishu, the fake neither);
- success: ``{"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg":
  "success"}``.

App bot (error answers are HTTP 400 with ``code``/``msg`` unless noted):

- ``POST /open-apis/auth/v3/tenant_access_token/internal`` ``{app_id, app_secret}`` ->
  ``{"code": 0, "msg": "ok", "tenant_access_token", "expire"}``; tokens live 7200 s on
  the fake clock; asking again returns the same token (with the remaining ``expire``)
  until less than 30 minutes remain, then a new one, like Feishu. Wrong app_id 10003,
  wrong secret 10014. `expire_tokens()` invalidates every token issued so far.
- ``POST /open-apis/im/v1/messages?receive_id_type=chat_id``, ``Authorization: Bearer
  <tenant token>``: missing token 99991661, invalid/expired 99991663 "Invalid access
  token for authorization. Please make a request with token attached.";
  ``content`` must be a JSON-encoded *string* (an object -> 9499 "Invalid parameter type
  in json: content..."), itself a JSON object (else 230001); card/post content over
  30 KB, text over 150 KB (UTF-8 bytes of the content string) -> 230025 "The length of
  the message content reaches its limit."; invalid card -> 230099; ``uuid`` (<= 50
  chars) dedupes for one hour: the same uuid answers the first message_id and stores
  nothing; a chat the bot is not in (not in `chats`, or `block_chat`-ed) -> 230002 "The
  bot can not be outside the group."; only receive_id_type=chat_id is supported (230001).
- ``POST /open-apis/im/v1/messages/{message_id}/reply`` ``{content, msg_type,
  reply_in_thread, uuid}``: same checks; the message_id must be known: one the fake
  accepted or a user message registered with `message_event`/`register_user_message`
  (else 230001); the reply goes to that message's chat. Threads as Feishu does them: the
  reply's ``parent_id`` is the message, its ``root_id`` the parent's root (or the parent);
  with ``reply_in_thread`` true, or when the parent is already in a thread, the reply is
  in the root's thread (``thread_id`` "omt_...", created on the first threaded reply and
  shared by every later one). `FeishuMessage.reply_in_thread` records what was asked.
- ``POST /open-apis/im/v1/images`` (multipart: ``image_type`` "message" or "avatar",
  ``image`` the file), tenant token as above: the file must be an image Feishu reads
  (JPEG, PNG, WEBP, GIF, BMP, TIFF, ICO by their first bytes; else 234011 "Can't
  recognize the image format."), at most 10 MB (234006 "The image size exceeds the
  limit."), ``image_type`` given (234001 "Invalid request param."). Answers
  ``{"code": 0, "data": {"image_key": "img_v3_..."}}``; keys land in `images`. A card's
  ``img`` element must name a key uploaded here (else 230099 with the card's ErrCode
  300001 "image key not found", the fake's wording). Injections reach it only with
  ``endpoint="im.image.create"``.
- ``PATCH /open-apis/im/v1/messages/{message_id}`` ``{content}`` (update a card): only a
  card (``interactive``) the app sent (else 230001); the card before and after must be a
  shared card: JSON 2.0 (always shared) or ``config.update_multi: true`` (else 230001; the
  rule is Feishu's, the code the fake's choice); 30 KB limit (230025), card check (230099),
  at most 14 days after sending on the fake clock (230031 "Message can only be modified
  within 14 days after sending."), the bot still in the chat (230002); when
  `enforce_rate_limits`, 5 per 1.0 s per message (230020) and the app windows below.
  Answer ``{"code": 0, "msg": "success", "data": {}}``; recorded in `updates`;
  `card_of(message_id)` is the card as it now stands.
- ``GET /open-apis/im/v1/chats/{chat_id}?user_id_type=open_id`` (chat info; what a bot
  needs for "is this user the chat owner or a manager": Feishu has no list-managers call,
  ``chat_managers`` only adds and deletes, and ``chats/{id}/members`` carries no role):
  ``data`` = {name, description, avatar, owner_id_type "open_id", owner_id,
  user_manager_id_list, bot_manager_id_list, chat_mode "group"|"p2p", chat_type
  "private", external false, tenant_key, user_count, bot_count, ...permissions}; set with
  `set_chat_admins`. A chat without admins set answers owner ``DEFAULT_OWNER_OPEN_ID`` and
  no managers; ``owner_open_id=None`` is a chat a bot owns, and Feishu then leaves
  owner_id/owner_id_type out. user_id_type other than open_id -> 232015 (the fake knows
  open ids only); a chat the bot left (`block_chat`) -> 232011 "Operator can NOT be out
  of the chat."; a chat the fake never heard of -> 232006 "Your request specifies a
  chat_id which is invalid.". Not rate-limited. Injections reach it only with
  ``endpoint="im.chat.get"``.
- Every app endpoint needs the tenant token (99991661 / 99991663 as above) and serves
  `fail_next` injections; a method-less injection hits message writes only (create,
  reply, patch), never the token, chat-info or long-connection endpoints.
- Rate limits when `enforce_rate_limits`: 5 per 1.0 s per chat -> 230020 "This
  operation triggers the frequency limit."; 50 per 1.0 s and 1000 per 60 s per app ->
  HTTP 429, 99991400 "request trigger frequency limit", header
  ``x-ogw-ratelimit-reset`` = seconds until a slot frees.

Receiving (payload builders, encryption and signatures are in `tests.fakes.feishu_events`):

- `message_event(text, chat_id=..., sender_open_id=...)` builds the ``im.message.receive_v1``
  payload Feishu would POST (with this fake's app_id, verification token and tenant key)
  and registers the user's message, so that the bot can reply to it; its chat counts as
  one the bot is in (unless `block_chat`-ed); a p2p chat answers chat info with chat_mode
  "p2p" and no owner (what Feishu says of a p2p chat's owner is not documented).
  `register_user_message(payload)` does the registering for a payload built elsewhere.
  `card_action_event(value, open_id=..., open_message_id=...)` builds a click on a known
  card message (its chat filled in).

Long connection (what ``lark.ws.Client`` speaks; `base_url` is its ``domain``):

- ``POST /callback/ws/endpoint`` ``{"AppID", "AppSecret"}`` -> ``{"code": 0, "msg": "ok",
  "data": {"URL": "ws://127.0.0.1:PORT/ws/v2?device_id=..&service_id=..&ticket=..",
  "ClientConfig": ws_client_config}}``; wrong credentials -> HTTP 200 with code 10003
  (the real code is not documented; any code but 0, 1 and 1000040343 makes lark-oapi
  give up instead of retrying); ``fail_next(endpoint="ws.endpoint")`` -> that HTTP status.
- ``GET /ws/v2`` upgrades to a WebSocket for a ticket the endpoint issued (else HTTP 403
  with ``handshake-status``/``handshake-msg`` headers, which lark-oapi turns into a
  ClientException). Frames are protobuf ``pbbp2.Frame`` (lark-oapi's own, reused here):
  method 0 = control (a ``ping`` is answered by a ``pong`` carrying ws_client_config,
  counted in `ws_pings`), method 1 = data. `ws_send_event(payload)` sends a data frame
  (headers type "event", message_id, trace_id, sum, seq; payload the plain JSON event,
  optionally split in ``parts``) and returns its message id; the client's answer is the
  same frame back with a ``biz_rt`` header and payload ``{"code": 200, "data":
  base64(json(callback answer))}``, recorded in `ws_acks` (`ws_ack(id)` waits for one).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib
import json
import re
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from aiohttp import WSMsgType, web

from tests.fakes import feishu_events
from tests.fakes._base import FakeServer, Injection, Rejection
from tests.fakes.ratelimit import Clock, Verdict, Window, retry_after_seconds

__all__ = [
    "DEFAULT_OWNER_OPEN_ID",
    "FakeFeishu",
    "FeishuMessage",
    "FeishuUpdate",
    "FeishuWsAck",
    "Rejection",
    "feishu_sign",
    "import_lark",
    "mass_mentions",
    "validate_card",
]


def import_lark() -> ModuleType:
    """lark-oapi (the tests' cross-check of the fake), imported on first use: it is ~10,000
    modules and seconds, which every xdist worker would pay at collection. Its
    ws/client.py binds an event loop at import, making one when none is running: give it
    one that is closed here, rather than one left open for the rest of the session."""
    if "lark_oapi" in sys.modules:
        return sys.modules["lark_oapi"]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return importlib.import_module("lark_oapi")
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    return importlib.import_module("lark_oapi")  # it binds the running loop: pytest closes it


WEBHOOK_MAX_BODY = 20 * 1024  # bytes, custom-bot guide
CARD_MAX_CONTENT = 30 * 1024  # bytes: interactive and post
TEXT_MAX_CONTENT = 150 * 1024  # bytes: text
UUID_MAX_LEN = 50
UUID_TTL = 3600.0  # seconds a uuid deduplicates
SIGN_TOLERANCE = 3600.0  # seconds a webhook timestamp may be off
TOKEN_TTL = 7200  # seconds a tenant_access_token lives
TOKEN_REFRESH_BELOW = 1800  # a new token is issued once less than this remains
PATCH_MAX_AGE = 14 * 24 * 3600.0  # seconds after sending a card can still be updated
DEFAULT_OWNER_OPEN_ID = "ou_fake_chat_owner"
# lark-oapi's own defaults; the endpoint and every pong hand them to the client.
WS_CLIENT_CONFIG = {
    "ReconnectCount": -1,
    "ReconnectInterval": 120,
    "ReconnectNonce": 30,
    "PingInterval": 120,
}

WEBHOOK_PER_SECOND = Window(5, 1.0, "webhook per second")
WEBHOOK_PER_MINUTE = Window(100, 60.0, "webhook per minute")
CHAT_PER_SECOND = Window(5, 1.0, "per chat")
APP_PER_SECOND = Window(50, 1.0, "app per second")
APP_PER_MINUTE = Window(1000, 60.0, "app per minute")
MESSAGE_PATCH_PER_SECOND = Window(5, 1.0, "patch per message")

WEBHOOK_OK = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
MSG_TYPES = frozenset({"text", "post", "interactive", "image", "share_chat"})
APP_MSG_TYPES = MSG_TYPES | {"share_user", "audio", "media", "file", "sticker"}

CARD_TAGS_V1 = frozenset({"div", "markdown", "hr", "img", "note", "action", "column_set"})
CARD_TAGS_V2 = frozenset(
    {
        "markdown", "hr", "div", "column_set", "table", "img", "img_combination", "chart",
        "person", "person_list", "avatar", "button", "collapsible_panel", "form",
        "interactive_container", "input", "select_static", "multi_select_static",
        "select_person", "multi_select_person", "overflow", "date_picker", "picker_time",
        "picker_datetime", "select_img", "checker", "rich_text",
    }
)  # fmt: skip
_ATTACH = "Please make a request with token attached."
_TEXT_TAGS = frozenset({"plain_text", "lark_md"})
_AT_ALL = re.compile(r"""<at\b[^>]*\b(?:user_id|id)\s*=\s*["']?all\b""", re.IGNORECASE)

Via = Literal["webhook", "app", "user"]
Endpoint = Literal[
    "webhook", "im.message.create", "im.message.reply", "im.message.patch", "im.chat.get",
    "auth", "ws.endpoint", "im.image.create",
]  # fmt: skip
# Injections without an endpoint hit message writes only.
_EXPLICIT_ONLY = frozenset({"auth", "im.chat.get", "ws.endpoint", "im.image.create"})
IMAGE_MAX_BYTES = 10 * 1024 * 1024
_IMAGE_MAGIC = (
    b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00",
    b"MM\x00*", b"\x00\x00\x01\x00",
)  # fmt: skip


def _image_keys(value: Any) -> list[str]:
    """The img_key of every img element in a card."""
    if isinstance(value, dict):
        found = [str(value.get("img_key"))] if value.get("tag") == "img" else []
        return found + [k for v in value.values() for k in _image_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _image_keys(v)]
    return []


@dataclass(frozen=True)
class FeishuMessage:
    """An accepted message. `chat` is the webhook token (via="webhook") or the chat_id.
    `content` is the decoded content object (for webhook cards: the card). via="user": a
    user's message registered from an event (in `user_messages`, not `messages`).
    `reply_in_thread`: what the reply asked for; `thread_id`: set when it is in a thread."""

    via: Via
    chat: str
    msg_type: str
    content: dict[str, Any]
    size: int  # webhook: request body bytes; app: bytes of the content string
    time: float  # the fake's clock
    mass_mentions: bool  # <at user_id="all"> / <at id=all> / {"tag": "at", "user_id": "all"}
    message_id: str | None = None  # app messages only
    uuid: str | None = None
    parent_id: str | None = None
    root_id: str | None = None
    thread_id: str | None = None
    reply_in_thread: bool = False
    body: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def card(self) -> dict[str, Any] | None:
        return self.content if self.msg_type == "interactive" else None


@dataclass(frozen=True)
class FeishuUpdate:
    """An accepted ``PATCH /im/v1/messages/{message_id}`` (a card update)."""

    message_id: str
    chat: str
    card: dict[str, Any]
    size: int  # bytes of the content string
    time: float  # the fake's clock
    body: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class FeishuWsAck:
    """The long-connection client's answer to a data frame the fake sent.

    `code`: the HTTP-like status lark-oapi puts in it (200, or 500 when the handler
    raised). `data`: the decoded callback answer (e.g. a card.action.trigger toast), or
    None. `biz_rt`: the handler's run time in ms as the client reported it."""

    message_id: str
    code: int
    data: Any
    biz_rt: str | None
    headers: dict[str, str]
    time: float


@dataclass
class _ChatInfo:
    name: str
    owner: str | None
    managers: list[str]
    bot_managers: list[str]
    chat_mode: str


def _is_shared_card(card: Any) -> bool:
    """Whether a PATCH may update `card` for everyone: JSON 2.0 cards always are, 1.0
    cards declare ``config.update_multi``, templates are taken on trust."""
    if not isinstance(card, dict):
        return False
    if card.get("schema") == "2.0" or card.get("type") == "template":
        return True
    config = card.get("config")
    return isinstance(config, dict) and config.get("update_multi") is True


def feishu_sign(timestamp: int | str, secret: str) -> str:
    """The custom-bot signature: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", b""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def mass_mentions(value: Any) -> bool:
    """Whether `value` (content, card, post) contains an @all mention."""
    if isinstance(value, str):
        return bool(_AT_ALL.search(value))
    if isinstance(value, dict):
        if value.get("tag") == "at" and value.get("user_id") == "all":
            return True
        return any(mass_mentions(v) for v in value.values())
    if isinstance(value, list):
        return any(mass_mentions(v) for v in value)
    return False


class _CardError(Exception):
    pass


def _check_elements(elements: Any, known: frozenset[str], where: str) -> None:
    if not isinstance(elements, list):
        raise _CardError(f"ErrCode: 200621; ErrMsg: parse card json err, {where} must be a list")
    for el in elements:
        if not isinstance(el, dict):
            raise _CardError("ErrCode: 200621; ErrMsg: parse card json err, element not object")
        tag = el.get("tag")
        if tag not in known:
            raise _CardError(
                f"ErrCode: 11310; ErrMsg: unsupported type of block; ErrorValue: {tag}"
            )
        if tag == "markdown" and not isinstance(el.get("content"), str):
            raise _CardError("ErrCode: 11310; ErrMsg: markdown content is required")
        if tag == "div":
            text, fields = el.get("text"), el.get("fields")
            if text is None and not fields:
                raise _CardError("ErrCode: 11310; ErrMsg: div needs text or fields")
            if text is not None and (
                not isinstance(text, dict)
                or text.get("tag") not in _TEXT_TAGS
                or not isinstance(text.get("content"), str)
            ):
                raise _CardError("ErrCode: 11310; ErrMsg: invalid text of div")
        if tag == "column_set":
            for column in el.get("columns") or []:
                if not isinstance(column, dict) or column.get("tag") != "column":
                    raise _CardError(
                        "ErrCode: 11310; ErrMsg: unsupported type of block; ErrorValue: "
                        f"{column.get('tag') if isinstance(column, dict) else column}"
                    )
                _check_elements(column.get("elements", []), known, "column.elements")
        if tag in ("collapsible_panel", "form", "interactive_container"):
            _check_elements(el.get("elements", []), known, f"{tag}.elements")
        if tag == "table" and not (
            isinstance(el.get("columns"), list) and isinstance(el.get("rows"), list)
        ):
            raise _CardError("ErrCode: 11310; ErrMsg: table needs columns and rows")


def validate_card(card: Any) -> str | None:
    """None if Feishu would render `card`, else the reason (``ErrCode: ...; ErrMsg: ...``).

    JSON 2.0 (``"schema": "2.0"``) puts elements in ``body.elements``; 1.0 at the top level.
    A template reference (``{"type": "template", "data": ...}``) is accepted as is.
    """
    try:
        if not isinstance(card, dict):
            raise _CardError("ErrCode: 200621; ErrMsg: parse card json err, card not object")
        if card.get("type") == "template":
            return None
        header = card.get("header")
        if header is not None:
            title = header.get("title") if isinstance(header, dict) else None
            if not isinstance(title, dict) or not isinstance(title.get("content"), str):
                raise _CardError("ErrCode: 11310; ErrMsg: header title is required")
        if card.get("schema") == "2.0":
            if "elements" in card:
                raise _CardError(
                    "ErrCode: 200861; ErrMsg: cards of schema V2 no longer support "
                    "elements at the top level, use body.elements"
                )
            body = card.get("body")
            if not isinstance(body, dict):
                raise _CardError("ErrCode: 200621; ErrMsg: parse card json err, body missing")
            _check_elements(body.get("elements"), CARD_TAGS_V2, "body.elements")
        elif "schema" in card:
            raise _CardError(f"ErrCode: 200621; ErrMsg: unknown schema {card['schema']!r}")
        else:
            _check_elements(card.get("elements", []), CARD_TAGS_V1, "elements")
    except _CardError as exc:
        return str(exc)
    return None


class _FeishuError(Exception):
    def __init__(
        self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers


def _invalid_param(ext: str) -> _FeishuError:
    return _FeishuError(230001, f"Your request contains an invalid request parameter, ext={ext}")


class FakeFeishu(FakeServer):
    """Fake Feishu/Lark. See the module docstring for the rules it enforces."""

    def __init__(
        self,
        *,
        app_id: str = "cli_fake_paperdrop",
        app_secret: str = "fake-app-secret",
        chats: Iterable[str] = ("oc_fake_chat",),
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        enforce_rate_limits: bool = False,
        port: int = 0,
        verification_token: str = feishu_events.DEFAULT_VERIFICATION_TOKEN,
        encrypt_key: str = feishu_events.DEFAULT_ENCRYPT_KEY,
        tenant_key: str = feishu_events.DEFAULT_TENANT_KEY,
        bot_open_id: str = feishu_events.BOT_OPEN_ID,
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits, port=port)
        self.app_id = app_id
        self.app_secret = app_secret
        self.wall_clock = wall_clock
        # What the developer console holds for the event URL; the builders use them.
        self.verification_token = verification_token
        self.encrypt_key = encrypt_key
        self.tenant_key = tenant_key
        self.bot_open_id = bot_open_id
        self.messages: list[FeishuMessage] = []
        self.user_messages: list[FeishuMessage] = []
        self.updates: list[FeishuUpdate] = []
        self.ws_client_config: dict[str, int] = dict(WS_CLIENT_CONFIG)
        self.ws_acks: list[FeishuWsAck] = []
        self.ws_sent: list[str] = []  # message ids of data frames sent
        self.ws_pings = 0
        self.ws_connections = 0  # WebSocket connections accepted so far
        self.deduplicated: list[str] = []  # uuids answered from the dedupe cache
        self.tokens_issued: list[str] = []
        self.images: dict[str, bytes] = {}  # image_key -> the uploaded file
        self._chats: set[str] = set(chats)
        self._webhooks: dict[str, str | None] = {}
        self._blocked: set[str] = set()
        self._tokens: dict[str, float] = {}  # token -> expiry on the clock
        self._uuids: dict[str, tuple[float, dict[str, Any]]] = {}
        self._seq = 0
        self._known: dict[str, FeishuMessage] = {}  # message_id -> app or user message
        self._threads: dict[str, str] = {}  # root message_id -> thread_id
        self._chat_info: dict[str, _ChatInfo] = {}
        self._ws_tickets: dict[str, tuple[str, str]] = {}  # ticket -> (device_id, service_id)
        self._ws_conns: list[tuple[web.WebSocketResponse, str]] = []  # (ws, service_id)
        self._ws_connected = asyncio.Event()
        self._ws_waiters: dict[str, asyncio.Future[FeishuWsAck]] = {}

    def __repr__(self) -> str:  # never show tokens or secrets
        return f"FakeFeishu(origin={self._origin!r}, messages={len(self.messages)})"

    async def __aenter__(self) -> FakeFeishu:
        await self.start()
        return self

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/bot/v2/hook/{token}", self._webhook)
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._tenant_token)
        app.router.add_post("/open-apis/im/v1/messages", self._create)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", self._reply)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_post("/open-apis/im/v1/images", self._upload_image)
        app.router.add_get("/open-apis/im/v1/chats/{chat_id}", self._get_chat)
        app.router.add_post("/callback/ws/endpoint", self._ws_endpoint)
        app.router.add_get("/ws/v2", self._ws_handler)
        # Open WebSockets would hold the runner's cleanup up for its whole timeout.
        app.on_shutdown.append(self._ws_shutdown)

    # -- test helpers --------------------------------------------------------------------

    def register_webhook(self, token: str, secret: str | None = None) -> str:
        """Create a custom bot; returns its webhook URL (valid while the server runs)."""
        self._webhooks[token] = secret
        self._blocked.discard(token)
        return self.webhook_url(token)

    def webhook_url(self, token: str) -> str:
        return f"{self.origin}/open-apis/bot/v2/hook/{token}"

    def add_chat(self, chat_id: str) -> None:
        self._chats.add(chat_id)
        self._blocked.discard(chat_id)

    def block_chat(self, chat: str) -> None:
        """The bot leaves `chat`: app sends answer 230002; for a webhook token, the custom
        bot is removed and its token answers 19001."""
        self._blocked.add(chat)

    def by_chat(self, chat: str) -> list[FeishuMessage]:
        return [m for m in self.messages if m.chat == chat]

    def expire_tokens(self) -> None:
        """Every tenant_access_token issued so far becomes invalid (99991663)."""
        self._tokens.clear()

    def message(self, message_id: str) -> FeishuMessage | None:
        """A known message (the app's or a registered user's), or None."""
        return self._known.get(message_id)

    def card_of(self, message_id: str) -> dict[str, Any] | None:
        """The card of an app card message as it now stands (after any PATCH)."""
        for update in reversed(self.updates):
            if update.message_id == message_id:
                return update.card
        known = self._known.get(message_id)
        return None if known is None else known.card

    def set_chat_admins(
        self,
        chat_id: str,
        owner_open_id: str | None,
        managers: Iterable[str] = (),
        *,
        bot_managers: Iterable[str] = (),
        name: str | None = None,
        chat_mode: Literal["group", "p2p", "topic"] = "group",
    ) -> None:
        """What ``GET /im/v1/chats/{chat_id}`` answers: the owner (None: a bot owns the
        chat), the user managers (open ids) and bot managers (app ids). Adds the chat."""
        self._chat_info[chat_id] = _ChatInfo(
            name=name if name is not None else f"Chat {chat_id}",
            owner=owner_open_id,
            managers=list(managers),
            bot_managers=list(bot_managers),
            chat_mode=chat_mode,
        )
        self._chats.add(chat_id)

    def message_event(
        self,
        text: str,
        *,
        chat_id: str,
        sender_open_id: str,
        chat_type: feishu_events.ChatType = "group",
        **kw: Any,
    ) -> dict[str, Any]:
        """`feishu_events.message_event` with this fake's app_id, verification token,
        tenant key, bot and wall clock, the message registered (see the module doc)."""
        kw.setdefault("token", self.verification_token)
        kw.setdefault("app_id", self.app_id)
        kw.setdefault("tenant_key", self.tenant_key)
        kw.setdefault("bot_open_id", self.bot_open_id)
        kw.setdefault("create_time", int(self.wall_clock() * 1000))
        payload = feishu_events.message_event(
            text, chat_id=chat_id, chat_type=chat_type, sender_open_id=sender_open_id, **kw
        )
        self.register_user_message(payload)
        return payload

    def card_action_event(
        self, value: Mapping[str, Any], *, open_id: str, open_message_id: str, **kw: Any
    ) -> dict[str, Any]:
        """`feishu_events.card_action_event` with this fake's identity; the chat is the
        card message's (which must be known)."""
        known = self._known.get(open_message_id)
        if known is None:
            raise KeyError(f"unknown message {open_message_id}")
        kw.setdefault("token", self.verification_token)
        kw.setdefault("app_id", self.app_id)
        kw.setdefault("tenant_key", self.tenant_key)
        kw.setdefault("create_time", int(self.wall_clock() * 1_000_000))
        return feishu_events.card_action_event(
            value, open_id=open_id, open_message_id=open_message_id, open_chat_id=known.chat, **kw
        )

    def register_user_message(self, payload: Mapping[str, Any]) -> FeishuMessage:
        """Make the user message of an ``im.message.receive_v1`` payload known."""
        message = payload["event"]["message"]
        sender = payload["event"]["sender"]["sender_id"]["open_id"]
        raw = message["content"]
        content = json.loads(raw)
        record = FeishuMessage(
            via="user",
            chat=message["chat_id"],
            msg_type=message["message_type"],
            content=content,
            size=len(raw.encode("utf-8")),
            time=self.clock(),
            mass_mentions=False,
            message_id=message["message_id"],
            parent_id=message.get("parent_id"),
            root_id=message.get("root_id"),
            thread_id=message.get("thread_id"),
            body={"sender_open_id": sender, "chat_type": message["chat_type"]},
        )
        self.user_messages.append(record)
        self._known[message["message_id"]] = record
        if record.thread_id is not None:
            self._threads[record.root_id or message["message_id"]] = record.thread_id
        self._chats.add(record.chat)  # the bot got it, so it is in the chat
        if message["chat_type"] == "p2p" and record.chat not in self._chat_info:
            # Who "owns" a p2p chat is not documented: no owner_id, like a bot-owned chat.
            self._chat_info[record.chat] = _ChatInfo("", None, [], [], "p2p")
        return record

    def fail_next(
        self,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        chat: str | None = None,
        *,
        code: int | None = None,
        msg: str | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        """Fail the next `count` sends (of `endpoint`; any message write if None) to `chat`
        (webhook token or chat_id, if given).

        429: the endpoint's rate-limit answer (webhook: HTTP 200 code 11232; app: HTTP 429
        code 99991400 with ``x-ogw-ratelimit-reset: retry_after``). Else: HTTP `status`
        with `code` (default 2200 for 5xx, 9499 otherwise) and `msg`. The token, chat-info
        and long-connection endpoints fail only when named ("auth", "im.chat.get",
        "ws.endpoint").
        """
        self._queue(Injection(status, retry_after, count, chat, endpoint, error=msg, code=code))

    # -- shared --------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}_fake{self._seq:024d}"

    def _reply_json(
        self, method: str, target: str | None, exc: _FeishuError, **k: Any
    ) -> web.Response:
        self._reject(method, target, exc.status, f"{exc.code}: {exc.msg}", **k)
        body = {"code": exc.code, "msg": exc.msg, "error": {"log_id": self._next_id("log")}}
        return web.json_response(body, status=exc.status, headers=exc.headers)

    def _injected(self, method: str, target: str | None, webhook: bool) -> _FeishuError | None:
        injection = self._take_injection(method, target, explicit_only=method in _EXPLICIT_ONLY)
        if injection is None:
            return None
        if injection.status == 429 and injection.code is None:
            if webhook:
                return _FeishuError(
                    11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]", 200
                )
            return self._app_throttled(injection.retry_after)
        code = injection.code or (2200 if injection.status >= 500 else 9499)
        return _FeishuError(code, injection.error or "injected failure", injection.status)

    @staticmethod
    def _app_throttled(retry_after: int) -> _FeishuError:
        headers = {"x-ogw-ratelimit-limit": str(APP_PER_SECOND.limit)}
        headers["x-ogw-ratelimit-reset"] = str(retry_after)
        return _FeishuError(99991400, "request trigger frequency limit", 429, headers)

    # -- webhook -------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        raw = await request.read()
        try:
            body = self._check_webhook(token, raw)
            failure = self._injected("webhook", token, webhook=True)
            if failure is not None:
                self._reject_webhook(token, failure, injected=True)
                return web.json_response(
                    {"code": failure.code, "msg": failure.msg, "data": {}},
                    status=failure.status,
                    headers=failure.headers,
                )
            msg_type, content = self._webhook_content(body)
            if self.enforce_rate_limits:
                verdict = self.windows.acquire(
                    (token, WEBHOOK_PER_SECOND), (token, WEBHOOK_PER_MINUTE)
                )
                if not verdict.ok:
                    raise _FeishuError(
                        11232,
                        "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]",
                        200,
                    )
        except _FeishuError as exc:
            self._reject_webhook(token, exc)
            return web.json_response({"code": exc.code, "msg": exc.msg, "data": {}}, status=200)
        self.messages.append(
            FeishuMessage(
                via="webhook",
                chat=token,
                msg_type=msg_type,
                content=content,
                size=len(raw),
                time=self.clock(),
                mass_mentions=mass_mentions(content),
                body=body,
            )
        )
        return web.json_response(WEBHOOK_OK)

    def _reject_webhook(self, token: str, exc: _FeishuError, injected: bool = False) -> None:
        self._reject("webhook", token, exc.status, f"{exc.code}: {exc.msg}", injected=injected)

    def _check_webhook(self, token: str, raw: bytes) -> dict[str, Any]:
        if token not in self._webhooks or token in self._blocked:
            raise _FeishuError(19001, "param invalid: incoming webhook access token invalid", 200)
        if len(raw) > WEBHOOK_MAX_BODY:
            raise _FeishuError(19036, "The message exceeds the size limit", 200)
        try:
            body = json.loads(raw)
        except ValueError:
            raise _FeishuError(9499, "Bad Request", 200) from None
        if not isinstance(body, dict):
            raise _FeishuError(9499, "Bad Request", 200)
        secret = self._webhooks[token]
        if secret is not None:
            self._check_sign(body, secret)
        return body

    def _check_sign(self, body: dict[str, Any], secret: str) -> None:
        fail = _FeishuError(
            19021, "sign match fail or timestamp is not within one hour from current time", 200
        )
        timestamp, sign = body.get("timestamp"), body.get("sign")
        if not isinstance(sign, str) or timestamp is None:
            raise fail
        try:
            seconds = int(str(timestamp))
        except ValueError:
            raise fail from None
        if abs(self.wall_clock() - seconds) > SIGN_TOLERANCE:
            raise fail
        if not hmac.compare_digest(sign, feishu_sign(str(timestamp), secret)):
            raise fail

    def _webhook_content(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        msg_type = body.get("msg_type")
        if msg_type not in MSG_TYPES:
            raise _FeishuError(19002, "params error, msg_type need", 200)
        if msg_type == "interactive":
            card = body.get("card")
            if isinstance(card, str):
                try:
                    card = json.loads(card)
                except ValueError:
                    raise _FeishuError(9499, "Bad Request", 200) from None
            reason = validate_card(card)
            if reason is not None or not isinstance(card, dict):
                raise _FeishuError(11246, reason or "card is not an object", 200)
            return str(msg_type), card
        content = body.get("content")
        if not isinstance(content, dict):
            raise _FeishuError(9499, "Bad Request", 200)
        if msg_type == "text" and not (isinstance(content.get("text"), str) and content["text"]):
            raise _FeishuError(9499, "Bad Request", 200)
        if msg_type == "post" and not isinstance(content.get("post"), dict):
            raise _FeishuError(9499, "Bad Request", 200)
        return str(msg_type), content

    # -- tenant token --------------------------------------------------------------------

    async def _tenant_token(self, request: web.Request) -> web.Response:
        method = "auth"
        try:
            body = await request.json()
        except ValueError:
            return self._reply_json(method, None, _FeishuError(9499, "Bad Request"))
        failure = self._injected(method, None, webhook=False)
        if failure is not None:
            return self._reply_json(method, None, failure, injected=True)
        if not isinstance(body, dict) or body.get("app_id") != self.app_id:
            return self._reply_json(method, None, _FeishuError(10003, "invalid param"))
        if body.get("app_secret") != self.app_secret:
            return self._reply_json(method, None, _FeishuError(10014, "app secret invalid"))
        now = self.clock()
        for token, expiry in self._tokens.items():
            if expiry - now >= TOKEN_REFRESH_BELOW:
                return web.json_response(
                    {
                        "code": 0,
                        "msg": "ok",
                        "tenant_access_token": token,
                        "expire": int(expiry - now),
                    }
                )
        token = self._next_id("t-g1")
        self._tokens[token] = now + TOKEN_TTL
        self.tokens_issued.append(token)
        return web.json_response(
            {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": TOKEN_TTL}
        )

    def _check_bearer(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise _FeishuError(99991661, f"Missing access token for authorization. {_ATTACH}")
        expiry = self._tokens.get(auth[7:].strip())
        if expiry is None or expiry <= self.clock():
            raise _FeishuError(99991663, f"Invalid access token for authorization. {_ATTACH}")

    # -- app messages --------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        return await self._app_send(request, "im.message.create", parent=None)

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._app_send(
            request, "im.message.reply", parent=request.match_info["message_id"]
        )

    async def _app_send(
        self, request: web.Request, method: str, parent: str | None
    ) -> web.Response:
        target: str | None = None
        try:
            self._check_bearer(request)
            try:
                body = await request.json()
            except ValueError:
                raise _FeishuError(9499, "Bad Request") from None
            if not isinstance(body, dict):
                raise _FeishuError(9499, "Bad Request")
            parent_msg: FeishuMessage | None = None
            if parent is None:
                if request.query.get("receive_id_type") != "chat_id":
                    raise _invalid_param("receive_id_type must be chat_id in the fake")
                target = body.get("receive_id")
                if not isinstance(target, str) or not target:
                    raise _invalid_param("receive_id is required")
            else:
                parent_msg = self._known.get(parent)
                if parent_msg is None:
                    raise _invalid_param(f"message_id {parent} not found")
                target = parent_msg.chat
            failure = self._injected(method, target, webhook=False)
            if failure is not None:
                return self._reply_json(method, target, failure, injected=True)
            return self._accept_app(method, target, body, parent_msg)
        except _FeishuError as exc:
            return self._reply_json(method, target, exc)

    def _accept_app(
        self, method: str, chat: str, body: dict[str, Any], parent: FeishuMessage | None
    ) -> web.Response:
        msg_type = body.get("msg_type")
        if msg_type not in APP_MSG_TYPES:
            raise _invalid_param("invalid msg_type")
        raw_content = body.get("content")
        if not isinstance(raw_content, str):
            raise _FeishuError(
                9499,
                "Invalid parameter type in json: content. Please check and modify accordingly.",
            )
        uuid = body.get("uuid")
        if uuid is not None and (not isinstance(uuid, str) or len(uuid) > UUID_MAX_LEN):
            raise _invalid_param(f"uuid must be a string of at most {UUID_MAX_LEN} characters")
        now = self.clock()
        if uuid is not None and uuid in self._uuids:
            seen_at, cached = self._uuids[uuid]
            if now - seen_at < UUID_TTL:
                self.deduplicated.append(uuid)
                return web.json_response({"code": 0, "msg": "success", "data": cached})
        try:
            content = json.loads(raw_content)
        except ValueError:
            raise _invalid_param("invalid message content") from None
        if not isinstance(content, dict):
            raise _invalid_param("invalid message content")
        size = len(raw_content.encode("utf-8"))
        limit = TEXT_MAX_CONTENT if msg_type == "text" else CARD_MAX_CONTENT
        if size > limit:
            raise _FeishuError(230025, "The length of the message content reaches its limit.")
        if msg_type == "text" and not (isinstance(content.get("text"), str) and content["text"]):
            raise _invalid_param("invalid message content")
        if msg_type == "interactive":
            reason = validate_card(content)
            unknown = [k for k in _image_keys(content) if k not in self.images]
            if reason is None and unknown:
                reason = f"ErrCode: 300001; ErrMsg: image key not found; ErrorValue: {unknown[0]}"
            if reason is not None:
                raise _FeishuError(230099, f"Failed to create card content, ext={reason}")
        if chat not in self._chats or chat in self._blocked:
            raise _FeishuError(230002, "The bot can not be outside the group.")
        if self.enforce_rate_limits:
            verdict = self.windows.acquire(
                (("chat", chat), CHAT_PER_SECOND),
                ("app", APP_PER_SECOND),
                ("app", APP_PER_MINUTE),
            )
            if not verdict.ok:
                raise self._throttled(verdict)
        asked_thread = bool(body.get("reply_in_thread")) and parent is not None
        message_id = self._next_id("om")
        root_id: str | None = None
        thread_id: str | None = None
        if parent is not None:
            root = parent.root_id or str(parent.message_id)
            root_id = root
            # A reply to a message already in a thread stays in it, whatever was asked.
            if asked_thread or parent.thread_id is not None:
                thread_id = parent.thread_id or self._threads.get(root) or self._next_id("omt")
                self._threads[root] = thread_id
        record = FeishuMessage(
            via="app",
            chat=chat,
            msg_type=msg_type,
            content=content,
            size=size,
            time=now,
            mass_mentions=mass_mentions(content),
            message_id=message_id,
            uuid=uuid,
            parent_id=None if parent is None else parent.message_id,
            root_id=root_id,
            thread_id=thread_id,
            reply_in_thread=asked_thread,
            body=body,
        )
        self.messages.append(record)
        self._known[message_id] = record
        data: dict[str, Any] = {
            "message_id": message_id,
            "msg_type": msg_type,
            "chat_id": chat,
            "create_time": str(int(self.wall_clock() * 1000)),
            "deleted": False,
            "updated": False,
            "sender": {"id": self.app_id, "id_type": "app_id", "sender_type": "app"},
            "body": {"content": raw_content},
        }
        for key in ("root_id", "parent_id", "thread_id"):
            if getattr(record, key) is not None:
                data[key] = getattr(record, key)
        if uuid is not None:
            self._uuids[uuid] = (now, data)
        return web.json_response({"code": 0, "msg": "success", "data": data})

    def _throttled(self, verdict: Verdict) -> _FeishuError:
        if verdict.window == CHAT_PER_SECOND:
            return _FeishuError(230020, "This operation triggers the frequency limit.")
        return self._app_throttled(retry_after_seconds(verdict.wait))

    # -- card update ---------------------------------------------------------------------

    async def _upload_image(self, request: web.Request) -> web.Response:
        method = "im.image.create"
        try:
            self._check_bearer(request)
            failure = self._injected(method, None, webhook=False)
            if failure is not None:
                return self._reply_json(method, None, failure, injected=True)
            if request.content_type != "multipart/form-data":
                raise _FeishuError(234001, "Invalid request param.")
            form = await request.post()
            image = form.get("image")
            if form.get("image_type") not in ("message", "avatar") or not hasattr(image, "file"):
                raise _FeishuError(234001, "Invalid request param.")
            data = image.file.read()  # type: ignore[union-attr]
            if len(data) > IMAGE_MAX_BYTES:
                raise _FeishuError(234006, "The image size exceeds the limit.")
            if not data.startswith(_IMAGE_MAGIC) and not (
                data[:4] == b"RIFF" and data[8:12] == b"WEBP"
            ):
                raise _FeishuError(234011, "Can't recognize the image format.")
            key = self._next_id("img_v3")
            self.images[key] = data
            return web.json_response({"code": 0, "msg": "success", "data": {"image_key": key}})
        except _FeishuError as exc:
            return self._reply_json(method, None, exc)

    async def _patch(self, request: web.Request) -> web.Response:
        method = "im.message.patch"
        message_id = request.match_info["message_id"]
        target: str | None = None
        try:
            self._check_bearer(request)
            try:
                body = await request.json()
            except ValueError:
                raise _FeishuError(9499, "Bad Request") from None
            if not isinstance(body, dict):
                raise _FeishuError(9499, "Bad Request")
            known = self._known.get(message_id)
            if known is None:
                raise _invalid_param(f"message_id {message_id} not found")
            target = known.chat
            failure = self._injected(method, target, webhook=False)
            if failure is not None:
                return self._reply_json(method, target, failure, injected=True)
            return self._accept_patch(known, body)
        except _FeishuError as exc:
            return self._reply_json(method, target, exc)

    def _accept_patch(self, known: FeishuMessage, body: dict[str, Any]) -> web.Response:
        message_id = str(known.message_id)
        if known.via != "app" or known.msg_type != "interactive":
            raise _invalid_param("only a card message the app sent can be updated")
        raw = body.get("content")
        if not isinstance(raw, str):
            raise _FeishuError(
                9499,
                "Invalid parameter type in json: content. Please check and modify accordingly.",
            )
        try:
            card = json.loads(raw)
        except ValueError:
            raise _invalid_param("invalid message content") from None
        size = len(raw.encode("utf-8"))
        if size > CARD_MAX_CONTENT:
            raise _FeishuError(230025, "The length of the message content reaches its limit.")
        reason = validate_card(card)
        if reason is not None or not isinstance(card, dict):
            raise _FeishuError(230099, f"Failed to create card content, ext={reason}")
        if not (_is_shared_card(self.card_of(message_id)) and _is_shared_card(card)):
            raise _invalid_param("only a shared card (config.update_multi: true) can be updated")
        now = self.clock()
        if now - known.time > PATCH_MAX_AGE:
            raise _FeishuError(230031, "Message can only be modified within 14 days after sending.")
        if known.chat not in self._chats or known.chat in self._blocked:
            raise _FeishuError(230002, "The bot can not be outside the group.")
        if self.enforce_rate_limits:
            verdict = self.windows.acquire(
                (("patch", message_id), MESSAGE_PATCH_PER_SECOND),
                ("app", APP_PER_SECOND),
                ("app", APP_PER_MINUTE),
            )
            if not verdict.ok:
                if verdict.window == MESSAGE_PATCH_PER_SECOND:
                    raise _FeishuError(230020, "This operation triggers the frequency limit.")
                raise self._throttled(verdict)
        self.updates.append(FeishuUpdate(message_id, known.chat, card, size, now, body))
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    # -- chat info -----------------------------------------------------------------------

    async def _get_chat(self, request: web.Request) -> web.Response:
        method = "im.chat.get"
        chat_id = request.match_info["chat_id"]
        try:
            self._check_bearer(request)
            failure = self._injected(method, chat_id, webhook=False)
            if failure is not None:
                return self._reply_json(method, chat_id, failure, injected=True)
            if request.query.get("user_id_type", "open_id") != "open_id":
                raise _FeishuError(
                    232015,
                    "Your request specifies a member_id_type which is NOT supported.",
                )
            if chat_id in self._blocked:
                raise _FeishuError(232011, "Operator can NOT be out of the chat.")
            if chat_id not in self._chats and chat_id not in self._chat_info:
                raise _FeishuError(232006, "Your request specifies a chat_id which is invalid.")
        except _FeishuError as exc:
            return self._reply_json(method, chat_id, exc)
        return web.json_response({"code": 0, "msg": "success", "data": self._chat_data(chat_id)})

    def _chat_data(self, chat_id: str) -> dict[str, Any]:
        info = self._chat_info.get(chat_id) or _ChatInfo(
            f"Chat {chat_id}", DEFAULT_OWNER_OPEN_ID, [], [], "group"
        )
        data: dict[str, Any] = {
            "avatar": "https://fake.feishu.invalid/avatar.png",
            "name": info.name,
            "description": "",
            "i18n_names": {},
            "add_member_permission": "all_members",
            "share_card_permission": "allowed",
            "at_all_permission": "all_members",
            "edit_permission": "all_members",
            "user_manager_id_list": list(info.managers),
            "bot_manager_id_list": list(info.bot_managers),
            "group_message_type": "chat",
            "chat_mode": info.chat_mode,
            "chat_type": "private",
            "chat_tag": "inner",
            "join_message_visibility": "all_members",
            "leave_message_visibility": "all_members",
            "membership_approval": "no_approval_required",
            "moderation_permission": "all_members",
            "external": False,
            "tenant_key": self.tenant_key,
            "user_count": str(len({info.owner, *info.managers} - {None})),
            "bot_count": "1",
            "chat_status": "normal",
        }
        if info.owner is not None:  # Feishu leaves the owner out when a bot owns the chat
            data["owner_id_type"] = "open_id"
            data["owner_id"] = info.owner
        return data

    # -- long connection -----------------------------------------------------------------

    async def _ws_endpoint(self, request: web.Request) -> web.Response:
        method = "ws.endpoint"
        failure = self._injected(method, None, webhook=False)
        if failure is not None:
            self._reject(
                method, None, failure.status, f"{failure.code}: {failure.msg}", injected=True
            )
            return web.json_response(
                {"code": failure.code, "msg": failure.msg}, status=failure.status
            )
        try:
            body = await request.json()
        except ValueError:
            body = None
        if (
            not isinstance(body, dict)
            or body.get("AppID") != self.app_id
            or body.get("AppSecret") != self.app_secret
        ):
            self._reject(method, None, 200, "10003: invalid app_id or app_secret")
            return web.json_response({"code": 10003, "msg": "invalid app_id or app_secret"})
        device_id, service_id = self._next_id("dev"), str(100000 + self._seq)
        ticket = self._next_id("ticket")
        self._ws_tickets[ticket] = (device_id, service_id)
        host = request.host  # the client dials back the address it used
        url = f"ws://{host}/ws/v2?device_id={device_id}&service_id={service_id}&ticket={ticket}"
        return web.json_response(
            {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": self.ws_client_config}}
        )

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        issued = self._ws_tickets.get(request.query.get("ticket", ""))
        if issued is None or issued[0] != request.query.get("device_id"):
            self._reject("ws.connect", None, 403, "403: invalid ticket")
            return web.Response(
                status=403, headers={"handshake-status": "403", "handshake-msg": "invalid ticket"}
            )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        entry = (ws, issued[1])
        self._ws_conns.append(entry)
        self.ws_connections += 1
        self._ws_connected.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await self._ws_frame(ws, msg.data)
        finally:
            self._ws_conns.remove(entry)
            if not self._ws_conns:
                self._ws_connected.clear()
        return ws

    async def _ws_frame(self, ws: web.WebSocketResponse, data: bytes) -> None:
        from lark_oapi.ws.pb.pbbp2_pb2 import Frame  # lark-oapi's own; imported on use

        frame = Frame()
        frame.ParseFromString(data)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == 0:  # control
            if headers.get("type") == "ping":
                self.ws_pings += 1
                pong = Frame()
                pong.SeqID, pong.LogID, pong.service, pong.method = 0, 0, frame.service, 0
                header = pong.headers.add()
                header.key, header.value = "type", "pong"
                pong.payload = json.dumps(self.ws_client_config).encode()
                await ws.send_bytes(pong.SerializeToString())
            return
        answer = json.loads(frame.payload or b"{}")
        decoded = None
        if answer.get("data"):
            decoded = json.loads(base64.b64decode(answer["data"]))
        ack = FeishuWsAck(
            message_id=headers.get("message_id", ""),
            code=int(answer.get("code", 0)),
            data=decoded,
            biz_rt=headers.get("biz_rt"),
            headers=headers,
            time=self.clock(),
        )
        self.ws_acks.append(ack)
        waiter = self._ws_waiters.pop(ack.message_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    async def ws_wait_connected(self, within: float = 10.0) -> None:
        """Until a long-connection client is connected (TimeoutError after `within` s)."""
        await asyncio.wait_for(self._ws_connected.wait(), within)

    async def ws_send_event(
        self, payload: Mapping[str, Any], *, parts: int = 1, message_type: str = "event"
    ) -> str:
        """Push `payload` (a plain schema 2.0 event or callback) to the connected client,
        split in `parts` frames; returns the frame's message id (see `ws_ack`)."""
        from lark_oapi.ws.pb.pbbp2_pb2 import Frame

        if not self._ws_conns:
            raise RuntimeError("no long-connection client is connected")
        ws, service_id = self._ws_conns[-1]
        message_id = self._next_id("ws")
        self._ws_waiters[message_id] = asyncio.get_running_loop().create_future()
        raw = json.dumps(payload, ensure_ascii=False).encode()
        size = -(-len(raw) // parts)  # ceiling division
        for seq in range(parts):
            frame = Frame()
            frame.SeqID, frame.LogID = seq, self._seq
            frame.service, frame.method = int(service_id), 1
            for key, value in (
                ("type", message_type),
                ("message_id", message_id),
                ("sum", str(parts)),
                ("seq", str(seq)),
                ("trace_id", self._next_id("trace")),
            ):
                header = frame.headers.add()
                header.key, header.value = key, value
            frame.payload = raw[seq * size : (seq + 1) * size]
            await ws.send_bytes(frame.SerializeToString())
        self.ws_sent.append(message_id)
        return message_id

    async def ws_ack(self, message_id: str, within: float = 10.0) -> FeishuWsAck:
        """The client's answer to `message_id`, waiting for it up to `within` seconds."""
        for ack in self.ws_acks:
            if ack.message_id == message_id:
                return ack
        waiter = self._ws_waiters.get(message_id)
        if waiter is None:
            raise KeyError(f"no frame {message_id} was sent")
        return await asyncio.wait_for(asyncio.shield(waiter), within)

    async def ws_disconnect(self) -> None:
        """Close every long connection from the server side (the client may reconnect)."""
        for ws, _ in list(self._ws_conns):
            await ws.close()

    async def _ws_shutdown(self, app: web.Application) -> None:
        await self.ws_disconnect()
