"""A fake Telegram Bot API for contract tests that drive the real python-telegram-bot.

    async with FakeTelegram() as tg:
        async with telegram.Bot(tg.token, base_url=tg.base_url) as bot:   # getMe
            await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert tg.by_chat(42)[0].text == "hi"

Receiving (a real `telegram.ext.Application` polling the fake):

    async with FakeTelegram() as tg:
        app = Application.builder().token(tg.token).base_url(tg.base_url).build()
        app.add_handler(CommandHandler("paper", on_paper))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            tg.user_says(-1001, f"/paper@{tg.username} 2605.29559")
            ...  # wait on an asyncio.Event the handler sets
            await app.updater.stop()
            await app.stop()

URLs: PTB appends the token to `base_url` (``http://127.0.0.1:PORT/bot``) and then
``/<method>``. Parameters arrive as a form (PTB JSON-encodes nested objects into the
values), JSON or query; answers use the Bot API envelope ``{"ok": true, "result": ...}``
and ``{"ok": false, "error_code", "description"[, "parameters"]}``.

What is checked, as Telegram does:

- Token: malformed -> 404 "Not Found"; well-formed but wrong -> 401 "Unauthorized" (PTB
  raises InvalidToken for both). Unknown method -> 404 "Not Found".
- ``getMe`` (needed by ``Bot.initialize()``; ``can_read_all_group_messages`` is
  ``not privacy_mode``).
- ``sendMessage``: ``parse_mode`` "HTML" is parsed by `parse_telegram_html` (see
  telegram_html.py: tags, entities, byte offsets, optional strict nesting); no
  ``parse_mode`` sends the text as is; other modes -> 400 "Bad Request: unsupported
  parse_mode". The visible text (leading/trailing whitespace trimmed, as Telegram does)
  must be 1..4096 code points: "Bad Request: message text is empty" /
  "Bad Request: message is too long". ``reply_parameters`` (or the old
  ``reply_to_message_id``) must name a message of that chat (the bot's or a user's),
  else "Bad Request: message to be replied not found" unless
  ``allow_sending_without_reply``. ``link_preview_options`` must be an object.
  ``message_thread_id`` is recorded.
- ``reply_markup`` (JSON string or object), recorded on `TelegramMessage.reply_markup`:
  unparsable -> "Bad Request: can't parse reply keyboard markup JSON object". An
  ``inline_keyboard`` must be an array of arrays of buttons ('Bad Request: field
  "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'); each
  button needs a non-empty ``text`` and exactly one action field (``url``,
  ``callback_data``, ``web_app``, ``login_url``, ``switch_inline_query*``,
  ``copy_text``, ``callback_game``, ``pay``): none -> "Bad Request: text buttons are
  unallowed in the inline keyboard"; several are refused too (the Bot API says "exactly
  one"; PTB's FAQ: a button cannot have both url and callback_data). ``callback_data``
  must be 1..64 BYTES of UTF-8, else "Bad Request: BUTTON_DATA_INVALID"; ``url`` must be
  an http(s)/tg URL with a host, else "Bad Request: BUTTON_URL_INVALID"; more than 100
  buttons -> "Bad Request: reply markup is too long". ``keyboard`` /
  ``remove_keyboard`` / ``force_reply`` are recorded unchecked; any other object is
  refused (fake strict: Telegram ignores it).
- ``sendPhoto`` with ``photo`` an HTTP(S) URL (what paperdrop sends: Telegram downloads
  it) or a file_id: the fake downloads the URL for real (it is another local fake) and
  refuses, as Telegram does, a URL it cannot get ("Bad Request: failed to get HTTP URL
  content"), a page that is not an image ("Bad Request: wrong type of the web page
  content") or one over 5 MB ("Bad Request: failed to get HTTP URL content"); no photo ->
  "Bad Request: there is no photo in the request". ``caption`` follows the text rules
  with 0..1024 code points ("Bad Request: message caption is too long"). Recorded with
  `photo` set and the caption as `text`.
- ``editMessageText`` / ``editMessageReplyMarkup`` (``chat_id`` + ``message_id``; an
  ``inline_message_id`` is not supported -> "Bad Request: MESSAGE_ID_INVALID"): the
  message must be one the bot sent in that chat ("Bad Request: message to edit not
  found"; a user's message -> "Bad Request: message can't be edited"). The text follows
  the sendMessage rules. As on Telegram, an edit without ``reply_markup`` removes the
  inline keyboard, and only an inline keyboard may be set. An edit that changes neither
  text, entities nor markup -> "Bad Request: message is not modified: specified new
  message content and reply markup are exactly the same as a current content and reply
  markup of the message". The record in `messages` is replaced (``edit_date`` set) and
  every edit is appended to `edits`.
- Blocked chats (`block_chat`): 403 "Forbidden: bot was blocked by the user" (private),
  "Forbidden: bot was kicked from the group chat" / "... supergroup chat" (groups), for
  sends and edits.
- Rate limits, when `enforce_rate_limits` (off by default), on the injectable clock:
  1 message per 1.0 s per chat, 20 per 60 s per group (chat ids starting with "-"),
  30 per 1.0 s overall (telegram.constants.FloodLimit). Exceeding one answers 429
  "Too Many Requests: retry after N" with ``parameters.retry_after`` = seconds until a slot
  frees, rounded up, at least 1. Also ``setWebhook`` with a url at most once per 1.0 s
  (429, retry after 1), as tdlib's Bot API server does.

Receiving updates (semantics follow tdlib/telegram-bot-api's Client.cpp):

- ``getUpdates`` (``offset``, ``limit`` clamped to 1..100, default 100, ``timeout``
  seconds clamped to 0..50, ``allowed_updates``): answers the pending updates with
  ``update_id >= offset``, oldest first, in the real Update JSON shape. A positive
  ``offset`` confirms, i.e. drops forever, every update with a smaller id
  (`confirmed_offset`); a negative one counts from the newest (-1: the last update); an
  offset beyond the newest id + 1 is ignored (answers from the oldest pending). Update ids
  start at `FIRST_UPDATE_ID`, not 1.
- With nothing to answer and ``timeout > 0`` it long-polls: it answers as soon as an
  update is queued, or ``[]`` after ``timeout`` (real seconds). ``timeout=0`` answers at
  once. A new long poll terminates the one still waiting, which gets 409 "Conflict:
  terminated by other getUpdates request; make sure that only one bot instance is
  running" (so two polling instances keep failing each other; a call that answers at once
  does not terminate anything). Telegram delays repeated conflict answers by 3 s; the
  fake answers at once. A poll whose client has gone away is dropped silently.
- ``getUpdates`` while a webhook is set -> 409 "Conflict: can't use getUpdates method
  while webhook is active; use deleteWebhook to delete the webhook first".
- ``allowed_updates`` (JSON list) is remembered until changed, as Telegram does; ``[]``
  restores the default (everything but chat_member, message_reaction,
  message_reaction_count). It applies to updates created after the call: helpers do not
  queue an update of a type not allowed (it lands in `withheld_updates`).
- Closing the server releases a waiting poll at once (answering ``[]``).
- ``setWebhook``: ``url`` must be http(s) with a host ("Bad Request: invalid webhook URL
  specified"); plain http only on 127.0.0.1/localhost ("Bad Request: bad webhook: HTTPS
  url must be provided for webhook"); other hosts only on ports 80, 88, 443, 8443 ("Bad
  Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"). Local
  hosts take any port, like the Bot API server's --local mode. An empty url deletes the
  webhook. ``secret_token``: at most 256 characters ("Bad Request: secret token is too
  long") of ``[A-Za-z0-9_-]`` ("Bad Request: secret token contains unallowed
  characters"); empty means none. ``drop_pending_updates`` drops the queue;
  ``allowed_updates`` as for getUpdates. Setting it terminates a waiting poll with 409
  "Conflict: terminated by setWebhook request". Recorded: `webhook_url`,
  `webhook_secret`. ``deleteWebhook`` (``drop_pending_updates``) clears both. Answers
  carry Telegram's description ("Webhook was set", "Webhook is already deleted", ...).
- ``getWebhookInfo``: ``url`` ("" when none), ``has_custom_certificate`` false,
  ``pending_update_count``, and once a webhook is set ``max_connections``,
  ``allowed_updates`` and the last delivery error (``last_error_date`` /
  ``last_error_message``).
- Webhook delivery is explicit: `deliver_webhook()` POSTs the pending updates to the
  webhook url, oldest first, with ``X-Telegram-Bot-Api-Secret-Token`` when a secret is
  set; an update is dropped once answered 2xx, and the first failure stops the round
  ("Wrong response from the webhook: 500 Internal Server Error"). Methods in the
  webhook's response body are not executed.

Commands, chats, callback queries:

- ``setMyCommands`` (``commands``, ``scope``, ``language_code``): at most 100 commands
  ("Bad Request: BOT_COMMANDS_TOO_MUCH"); each ``command`` ``^[a-z0-9_]{1,32}$`` ("Bad
  Request: BOT_COMMAND_INVALID") and ``description`` 1..256 characters ("Bad Request:
  BOT_COMMAND_DESCRIPTION_INVALID"); stored per scope and language (`commands` is the
  default scope, no language; `commands_for()` the others). ``getMyCommands`` answers
  that list (``[]`` if none); ``deleteMyCommands`` clears it.
- ``getChat``: the chat (ChatFullInfo JSON). ``getChatMember(chat_id, user_id)``: a
  ChatMember JSON of the status set by `set_member` (creator, administrator, member,
  restricted, left, kicked), default "member"; in a private chat only the user and the
  bot are members, anyone else -> "Bad Request: user not found".
- ``answerCallbackQuery(callback_query_id, text, show_alert)``: the id must be one a
  `user_clicks` issued, answered at most once and within 15 s of the click on the fake's
  `clock`; else "Bad Request: query is too old and response timeout expired or query ID
  is invalid". Answers are recorded in `callback_answers` as ``(id, text)``.

Simulated users (`user_says`, `user_clicks`): messages share each chat's message-id
counter with sendMessage and carry `wall_clock` dates. Telegram's own entities are added
to user text, offsets in UTF-16 units: ``bot_command`` (``/cmd`` or ``/cmd@bot``
anywhere, as tdlib's parser finds them), ``mention`` (``@username``), ``email`` and
``url`` (``http(s)://...`` and bare hosts, for a list of common TLDs only; Telegram knows
every TLD and also detects hashtags, cashtags, phone numbers...).

Privacy mode (on by default, like a new bot's): in groups the bot receives only commands
(not ``/cmd@other_bot``), messages mentioning it, replies to its messages, and everything
once it is an administrator there (`set_member`). Other group messages are not queued;
they land in `withheld_updates`. (Telegram delivers a general ``/cmd`` only if the bot
spoke last among bots; the fake always does.) ``privacy_mode=False`` delivers all.

Every method goes through `fail_next` injections (``fail_next(429, retry_after=3,
method="getUpdates")`` etc.) before its own rules.

Note for tests: PTB 22 warns (PTBDeprecationWarning) when RetryAfter is constructed unless
``PTB_TIMEDELTA=1`` is set; with ``filterwarnings=error`` a 429 otherwise surfaces as that
warning instead of RetryAfter. Set the variable (then ``retry_after`` is a timedelta).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from telegram.constants import (
    BotCommandLimit,
    FloodLimit,
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    MessageLimit,
    WebhookLimit,
)

from tests.fakes._base import FakeServer, Injection, Rejection, read_params
from tests.fakes.ratelimit import Clock, Window, retry_after_seconds
from tests.fakes.telegram_html import HtmlParseError, TgEntity, parse_telegram_html, utf16_len

__all__ = [
    "CALLBACK_ANSWER_WINDOW",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "FIRST_UPDATE_ID",
    "MEMBER_STATUSES",
    "FakeTelegram",
    "Rejection",
    "TelegramEdit",
    "TelegramMessage",
]

DEFAULT_TOKEN = "123456789:AAFakeTokenForPaperdropTests_0123456"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

PER_CHAT = Window(int(FloodLimit.MESSAGES_PER_SECOND_PER_CHAT), 1.0, "per chat")
PER_GROUP = Window(int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP), 60.0, "per group")
OVERALL = Window(int(FloodLimit.MESSAGES_PER_SECOND), 1.0, "overall")
SET_WEBHOOK = Window(1, 1.0, "setWebhook")

# Real update ids are large and arbitrary; starting far from 1 catches code assuming 1.
FIRST_UPDATE_ID = 500_000_001
DEFAULT_USER_ID = 424_242  # the default sender in groups (in private chats: the chat id)
CALLBACK_ANSWER_WINDOW = 15.0  # seconds after the click (fake clock)
LONG_POLL_MAX_TIMEOUT = 50  # tdlib clamps getUpdates' timeout to this
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")

CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

_GENERIC = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# Delivered unless allowed_updates says otherwise (Bot API: getUpdates.allowed_updates).
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]*$")
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
ChatId = int | str


@dataclass(frozen=True)
class TelegramMessage:
    """A message the bot sent. `text` is what the reader sees; `html` what was sent.

    Edits replace the record in `FakeTelegram.messages` (`edit_date` set); the previous
    versions are in `FakeTelegram.edits`.
    """

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
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    photo: str | None = None  # sendPhoto: the URL (or file_id) sent

    def callback_data(self) -> list[str]:
        """The callback_data of every inline button, row by row."""
        return [
            button["callback_data"]
            for row in _inline_rows(self.reply_markup)
            for button in row
            if "callback_data" in button
        ]


@dataclass(frozen=True)
class TelegramEdit:
    """One accepted editMessageText / editMessageReplyMarkup."""

    method: str
    before: TelegramMessage
    after: TelegramMessage
    time: float  # the fake's clock


@dataclass
class _Poll:
    """A getUpdates call waiting for an update."""

    request: web.Request
    wake: asyncio.Event
    conflict: str | None = None


@dataclass
class _Callback:
    clicked_at: float
    answered: bool = False


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


def _int_param(params: dict[str, Any], name: str, default: int) -> int:
    """tdlib reads integers leniently: a missing or empty value is the default."""
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise _Refusal(400, f"Bad Request: invalid {name} specified") from None


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _inline_rows(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    if not markup or not isinstance(markup.get("inline_keyboard"), list):
        return []
    rows: list[list[dict[str, Any]]] = markup["inline_keyboard"]
    return rows


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _Refusal(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an '
            "Array of Arrays",
        )
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise _Refusal(400, "Bad Request: can't parse inline keyboard button")
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _Refusal(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    'field "text" must be a non-empty String',
                )
            actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
            if not actions:
                raise _Refusal(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise _Refusal(
                    400,
                    "Bad Request: can't parse inline keyboard button: exactly one of "
                    f"the optional fields must be used, got {', '.join(actions)}",
                )
            if "callback_data" in actions:
                data = button["callback_data"]
                size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                if not (
                    InlineKeyboardButtonLimit.MIN_CALLBACK_DATA
                    <= size
                    <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
                ):
                    raise _Refusal(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in actions:
                url = button["url"]
                parts = urlsplit(url) if isinstance(url, str) else None
                if parts is None or parts.scheme not in ("http", "https", "tg") or not parts.netloc:
                    raise _Refusal(400, "Bad Request: BUTTON_URL_INVALID")
    if count > InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER:
        raise _Refusal(400, "Bad Request: reply markup is too long")


def _reply_markup(params: dict[str, Any], *, inline_only: bool = False) -> dict[str, Any] | None:
    value = params.get("reply_markup")
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise _Refusal(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        _check_inline_keyboard(value["inline_keyboard"])
        return value
    if inline_only:
        raise _Refusal(400, "Bad Request: inline keyboard expected")
    if any(key in value for key in ("keyboard", "remove_keyboard", "force_reply")):
        return value
    raise _Refusal(400, "Bad Request: can't parse reply keyboard markup JSON object")


# -- Telegram's own entities in user text --------------------------------------------------

_WORDISH = frozenset("/<>\\")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{3,32}))?")
_MENTION = re.compile(r"@([A-Za-z0-9_]{3,32})")
_TLDS = "com|org|net|io|ai|dev|app|co|me|info|edu|gov|uk|de|fr|jp|cn|ru|xyz|page|site|tech|ly"
_URL = re.compile(
    rf"(?:https?://)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:{_TLDS})"
    r"(?::\d{1,5})?(?:[/?#]\S*)?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,:;!?'\")]}"
_EMAIL = re.compile(
    rf"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:{_TLDS})\b",
    re.IGNORECASE,
)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _user_entities(text: str) -> list[dict[str, Any]]:
    """bot_command, mention, email and url entities, as Telegram adds them to a user's
    text."""
    spans: list[tuple[int, int, str]] = []  # (start, end) in code points, type

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in spans)

    for m in _COMMAND.finditer(text):
        start, end = m.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        # tdlib: a command is not glued to a word, a path or a tag on either side.
        if before and (_is_word(before) or before in _WORDISH):
            continue
        if after and (_is_word(after) or after in _WORDISH):
            continue
        spans.append((start, end, "bot_command"))
    for m in _EMAIL.finditer(text):
        start, end = m.span()
        if (start and _is_word(text[start - 1])) or not free(start, end):
            continue
        spans.append((start, end, "email"))
    for m in _MENTION.finditer(text):
        start, end = m.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if (before and (_is_word(before) or before in "@/")) or (after and _is_word(after)):
            continue
        if free(start, end):
            spans.append((start, end, "mention"))  # (a command's @bot is part of it)
    for m in _URL.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in _URL_TRAILING:
            end -= 1
        before = text[start - 1] if start else ""
        if before and (_is_word(before) or before in "@/.-"):
            continue
        if free(start, end):
            spans.append((start, end, "url"))
    spans.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in spans
    ]


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


class FakeTelegram(FakeServer):
    """Fake Bot API. See the module docstring for the rules it enforces."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        enforce_rate_limits: bool = False,
        port: int = 0,
        strict_nesting: bool = True,
        username: str = "paperdrop_fake_bot",
        privacy_mode: bool = True,
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits, port=port)
        self.token = token
        self.username = username
        self.wall_clock = wall_clock
        self.strict_nesting = strict_nesting
        self.privacy_mode = privacy_mode
        self.messages: list[TelegramMessage] = []  # what the bot sent (current versions)
        self.edits: list[TelegramEdit] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []  # every call, accepted or not
        self.updates: list[dict[str, Any]] = []  # every update the helpers made
        self.withheld_updates: list[dict[str, Any]] = []  # made but not queued (see docs)
        self.callback_answers: list[tuple[str, str | None]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._blocked: dict[ChatId, str] = {}
        self._next_id: dict[ChatId, int] = {}
        self._user_messages: dict[tuple[ChatId, int], dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._chat_types: dict[ChatId, str] = {}
        self._members: dict[tuple[ChatId, int], str] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._callbacks: dict[str, _Callback] = {}
        self._callback_seq = 0
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._confirmed = 0
        self._allowed_updates: frozenset[str] | None = None  # None: the default set
        self._poller: _Poll | None = None
        self._poll_started = asyncio.Event()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._webhook_max_connections = 40
        self._webhook_error: tuple[int, str] | None = None
        self._hold_after: int | None = None
        self._release = asyncio.Event()
        self.holding = asyncio.Event()  # set once a send is being held (see hold_sends_after)
        self.held = 0

    def __repr__(self) -> str:  # never show the token
        return f"FakeTelegram(origin={self._origin!r}, messages={len(self.messages)})"

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def start(self) -> None:
        self._closing = False
        self._loop = asyncio.get_running_loop()
        await super().start()

    async def close(self) -> None:
        # aiohttp's cleanup waits for running handlers: release a waiting poll first.
        self._closing = True
        self._wake_poller()
        self._release.set()
        await super().close()

    def _base_path(self) -> str:
        return "/bot"

    def hold_sends_after(self, accepted: int) -> None:
        """Once `accepted` messages were sent, hold every further sendMessage unanswered
        (a client killed meanwhile never hears back) until `drop_held()`."""
        self._hold_after = accepted
        self._release.clear()
        self.holding.clear()

    def drop_held(self) -> None:
        """Answer the held sends 500 without recording them (never accepted), and stop
        holding."""
        self._hold_after = None
        self._release.set()

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    # -- test helpers: sending side ------------------------------------------------------

    def by_chat(self, chat_id: ChatId) -> list[TelegramMessage]:
        key = _chat_key(chat_id)
        return [m for m in self.messages if m.chat_id == key]

    def message(self, chat_id: ChatId, message_id: int) -> TelegramMessage:
        """The bot's message (current version); KeyError if the bot sent no such message."""
        found = self._bot_message(_chat_key(chat_id), message_id)
        if found is None:
            raise KeyError(f"the bot sent no message {message_id} in chat {chat_id}")
        return found

    def chat_log(self, chat_id: ChatId) -> list[dict[str, Any]]:
        """Every message of the chat, the bot's and the users', as Message JSON by id."""
        key = _chat_key(chat_id)
        ids = {m.message_id for m in self.messages if m.chat_id == key}
        ids.update(mid for chat, mid in self._user_messages if chat == key)
        return [self._any_message_json(key, mid) for mid in sorted(ids)]

    def block_chat(
        self, chat_id: ChatId, reason: Literal["blocked", "kicked"] | None = None
    ) -> None:
        """Make sends to `chat_id` fail with 403: "blocked" by a user, "kicked" from a
        group (default: by the chat type)."""
        key = _chat_key(chat_id)
        kind = self._type_of(key)
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

    # -- test helpers: receiving side ----------------------------------------------------

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed (copies), oldest first."""
        return copy.deepcopy(self._pending)

    @property
    def confirmed_offset(self) -> int:
        """The highest getUpdates offset seen: every update below it is gone (0: none)."""
        return self._confirmed

    @property
    def commands(self) -> list[dict[str, str]]:
        """setMyCommands' list for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        return list(self._commands.get((_scope_key(scope), language_code), []))

    def set_member(self, chat_id: ChatId, user_id: int, status: str) -> None:
        """What getChatMember answers for `user_id` in `chat_id` (also for the bot's own
        id: "administrator" lifts privacy mode in that group)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}, not {status!r}")
        self._members[(_chat_key(chat_id), int(user_id))] = status

    def user_says(
        self,
        chat_id: ChatId,
        text: str,
        *,
        user_id: int | None = None,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        chat_type: str | None = None,
        reply_to: int | None = None,
        message_thread_id: int | None = None,
        queue: bool = True,
    ) -> dict[str, Any]:
        """A user writes `text` in `chat_id`: the Update (a copy) is returned and queued.

        `user_id` defaults to the chat id in a private chat (where it must equal it) and to
        `DEFAULT_USER_ID` elsewhere; names default to what that user had before ("Reader").
        `chat_type` overrides the type derived from the id (-100...: supergroup, other
        negative: group, positive: private); "channel" makes a ``channel_post``.
        `reply_to`: a message id of that chat (the bot's or a user's); the update's
        ``reply_to_message`` holds it. `queue=False` makes the update without queueing it
        (to POST it to a webhook endpoint yourself); it is still recorded in the chat.
        Privacy mode and allowed_updates may withhold it (see the module docstring).
        """
        if not isinstance(text, str) or not text:
            raise ValueError("a user cannot send an empty message")
        key = _chat_key(chat_id)
        if not isinstance(key, int):
            raise ValueError("user_says needs a numeric chat id")
        if chat_type is not None:
            if chat_type not in ("private", "group", "supergroup", "channel"):
                raise ValueError(f"unknown chat type {chat_type!r}")
            self._chat_types[key] = chat_type
        kind = self._type_of(key)
        message: dict[str, Any] = {"message_id": self._take_message_id(key)}
        if kind == "channel":
            message["sender_chat"] = self._chat_json(key)
        else:
            user = self._user(key, kind, user_id, username, first_name, last_name, language_code)
            message["from"] = user
        message["chat"] = self._chat_json(key)
        message["date"] = int(self.wall_clock())
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
        replied_to_bot = False
        if reply_to is not None:
            if not self._message_exists(key, reply_to):
                raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
            message["reply_to_message"] = self._any_message_json(key, reply_to, nested=True)
            replied_to_bot = self._bot_message(key, reply_to) is not None
        message["text"] = text
        entities = _user_entities(text)
        if entities:
            message["entities"] = entities
        self._user_messages[(key, message["message_id"])] = message
        kind_key = "channel_post" if kind == "channel" else "message"
        update = self._make_update(kind_key, message)
        if queue:
            delivered = kind not in ("group", "supergroup") or self._bot_sees(
                key, text, entities, replied_to_bot
            )
            self._enqueue(update, delivered)
        return copy.deepcopy(update)

    def user_clicks(
        self,
        chat_id: ChatId,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        username: str | None = None,
        first_name: str | None = None,
        queue: bool = True,
    ) -> dict[str, Any]:
        """A user presses the inline button with callback `data` under the bot's message:
        a ``callback_query`` Update (a copy) is returned and queued (`queue=False`: not
        queued). Its id is fresh and answerable once, for `CALLBACK_ANSWER_WINDOW` s.
        ValueError if that message has no such button."""
        key = _chat_key(chat_id)
        if not isinstance(key, int):
            raise ValueError("user_clicks needs a numeric chat id")
        record = self._bot_message(key, message_id)
        if record is None:
            raise ValueError(f"the bot sent no message {message_id} in chat {chat_id}")
        if data not in record.callback_data():
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r} "
                f"(it has {record.callback_data()})"
            )
        kind = self._type_of(key)
        user = self._user(key, kind, user_id, username, first_name, None, "en")
        self._callback_seq += 1
        query_id = f"{self.bot_id}{self._callback_seq:010d}"
        self._callbacks[query_id] = _Callback(clicked_at=self.clock())
        query = {
            "id": query_id,
            "from": user,
            "message": self._message_json(record),
            "chat_instance": _chat_instance(self.bot_id, key),
            "data": data,
        }
        update = self._make_update("callback_query", query)
        if queue:
            self._enqueue(update, delivered=True)
        return copy.deepcopy(update)

    @property
    def long_polling(self) -> bool:
        """Whether a getUpdates call is waiting for an update right now."""
        return self._poller is not None

    async def wait_for_poll(self, *, within: float = 10.0) -> None:
        """Return once a getUpdates call is long-polling; TimeoutError after `within` s.
        (Call it on the server's event loop.)"""
        async with asyncio.timeout(within):
            while self._poller is None:
                self._poll_started.clear()
                await self._poll_started.wait()

    async def deliver_webhook(self, *, request_timeout: float = 10.0) -> int:
        """POST the pending updates to `webhook_url`, oldest first, as Telegram does.

        Each one answered 2xx is dropped; the first failure stops (recorded for
        getWebhookInfo). Returns how many were delivered.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set (setWebhook first)")
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        delivered = 0
        client_timeout = aiohttp.ClientTimeout(total=request_timeout)
        async with aiohttp.ClientSession(timeout=client_timeout) as http:
            while self._pending:
                update = self._pending[0]
                try:
                    async with http.post(
                        self.webhook_url, data=json.dumps(update), headers=headers
                    ) as answer:
                        await answer.read()
                        status, reason = answer.status, answer.reason or ""
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self._webhook_error = (int(self.wall_clock()), f"Connection failed: {exc}")
                    break
                if not 200 <= status < 300:
                    message = f"Wrong response from the webhook: {status} {reason}".rstrip()
                    self._webhook_error = (int(self.wall_clock()), message)
                    break
                self._pending.pop(0)
                delivered += 1
        return delivered

    # -- HTTP ----------------------------------------------------------------------------

    def _answer(self, result: Any, description: str | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": True, "result": result}
        if description is not None:
            body["description"] = description
        return web.json_response(body)

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
        if (
            method == "sendMessage"
            and self._hold_after is not None
            and len(self.messages) >= self._hold_after
        ):
            self.held += 1
            self.holding.set()
            await self._release.wait()
            return self._error(method, target, 500, "Internal Server Error: held, dropped")
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
            if method == "getUpdates":
                return self._answer(await self._get_updates(request, params))
            if method == "sendPhoto":
                return self._answer(await self._send_photo(params))
            if method in ("setWebhook", "deleteWebhook"):
                return self._answer(True, self._set_webhook(method, params))
            handler = self._methods().get(method)
            if handler is not None:
                return self._answer(handler(params))
        except _Refusal as refusal:
            return self._error(
                method, target, refusal.status, refusal.description, retry_after=refusal.retry_after
            )
        return self._error(method, target, 404, "Not Found")

    def _methods(self) -> dict[str, Any]:
        return {
            "getMe": lambda _params: self._me(),
            "sendMessage": self._send_message,
            "editMessageText": lambda p: self._edit(p, text=True),
            "editMessageReplyMarkup": lambda p: self._edit(p, text=False),
            "getWebhookInfo": lambda _params: self._webhook_info(),
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "answerCallbackQuery": self._answer_callback_query,
        }

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "PaperDrop (fake)",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
        }

    # -- sending -------------------------------------------------------------------------

    def _text(self, params: dict[str, Any]) -> tuple[str, str, str | None, list[TgEntity]]:
        """(visible text, source, parse_mode, entities) of a `text` parameter."""
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
        return text, source, parse_mode, entities

    def _preview(self, params: dict[str, Any]) -> dict[str, Any] | None:
        preview = _json_param(params, "link_preview_options")
        if preview is not None and not isinstance(preview, dict):
            raise _Refusal(400, "Bad Request: can't parse link_preview_options JSON object")
        return preview

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat_id = _chat_id(params["chat_id"])
        text, source, parse_mode, entities = self._text(params)
        preview = self._preview(params)
        markup = _reply_markup(params)
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
        record = TelegramMessage(
            chat_id=chat_id,
            message_id=self._take_message_id(chat_id),
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
            reply_markup=markup,
        )
        self.messages.append(record)
        return self._message_json(record)

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat_id = _chat_id(params["chat_id"])
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            raise _Refusal(400, "Bad Request: there is no photo in the request")
        caption, entities, parse_mode = "", [], params.get("parse_mode") or None
        if params.get("caption"):
            caption, _, parse_mode, entities = self._text({**params, "text": params["caption"]})
            if len(caption) > PHOTO_CAPTION_MAX:
                raise _Refusal(400, "Bad Request: message caption is too long")
        if photo.startswith(("http://", "https://")):
            await self._download_photo(photo)
        reply_to = self._reply_target(chat_id, params)
        if chat_id in self._blocked:
            raise _Refusal(403, self._blocked[chat_id])
        record = TelegramMessage(
            chat_id=chat_id,
            message_id=self._take_message_id(chat_id),
            text=caption,
            html=str(params.get("caption") or ""),
            parse_mode=parse_mode,
            entities=tuple(entities),
            reply_to=reply_to,
            message_thread_id=None,
            link_preview_options=None,
            time=self.clock(),
            date=int(self.wall_clock()),
            params=params,
            reply_markup=_reply_markup(params),
            photo=photo,
        )
        self.messages.append(record)
        return self._message_json(record)

    async def _download_photo(self, url: str) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
                body = await resp.content.read(PHOTO_URL_MAX_BYTES + 1)
                kind = resp.headers.get("Content-Type", "")
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            raise _Refusal(400, "Bad Request: failed to get HTTP URL content") from None
        if status != 200 or len(body) > PHOTO_URL_MAX_BYTES:
            raise _Refusal(400, "Bad Request: failed to get HTTP URL content")
        if not kind.startswith("image/"):
            raise _Refusal(400, "Bad Request: wrong type of the web page content")

    def _edit(self, params: dict[str, Any], *, text: bool) -> dict[str, Any]:
        method = "editMessageText" if text else "editMessageReplyMarkup"
        if params.get("inline_message_id") not in (None, ""):
            raise _Refusal(400, "Bad Request: MESSAGE_ID_INVALID")  # fake: not supported
        if params.get("chat_id") in (None, ""):
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat_id = _chat_id(params["chat_id"])
        if params.get("message_id") in (None, ""):
            raise _Refusal(400, "Bad Request: message identifier is not specified")
        message_id = _int_param(params, "message_id", 0)
        before = self._bot_message(chat_id, message_id)
        if before is None:
            if (chat_id, message_id) in self._user_messages:
                raise _Refusal(400, "Bad Request: message can't be edited")
            raise _Refusal(400, "Bad Request: message to edit not found")
        changes: dict[str, Any] = {}
        if text:
            visible, source, parse_mode, entities = self._text(params)
            changes = {
                "text": visible,
                "html": source,
                "parse_mode": parse_mode,
                "entities": tuple(entities),
                "link_preview_options": self._preview(params),
            }
        # Telegram drops the inline keyboard of an edit that does not repeat it.
        changes["reply_markup"] = _reply_markup(params, inline_only=True)
        if chat_id in self._blocked:
            raise _Refusal(403, self._blocked[chat_id])
        after = dataclasses.replace(before, **changes, edit_date=int(self.wall_clock()))
        if (after.text, after.entities, _inline_rows(after.reply_markup)) == (
            before.text,
            before.entities,
            _inline_rows(before.reply_markup),
        ):
            raise _Refusal(400, NOT_MODIFIED)
        self.messages[self.messages.index(before)] = after
        self.edits.append(TelegramEdit(method, before, after, self.clock()))
        return self._message_json(after)

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
        if self._message_exists(in_chat, wanted):
            return wanted
        if reply.get("allow_sending_without_reply"):
            return None
        raise _Refusal(400, "Bad Request: message to be replied not found")

    # -- receiving -----------------------------------------------------------------------

    async def _get_updates(self, request: web.Request, params: dict[str, Any]) -> list[Any]:
        if self.webhook_url:
            raise _Refusal(409, CONFLICT_WEBHOOK_ACTIVE)
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = min(max(_int_param(params, "timeout", 0), 0), LONG_POLL_MAX_TIMEOUT)
        self._subscribe(params)
        start = self._confirm(offset)
        batch = self._batch(start, limit)
        if batch or timeout == 0 or self._closing:
            return batch
        previous = self._poller
        if previous is not None:
            self._terminate(previous, CONFLICT_OTHER_POLL)
        poll = _Poll(request, asyncio.Event())
        self._poller = poll
        self._poll_started.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poll.wake.wait(), timeout)
        finally:
            if self._poller is poll:
                self._poller = None
        if poll.conflict is not None:
            raise _Refusal(409, poll.conflict)
        return self._batch(start, limit)

    def _terminate(self, poll: _Poll, conflict: str) -> None:
        transport = poll.request.transport
        # Nobody would read the 409 of a poll whose client gave up (PTB's stop() does).
        if transport is not None and not transport.is_closing():
            poll.conflict = conflict
        poll.wake.set()
        if self._poller is poll:
            self._poller = None

    def _subscribe(self, params: dict[str, Any]) -> None:
        if params.get("allowed_updates") in (None, ""):
            return  # "If not specified, the previous setting will be used."
        allowed = _json_param(params, "allowed_updates")
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise _Refusal(400, "Bad Request: can't parse allowed_updates JSON object")
        self._allowed_updates = frozenset(allowed) or None

    def _confirm(self, offset: int) -> int:
        """Drop what `offset` confirms; the id to answer from."""
        head = self._pending[0]["update_id"] if self._pending else self._next_update_id
        if offset < 0:
            offset += self._next_update_id  # counted from the newest
        if offset > self._next_update_id:
            return head  # "in the future": tdlib answers from the oldest, confirms nothing
        if offset > head:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._confirmed = max(self._confirmed, offset)
        return max(offset, head)

    def _batch(self, start: int, limit: int) -> list[dict[str, Any]]:
        return [u for u in self._pending if u["update_id"] >= start][:limit]

    def _make_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.updates.append(update)
        return update

    def _enqueue(self, update: dict[str, Any], delivered: bool) -> None:
        kinds = set(update) - {"update_id"}
        allowed = self._allowed_updates
        if allowed is None:
            delivered = delivered and not kinds & _OPT_IN_UPDATES
        else:
            delivered = delivered and bool(kinds & allowed)
        if not delivered:
            self.withheld_updates.append(update)
            return
        self._pending.append(update)
        self._wake_poller()

    def _wake_poller(self) -> None:
        poll = self._poller
        if poll is None:
            return
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # Helpers may run in another thread than the server (see threaded.py).
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(poll.wake.set)
        else:
            poll.wake.set()

    def _bot_sees(
        self, chat_id: ChatId, text: str, entities: list[dict[str, Any]], replied_to_bot: bool
    ) -> bool:
        """Privacy mode: what a bot receives from a group."""
        if not self.privacy_mode or replied_to_bot:
            return True
        if self._members.get((chat_id, self.bot_id)) in ("administrator", "creator"):
            return True
        me = self.username.lower()
        for e in entities:
            piece = text.encode("utf-16-le", "surrogatepass")[
                2 * e["offset"] : 2 * (e["offset"] + e["length"])
            ].decode("utf-16-le", "surrogatepass")
            if e["type"] == "mention" and piece[1:].lower() == me:
                return True
            if e["type"] == "bot_command":
                _, _, target = piece.partition("@")
                if not target or target.lower() == me:
                    return True
        return False

    def _set_webhook(self, method: str, params: dict[str, Any]) -> str:
        url = str(params.get("url") or "").strip() if method == "setWebhook" else ""
        drop = _flag(params, "drop_pending_updates")
        if not url:
            had = self.webhook_url is not None
            self.webhook_url = self.webhook_secret = None
            self._webhook_error = None
            if drop:
                self._pending.clear()
            return "Webhook was deleted" if had else "Webhook is already deleted"
        if self.enforce_rate_limits and not self.windows.acquire(("setWebhook", SET_WEBHOOK)).ok:
            raise _Refusal(429, "Too Many Requests: retry after 1", 1)
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise _Refusal(400, "Bad Request: invalid webhook URL specified") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Refusal(400, "Bad Request: invalid webhook URL specified")
        local = parts.hostname in _LOCAL_HOSTS
        if parts.scheme == "http" and not local:
            raise _Refusal(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        if not local and port is not None and port not in _WEBHOOK_PORTS:
            raise _Refusal(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        secret = str(params.get("secret_token") or "")
        if len(secret) > WebhookLimit.MAX_SECRET_TOKEN_LENGTH:
            raise _Refusal(400, "Bad Request: secret token is too long")
        if not _SECRET_TOKEN.match(secret):
            raise _Refusal(400, "Bad Request: secret token contains unallowed characters")
        self._subscribe(params)
        max_connections = _int_param(params, "max_connections", 40)
        same = (url, secret or None) == (self.webhook_url, self.webhook_secret)
        self.webhook_url, self.webhook_secret = url, secret or None
        self._webhook_max_connections = min(max(max_connections, 1), 100)
        self._webhook_error = None
        if drop:
            self._pending.clear()
        if self._poller is not None:
            self._terminate(self._poller, CONFLICT_SET_WEBHOOK)
        return "Webhook is already set" if same else "Webhook was set"

    def _webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            info["max_connections"] = self._webhook_max_connections
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # -- commands, chats, callbacks ------------------------------------------------------

    def _scope_and_language(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _json_param(params, "scope")
        if scope is not None and not (isinstance(scope, dict) and "type" in scope):
            raise _Refusal(400, "Bad Request: can't parse scope JSON object")
        return _scope_key(scope), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = _json_param(params, "commands")
        if not isinstance(commands, list):
            raise _Refusal(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > BotCommandLimit.MAX_COMMAND_NUMBER:
            raise _Refusal(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        stored: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _Refusal(400, "Bad Request: can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME.match(name):
                raise _Refusal(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not (
                BotCommandLimit.MIN_DESCRIPTION
                <= len(description.strip())
                <= BotCommandLimit.MAX_DESCRIPTION
            ):
                raise _Refusal(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": name, "description": description})
        self._commands[self._scope_and_language(params)] = stored
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return list(self._commands.get(self._scope_and_language(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._scope_and_language(params), None)
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("chat_id") in (None, ""):
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat = self._chat_json(_chat_id(params["chat_id"]))
        # ChatFullInfo's required fields (PTB 22 refuses the answer without them).
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("chat_id") in (None, ""):
            raise _Refusal(400, "Bad Request: chat_id is empty")
        chat_id = _chat_id(params["chat_id"])
        raw_user = str(params.get("user_id") or "").strip()
        if not re.fullmatch(r"\d+", raw_user):
            raise _Refusal(400, "Bad Request: invalid user_id specified")
        user_id = int(raw_user)
        if self._type_of(chat_id) == "private" and user_id not in (chat_id, self.bot_id):
            raise _Refusal(400, "Bad Request: user not found")
        status = self._members.get((chat_id, user_id), "member")
        return _member_json(status, self._user_json(user_id))

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        issued = self._callbacks.get(query_id)
        if (
            issued is None
            or issued.answered
            or self.clock() - issued.clicked_at > CALLBACK_ANSWER_WINDOW
        ):
            raise _Refusal(400, QUERY_INVALID)
        issued.answered = True
        text = params.get("text")
        self.callback_answers.append((query_id, str(text) if text not in (None, "") else None))
        return True

    # -- JSON ----------------------------------------------------------------------------

    def _take_message_id(self, chat_id: ChatId) -> int:
        message_id = self._next_id.get(chat_id, 0) + 1
        self._next_id[chat_id] = message_id
        return message_id

    def _type_of(self, chat_id: ChatId) -> str:
        return self._chat_types.get(chat_id) or _chat_type(chat_id)

    def _bot_message(self, chat_id: ChatId, message_id: int) -> TelegramMessage | None:
        for m in reversed(self.messages):
            if m.chat_id == chat_id and m.message_id == message_id:
                return m
        return None

    def _message_exists(self, chat_id: ChatId, message_id: int) -> bool:
        return (chat_id, message_id) in self._user_messages or (
            self._bot_message(chat_id, message_id) is not None
        )

    def _any_message_json(
        self, chat_id: ChatId, message_id: int, *, nested: bool = False
    ) -> dict[str, Any]:
        bot = self._bot_message(chat_id, message_id)
        if bot is not None:
            out = self._message_json(bot)
        else:
            out = copy.deepcopy(self._user_messages[(chat_id, message_id)])
        if nested:
            out.pop("reply_to_message", None)  # Telegram nests one level only
        return out

    def _user(
        self,
        chat_id: int,
        kind: str,
        user_id: int | None,
        username: str | None,
        first_name: str | None,
        last_name: str | None,
        language_code: str | None,
    ) -> dict[str, Any]:
        if kind == "private":
            if chat_id <= 0:
                raise ValueError("a private chat's id is the user's id, a positive number")
            if user_id is not None and user_id != chat_id:
                raise ValueError("in a private chat the user id is the chat id")
            user_id = chat_id
        elif user_id is None:
            user_id = DEFAULT_USER_ID
        if user_id == self.bot_id:
            raise ValueError("that is the bot's own id")
        user = dict(self._users.get(user_id) or {"id": user_id, "is_bot": False})
        user["first_name"] = first_name or user.get("first_name") or "Reader"
        for name, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value:
                user[name] = value
        self._users[user_id] = user
        return dict(user)

    def _user_json(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "PaperDrop (fake)",
                "username": self.username,
            }
        known = self._users.get(user_id)
        if known is not None:
            return dict(known)
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def _chat_json(self, chat_id: ChatId) -> dict[str, Any]:
        kind = self._type_of(chat_id)
        chat: dict[str, Any] = {"id": chat_id if isinstance(chat_id, int) else -1000, "type": kind}
        if kind == "private":
            user = self._users.get(chat_id) if isinstance(chat_id, int) else None
            chat["first_name"] = user["first_name"] if user else "Reader"
            for name in ("last_name", "username"):
                if user and name in user:
                    chat[name] = user[name]
        else:
            chat["title"] = f"Chat {chat_id}"
        if isinstance(chat_id, str):
            chat["username"] = chat_id.lstrip("@")
        return chat

    def _message_json(self, m: TelegramMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "from": self._user_json(self.bot_id),
            "chat": self._chat_json(m.chat_id),
            "date": m.date,
        }
        if m.photo is not None:
            out["photo"] = [
                {
                    "file_id": f"ph{m.message_id}",
                    "file_unique_id": f"u{m.message_id}",
                    "width": 2,
                    "height": 2,
                }
            ]
            if m.text:
                out["caption"] = m.text
        else:
            out["text"] = m.text
        if m.entities:
            out["entities"] = [e.to_dict() for e in m.entities]
        if m.reply_to is not None and self._message_exists(m.chat_id, m.reply_to):
            out["reply_to_message"] = self._any_message_json(m.chat_id, m.reply_to, nested=True)
        if m.message_thread_id is not None:
            out["message_thread_id"] = m.message_thread_id
        if m.link_preview_options is not None:
            out["link_preview_options"] = m.link_preview_options
        if _inline_rows(m.reply_markup):  # Messages carry inline keyboards only
            out["reply_markup"] = m.reply_markup
        if m.edit_date is not None:
            out["edit_date"] = m.edit_date
        return out


PHOTO_CAPTION_MAX = 1024  # MessageLimit.CAPTION_LENGTH
PHOTO_URL_MAX_BYTES = 5 * 1024 * 1024  # photos Telegram downloads by URL


def _scope_key(scope: dict[str, Any] | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _chat_instance(bot_id: int, chat_id: ChatId) -> str:
    """Stable per bot and chat, like Telegram's (an opaque number as a string)."""
    digest = hashlib.sha256(f"{bot_id}:{chat_id}".encode()).hexdigest()
    return str(int(digest[:15], 16))


def _member_json(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """ChatMember JSON with the fields PTB 22 requires for each status."""
    out: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        out["is_anonymous"] = False
    elif status == "administrator":
        out.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
        )
    elif status == "restricted":
        out.update(
            is_member=True,
            until_date=0,
            can_edit_tag=False,
            can_react_to_messages=False,
            **dict.fromkeys(
                (
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_send_messages",
                    "can_send_polls",
                    "can_send_other_messages",
                    "can_add_web_page_previews",
                    "can_manage_topics",
                    "can_send_audios",
                    "can_send_documents",
                    "can_send_photos",
                    "can_send_videos",
                    "can_send_video_notes",
                    "can_send_voice_notes",
                ),
                False,
            ),
        )
    elif status == "kicked":
        out["until_date"] = 0
    return out
