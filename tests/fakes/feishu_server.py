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
  reply_in_thread, uuid}``: same checks; an unknown message_id -> 230001.
- Rate limits when `enforce_rate_limits`: 5 per 1.0 s per chat -> 230020 "This
  operation triggers the frequency limit."; 50 per 1.0 s and 1000 per 60 s per app ->
  HTTP 429, 99991400 "request trigger frequency limit", header
  ``x-ogw-ratelimit-reset`` = seconds until a slot frees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes._base import FakeServer, Injection, Rejection
from tests.fakes.ratelimit import Clock, Verdict, Window, retry_after_seconds

__all__ = [
    "FakeFeishu",
    "FeishuMessage",
    "Rejection",
    "feishu_sign",
    "mass_mentions",
    "validate_card",
]

WEBHOOK_MAX_BODY = 20 * 1024  # bytes, custom-bot guide
CARD_MAX_CONTENT = 30 * 1024  # bytes: interactive and post
TEXT_MAX_CONTENT = 150 * 1024  # bytes: text
UUID_MAX_LEN = 50
UUID_TTL = 3600.0  # seconds a uuid deduplicates
SIGN_TOLERANCE = 3600.0  # seconds a webhook timestamp may be off
TOKEN_TTL = 7200  # seconds a tenant_access_token lives
TOKEN_REFRESH_BELOW = 1800  # a new token is issued once less than this remains

WEBHOOK_PER_SECOND = Window(5, 1.0, "webhook per second")
WEBHOOK_PER_MINUTE = Window(100, 60.0, "webhook per minute")
CHAT_PER_SECOND = Window(5, 1.0, "per chat")
APP_PER_SECOND = Window(50, 1.0, "app per second")
APP_PER_MINUTE = Window(1000, 60.0, "app per minute")

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

Via = Literal["webhook", "app"]


@dataclass(frozen=True)
class FeishuMessage:
    """An accepted message. `chat` is the webhook token (via="webhook") or the chat_id.
    `content` is the decoded content object (for webhook cards: the card)."""

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
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits)
        self.app_id = app_id
        self.app_secret = app_secret
        self.wall_clock = wall_clock
        self.messages: list[FeishuMessage] = []
        self.deduplicated: list[str] = []  # uuids answered from the dedupe cache
        self.tokens_issued: list[str] = []
        self._chats: set[str] = set(chats)
        self._webhooks: dict[str, str | None] = {}
        self._blocked: set[str] = set()
        self._tokens: dict[str, float] = {}  # token -> expiry on the clock
        self._uuids: dict[str, tuple[float, dict[str, Any]]] = {}
        self._seq = 0

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

    def fail_next(
        self,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        chat: str | None = None,
        *,
        code: int | None = None,
        msg: str | None = None,
        endpoint: Literal["webhook", "im.message.create", "im.message.reply", "auth"] | None = None,
    ) -> None:
        """Fail the next `count` sends (of `endpoint`; any send endpoint if None) to `chat`
        (webhook token or chat_id, if given).

        429: the endpoint's rate-limit answer (webhook: HTTP 200 code 11232; app: HTTP 429
        code 99991400 with ``x-ogw-ratelimit-reset: retry_after``). Else: HTTP `status`
        with `code` (default 2200 for 5xx, 9499 otherwise) and `msg`. The token endpoint
        fails only with ``endpoint="auth"``.
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
        injection = self._take_injection(method, target, explicit_only=method == "auth")
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
                parent_msg = next(
                    (m for m in self.messages if m.via == "app" and m.message_id == parent), None
                )
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
        in_thread = bool(body.get("reply_in_thread")) and parent is not None
        message_id = self._next_id("om")
        root_id = None if parent is None else (parent.root_id or parent.message_id)
        thread_id = None
        if in_thread and parent is not None:
            thread_id = parent.thread_id or self._next_id("omt")
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
            reply_in_thread=in_thread,
            body=body,
        )
        self.messages.append(record)
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
