"""A fake Telegram Bot API for contract tests that drive the real python-telegram-bot.

    async with FakeTelegram() as tg:
        async with telegram.Bot(tg.token, base_url=tg.base_url) as bot:   # getMe
            await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert tg.by_chat(42)[0].text == "hi"

URLs: PTB appends the token to `base_url` (``http://127.0.0.1:PORT/bot``) and then
``/<method>``. Parameters arrive as a form (PTB JSON-encodes nested objects into the
values), JSON or query; answers use the Bot API envelope ``{"ok": true, "result": ...}``
and ``{"ok": false, "error_code", "description"[, "parameters"]}``.

What is checked, as Telegram does:

- Token: malformed -> 404 "Not Found"; well-formed but wrong -> 401 "Unauthorized" (PTB
  raises InvalidToken for both). Unknown method -> 404 "Not Found".
- ``getMe`` (needed by ``Bot.initialize()``), ``sendMessage``; ``setMyCommands`` and
  ``deleteWebhook`` answer true.
- ``sendMessage``: ``parse_mode`` "HTML" is parsed by `parse_telegram_html` (see
  telegram_html.py: tags, entities, byte offsets, optional strict nesting); no
  ``parse_mode`` sends the text as is; other modes -> 400 "Bad Request: unsupported
  parse_mode". The visible text (leading/trailing whitespace trimmed, as Telegram does)
  must be 1..4096 code points: "Bad Request: message text is empty" /
  "Bad Request: message is too long". ``reply_parameters`` (or the old
  ``reply_to_message_id``) must name a message of that chat, else "Bad Request: message
  to be replied not found" unless ``allow_sending_without_reply``.
  ``link_preview_options`` must be an object. ``message_thread_id`` is recorded.
- Blocked chats (`block_chat`): 403 "Forbidden: bot was blocked by the user" (private),
  "Forbidden: bot was kicked from the group chat" / "... supergroup chat" (groups).
- Rate limits, when `enforce_rate_limits` (off by default), on the injectable clock:
  1 message per 1.0 s per chat, 20 per 60 s per group (chat ids starting with "-"),
  30 per 1.0 s overall (telegram.constants.FloodLimit). Exceeding one answers 429
  "Too Many Requests: retry after N" with ``parameters.retry_after`` = seconds until a slot
  frees, rounded up, at least 1.

Note for tests: PTB 22 warns (PTBDeprecationWarning) when RetryAfter is constructed unless
``PTB_TIMEDELTA=1`` is set; with ``filterwarnings=error`` a 429 otherwise surfaces as that
warning instead of RetryAfter. Set the variable (then ``retry_after`` is a timedelta).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from telegram.constants import FloodLimit, MessageLimit

from tests.fakes._base import FakeServer, Injection, Rejection, read_params
from tests.fakes.ratelimit import Clock, Window, retry_after_seconds
from tests.fakes.telegram_html import HtmlParseError, TgEntity, parse_telegram_html

__all__ = ["DEFAULT_TOKEN", "FakeTelegram", "Rejection", "TelegramMessage"]

DEFAULT_TOKEN = "123456789:AAFakeTokenForPaperdropTests_0123456"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

PER_CHAT = Window(int(FloodLimit.MESSAGES_PER_SECOND_PER_CHAT), 1.0, "per chat")
PER_GROUP = Window(int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP), 60.0, "per group")
OVERALL = Window(int(FloodLimit.MESSAGES_PER_SECOND), 1.0, "overall")

_GENERIC = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
ChatId = int | str


@dataclass(frozen=True)
class TelegramMessage:
    """An accepted sendMessage. `text` is what the reader sees; `html` what was sent."""

    chat_id: ChatId
    message_id: int
    text: str
    html: str  # the `text` parameter as sent (HTML source, or plain text)
    parse_mode: str | None
    entities: tuple[TgEntity, ...]
    reply_to: int | None
    message_thread_id: int | None
    link_preview_options: dict[str, Any] | None
    time: float  # the fake's clock
    date: int  # unix time, as in the returned Message
    params: dict[str, Any] = field(repr=False, default_factory=dict)


class _Refusal(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _chat_key(value: Any) -> ChatId:
    """Numeric ids as int (PTB sends them as strings), usernames as given."""
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _chat_id(value: Any) -> ChatId:
    key = _chat_key(value)
    if isinstance(key, int) or re.fullmatch(r"@[A-Za-z0-9_]{4,}", key):
        return key
    raise _Refusal(400, "Bad Request: chat not found")


def _chat_type(chat_id: ChatId) -> str:
    if isinstance(chat_id, str):
        return "channel"
    if str(chat_id).startswith("-100"):
        return "supergroup"
    return "group" if chat_id < 0 else "private"


def _json_param(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _Refusal(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


class FakeTelegram(FakeServer):
    """Fake Bot API. See the module docstring for the rules it enforces."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        enforce_rate_limits: bool = False,
        strict_nesting: bool = True,
        username: str = "paperdrop_fake_bot",
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits)
        self.token = token
        self.username = username
        self.wall_clock = wall_clock
        self.strict_nesting = strict_nesting
        self.messages: list[TelegramMessage] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []  # every call, accepted or not
        self._blocked: dict[ChatId, str] = {}
        self._next_id: dict[ChatId, int] = {}

    def __repr__(self) -> str:  # never show the token
        return f"FakeTelegram(origin={self._origin!r}, messages={len(self.messages)})"

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    def _base_path(self) -> str:
        return "/bot"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    # -- test helpers --------------------------------------------------------------------

    def by_chat(self, chat_id: ChatId) -> list[TelegramMessage]:
        key = _chat_key(chat_id)
        return [m for m in self.messages if m.chat_id == key]

    def block_chat(
        self, chat_id: ChatId, reason: Literal["blocked", "kicked"] | None = None
    ) -> None:
        """Make sends to `chat_id` fail with 403: "blocked" by a user, "kicked" from a
        group (default: by the chat type)."""
        key = _chat_key(chat_id)
        kind = _chat_type(key)
        if (reason or ("blocked" if kind == "private" else "kicked")) == "blocked":
            description = "Forbidden: bot was blocked by the user"
        elif kind == "channel":
            description = "Forbidden: bot is not a member of the channel chat"
        elif kind == "supergroup":
            description = "Forbidden: bot was kicked from the supergroup chat"
        else:
            description = "Forbidden: bot was kicked from the group chat"
        self._blocked[key] = description

    def unblock_chat(self, chat_id: ChatId) -> None:
        self._blocked.pop(_chat_key(chat_id), None)

    def fail_next(
        self,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        chat: ChatId | None = None,
        *,
        description: str | None = None,
        method: str = "sendMessage",
    ) -> None:
        """Fail the next `count` calls of `method` (to `chat`, if given) with `status`.

        429 answers "Too Many Requests: retry after N" with ``parameters.retry_after``
        (PTB: RetryAfter). Other statuses answer `description` or a generic one
        ("Bad Request", "Forbidden", "Internal Server Error", ...).
        """
        target = None if chat is None else str(_chat_key(chat))
        self._queue(Injection(status, retry_after, count, target, method, error=description))

    # -- HTTP ----------------------------------------------------------------------------

    def _answer(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(
        self,
        method: str,
        target: str | None,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        injected: bool = False,
    ) -> web.Response:
        self._reject(
            method, target, status, description, injected=injected, retry_after=retry_after
        )
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if not _TOKEN_SHAPE.match(token):
            return self._error(method, None, 404, "Not Found")
        if token != self.token:
            return self._error(method, None, 401, "Unauthorized")
        try:
            params, _ = await read_params(request)
        except ValueError:
            return self._error(method, None, 400, "Bad Request: invalid JSON body")
        self.requests.append((method, params))
        target = str(params["chat_id"]).strip() if "chat_id" in params else None
        injection = self._take_injection(method, target)
        if injection is not None:
            if injection.status == 429:
                retry = injection.retry_after
                return self._error(
                    method,
                    target,
                    429,
                    f"Too Many Requests: retry after {retry}",
                    retry_after=retry,
                    injected=True,
                )
            description = injection.error or _GENERIC.get(injection.status, "Unknown Error")
            return self._error(method, target, injection.status, description, injected=True)
        try:
            if method == "getMe":
                return self._answer(self._me())
            if method in ("setMyCommands", "deleteWebhook"):
                return self._answer(True)
            if method == "sendMessage":
                return self._answer(self._send_message(params))
        except _Refusal as refusal:
            return self._error(
                method, target, refusal.status, refusal.description, retry_after=refusal.retry_after
            )
        return self._error(method, target, 404, "Not Found")

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "PaperDrop (fake)",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat_id = _chat_id(params["chat_id"])
        source = params.get("text")
        if not isinstance(source, str) or not source:
            raise _Refusal(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode") or None
        entities: list[TgEntity] = []
        if parse_mode is None:
            text = source
        elif str(parse_mode).lower() == "html":
            try:
                text, entities = parse_telegram_html(source, strict_nesting=self.strict_nesting)
            except HtmlParseError as exc:
                raise _Refusal(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            raise _Refusal(400, "Bad Request: unsupported parse_mode")
        text, entities = _trim(text, entities)
        if len(text) < MessageLimit.MIN_TEXT_LENGTH:
            raise _Refusal(400, "Bad Request: message text is empty")
        if len(text) > MessageLimit.MAX_TEXT_LENGTH:
            raise _Refusal(400, "Bad Request: message is too long")
        preview = _json_param(params, "link_preview_options")
        if preview is not None and not isinstance(preview, dict):
            raise _Refusal(400, "Bad Request: can't parse link_preview_options JSON object")
        reply_to = self._reply_target(chat_id, params)
        thread = params.get("message_thread_id")
        thread_id = int(thread) if thread not in (None, "") else None
        if chat_id in self._blocked:
            raise _Refusal(403, self._blocked[chat_id])
        if self.enforce_rate_limits:
            slots: list[tuple[Any, Window]] = [(("chat", chat_id), PER_CHAT), ("all", OVERALL)]
            if str(chat_id).startswith("-"):
                slots.append((("group", chat_id), PER_GROUP))
            verdict = self.windows.acquire(*slots)
            if not verdict.ok:
                retry = retry_after_seconds(verdict.wait)
                raise _Refusal(429, f"Too Many Requests: retry after {retry}", retry)
        message_id = self._next_id.get(chat_id, 0) + 1
        self._next_id[chat_id] = message_id
        record = TelegramMessage(
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            html=source,
            parse_mode=parse_mode,
            entities=tuple(entities),
            reply_to=reply_to,
            message_thread_id=thread_id,
            link_preview_options=preview,
            time=self.clock(),
            date=int(self.wall_clock()),
            params=params,
        )
        self.messages.append(record)
        return self._message_json(record)

    def _reply_target(self, chat_id: ChatId, params: dict[str, Any]) -> int | None:
        reply = _json_param(params, "reply_parameters")
        if reply is None and params.get("reply_to_message_id") not in (None, ""):
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": _json_param(params, "allow_sending_without_reply"),
            }
        if reply is None:
            return None
        if not isinstance(reply, dict) or "message_id" not in reply:
            raise _Refusal(400, "Bad Request: can't parse reply parameters JSON object")
        in_chat = _chat_id(reply["chat_id"]) if reply.get("chat_id") is not None else chat_id
        wanted = int(reply["message_id"])
        if any(m.message_id == wanted for m in self.messages if m.chat_id == in_chat):
            return wanted
        if reply.get("allow_sending_without_reply"):
            return None
        raise _Refusal(400, "Bad Request: message to be replied not found")

    def _chat_json(self, chat_id: ChatId) -> dict[str, Any]:
        kind = _chat_type(chat_id)
        chat: dict[str, Any] = {"id": chat_id if isinstance(chat_id, int) else -1000, "type": kind}
        if kind == "private":
            chat["first_name"] = "Reader"
        else:
            chat["title"] = f"Chat {chat_id}"
        if isinstance(chat_id, str):
            chat["username"] = chat_id.lstrip("@")
        return chat

    def _message_json(self, m: TelegramMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "PaperDrop (fake)",
                "username": self.username,
            },
            "chat": self._chat_json(m.chat_id),
            "date": m.date,
            "text": m.text,
        }
        if m.entities:
            out["entities"] = [e.to_dict() for e in m.entities]
        if m.reply_to is not None:
            parent = next(
                p for p in self.messages if p.chat_id == m.chat_id and p.message_id == m.reply_to
            )
            out["reply_to_message"] = {
                "message_id": parent.message_id,
                "chat": self._chat_json(parent.chat_id),
                "date": parent.date,
                "text": parent.text,
            }
        if m.message_thread_id is not None:
            out["message_thread_id"] = m.message_thread_id
        if m.link_preview_options is not None:
            out["link_preview_options"] = m.link_preview_options
        return out


def _trim(text: str, entities: list[TgEntity]) -> tuple[str, list[TgEntity]]:
    """Telegram strips leading and trailing whitespace; entities are shifted and clipped."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = len(text) - len(text.lstrip())
    shift = len(text[:lead].encode("utf-16-le")) // 2
    size = len(stripped.encode("utf-16-le", "surrogatepass")) // 2
    kept: list[TgEntity] = []
    for e in entities:
        start = max(0, e.offset - shift)
        end = min(size, e.offset + e.length - shift)
        if end > start:
            kept.append(TgEntity(e.type, start, end - start, e.url, e.language, e.custom_emoji_id))
    return stripped, kept
