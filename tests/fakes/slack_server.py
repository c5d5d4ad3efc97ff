"""A fake Slack for contract tests that drive the real slack_sdk / slack_bolt clients.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="fallback", blocks=[...])
        assert slack.messages[0].blocks[0]["type"] == "section"

It plays both sides of a bot's conversation: the Web API the bot calls (send side), and
what Slack sends to the bot (receive side: HTTP-mode deliveries via `deliver`, Socket Mode
over a WebSocket, and ``response_url`` endpoints). Payload shapes come from
tests/fakes/slack_events.py.

Web API
-------

slack_sdk posts to ``base_url + method`` (``http://127.0.0.1:PORT/api/chat.postMessage``)
with ``Authorization: Bearer <token>``, as JSON (chat.postMessage) or a form (most other
methods; a ``token`` form field is accepted too). Answers are HTTP 200
``{"ok": true, ...}`` / ``{"ok": false, "error": "..."}`` like Slack's, except rate limits:
HTTP 429 with a ``Retry-After`` header and ``{"ok": false, "error": "ratelimited"}``.

Methods: ``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update``,
``users.info``, ``conversations.info``, ``apps.connections.open``; anything else ->
``unknown_method``. `fail_next(method=...)` injects a failure into any of them.

Tokens: none -> ``not_authed``. ``apps.connections.open`` takes only the app-level token
(`app_token`, ``xapp-…``): a bot/user token (``xoxb-``/``xoxp-``) -> ``not_allowed_token_type``,
anything else -> ``invalid_auth``. Every other method takes only the bot token (`token`):
the app token -> ``not_allowed_token_type``, anything else -> ``invalid_auth``.

auth.test answers the bot's identity (``user_id`` `BOT_USER_ID`, ``bot_id`` `BOT_ID`,
``team_id`` `TEAM_ID`). slack_bolt's AsyncApp calls it lazily, once, on the first request it
authorizes (the sync App calls it in its constructor unless token_verification_enabled=False)
and drops events whose user is that bot user.

Message content (chat.postMessage, chat.postEphemeral, chat.update, response_url bodies):

- ``text`` or ``blocks`` required (``no_text``); text over 40,000 chars -> ``msg_too_long``.
- ``blocks``: a list (a JSON string in forms; else ``invalid_blocks_format``) of at most
  50 blocks, each validated (limits from slack_sdk.models.blocks where it has them):
  known ``type``; ``block_id`` <= 255 and unique; header: plain_text <= 150; section:
  text and/or fields, text <= 3000, fields <= 10 each <= 2000; context: 1..10 elements;
  actions: 1..25 elements; markdown: text <= 12,000; text objects need ``type``
  plain_text/mrkdwn and a non-empty ``text``. Failures answer ``invalid_blocks`` with
  ``errors`` and ``response_metadata.messages`` like
  ``"[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
- The text of all blocks together over 13,000 characters -> ``msg_blocks_too_long``
  (observed in practice, no documented single limit; see PLATFORMS.md).
- Mass mentions (``<!channel>``, ``<!here>``, ``<!everyone>``) are accepted and flagged
  (``mass_mentions`` on every record) so tests can assert a bot never pings a channel.

chat.postMessage:

- ``channel`` required (``channel_not_found``); blocked channels (`block_channel`) answer
  their error (``not_in_channel``, ``channel_not_found``, ``is_archived``...).
- ``blocks`` without a non-empty ``text`` fallback: accepted with a warning
  (``response_metadata.warnings: ["missing_text"]``), recorded in `warnings` so tests can
  assert there are none. (slack_sdk also emits a UserWarning client-side.)
- ``thread_ts`` must be the ``ts`` of a message already in that channel, the bot's or a
  user's (`user_message`) (``thread_not_found``); ``reply_broadcast`` is recorded.
- Rate limit when `enforce_rate_limits` (off by default): 1 message per 1.0 s per channel
  on the injectable clock -> 429, ``Retry-After`` = seconds until a slot frees (ceil, >= 1).

chat.postEphemeral (recorded in `ephemerals`, not `messages`): ``channel`` and ``user``
required (``channel_not_found`` / ``user_not_found``); content, blocked channels, the
``missing_text`` warning and ``thread_ts`` as chat.postMessage. Answers ``message_ts``.
Channel membership is not modelled (no ``user_not_in_channel``).

chat.update (recorded in `edits`; the message in `messages` is replaced by its new
content, ``edits`` counting): ``channel`` + ``ts`` of a bot message in that channel
(unknown -> ``message_not_found``; a user's message -> ``cant_update_message``). A
``text`` or ``blocks`` omitted keeps the old one; ``blocks: []`` removes the blocks.

users.info: ``user`` -> ``{"user": {id, name, real_name, is_admin, is_owner, is_bot,
deleted, tz, tz_label, tz_offset, profile...}}`` from `add_user` (the bot user is there from
the start); unknown -> ``user_not_found``. Slack owners are always admins too.

conversations.info: ``channel`` -> ``{"channel": {...}}``: a channel added with
`add_channel`, else inferred from the id: C… public channel, G… private (legacy group), D…
a DM; the bot is a member. Channels/groups carry ``is_channel``, ``is_group``, ``is_im``,
``is_mpim``, ``is_private``, ``is_member``; a DM carries ``is_im: true``, ``user`` and *no*
``is_member``/``is_private`` (like Slack's IM objects; check ``is_im`` first). Blocked
channels answer their error; other ids -> ``channel_not_found``.

Rate limits when `enforce_rate_limits`, per method on the fake clock (Slack's tiers, at their
documented floor): chat.postEphemeral 100/min (tier 4), chat.update 50/min (tier 3),
users.info 100/min (tier 4), conversations.info 50/min (tier 3). apps.connections.open is
not limited (slack_sdk sleeps a 429's Retry-After on the wall clock).

response_url
------------

`new_response_url()` -> ``http://127.0.0.1:PORT/response/<id>`` (FakeSlack.slash_command
and FakeSlack.block_actions make one per payload). Slack's rules:

- POST a JSON object (else HTTP 400 ``invalid_payload``): ``text``/``blocks`` validated as
  above (HTTP 400 with the error, e.g. ``no_text``, ``invalid_blocks``; not needed with
  ``delete_original: true``), ``response_type`` ``ephemeral`` (the default) or
  ``in_channel`` (else ``invalid_payload``), ``replace_original``/``delete_original``
  booleans, ``thread_ts``. Accepted: HTTP 200, ``text/plain`` body ``ok``; recorded in
  `responses` (not applied to `messages`).
- At most 5 accepted posts per URL, then HTTP 404 ``used_url``; valid for 30 minutes on
  the fake clock (``[created, created + 1800)``), then HTTP 404 ``expired_url``; an unknown
  id -> HTTP 404 ``no_service``. Errors are plain-text bodies, as Slack's webhooks answer.
  slack_sdk's WebhookClient (bolt's ``respond``) does not raise on them: check
  ``status_code``/``body``.
- `fail_next(status, method="response_url", chat=<url id>)` injects a failure (429 answers
  ``rate_limited`` with ``Retry-After``).

Socket Mode
-----------

``apps.connections.open`` (app token) answers ``{"ok": true, "url":
"ws://127.0.0.1:PORT/socket?ticket=…"}``; a ticket is good for one connection (else HTTP 401).
On connecting, the fake sends ``{"type": "hello", "num_connections", "connection_info":
{"app_id"}, "debug_info"}``; aiohttp answers the SDK's pings. `socket_send(kind, payload)`
sends an envelope ``{"envelope_id", "type", "payload", "accepts_response_payload"}`` (plus
``retry_attempt``/``retry_reason`` for ``events_api``, as Slack does) to the newest open
connection. The app must ack ``{"envelope_id"[, "payload"]}`` (Slack wants it within
`ACK_DEADLINE` = 3 s); acks are recorded in `socket_acks` with the fake clock's time. Acks of
unknown or already-acked envelopes, non-JSON frames, and ack payloads with invalid blocks
are recorded in `rejections` (status 0: nothing is answered on a WebSocket).
`socket_disconnect(reason)` sends Slack's ``{"type": "disconnect", "reason"}`` (the SDK then
opens a new connection via apps.connections.open); `socket_drop()` closes every connection
at once without a word (Slack going away). Leaving the ``async with`` block closes
open sockets (code 1001): close the SDK client first, or it will try to reconnect.

HTTP mode
---------

`deliver(url, kind, payload, signing_secret=...)` POSTs a payload to an app the way Slack
does: events as JSON, slash commands as a form, interactivity as a ``payload`` form field,
signed with a *wall-clock* timestamp (bolt verifies against the wall clock), optionally
with retry headers; it returns the app's `AppReply`.

Waiting
-------

`wait_until(predicate, timeout)` wakes whenever the fake records something (a message, a
response, an ack, a connection); `wait_ack(envelope_id)` and `wait_socket()` build on it.
They are bounded waits for other tasks, never sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownBlock,
    SectionBlock,
)

from tests.fakes import slack_events
from tests.fakes._base import FakeServer, Injection, Rejection, read_params
from tests.fakes.ratelimit import Clock, Window, retry_after_seconds
from tests.fakes.slack_events import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, PayloadKind

__all__ = [
    "ACK_DEADLINE",
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_TOKEN",
    "RESPONSE_URL_LIFETIME",
    "RESPONSE_URL_MAX_USES",
    "TEAM_ID",
    "AppReply",
    "FakeSlack",
    "Rejection",
    "SlackEdit",
    "SlackEphemeral",
    "SlackMessage",
    "SlackResponse",
    "SlackWarning",
    "SocketEnvelope",
    "mass_mentions",
]

DEFAULT_TOKEN = "xoxb-0000000000-fake-paperdrop-token"
DEFAULT_APP_TOKEN = "xapp-1-A0FAKE0001-0000000000-fake-paperdrop-app-token"

MAX_BLOCKS = 50  # per message; slack_sdk does not check this
MAX_FIELD_TEXT = 2000  # each section field
MAX_TOTAL_BLOCK_TEXT = 13_000  # msg_blocks_too_long beyond this (empirical)
MAX_MESSAGE_TEXT = 40_000  # msg_too_long
PER_CHANNEL = Window(1, 1.0, "per channel")
METHOD_WINDOWS = {
    "chat.postEphemeral": Window(100, 60.0, "tier 4"),
    "chat.update": Window(50, 60.0, "tier 3"),
    "users.info": Window(100, 60.0, "tier 4"),
    "conversations.info": Window(50, 60.0, "tier 3"),
}
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0  # seconds
ACK_DEADLINE = 3.0  # seconds Slack waits for an ack (HTTP 2xx or Socket Mode envelope ack)
SOCKET_KINDS = frozenset({"events_api", "slash_commands", "interactive"})
# Interactive payloads whose ack may carry a response (errors, options, a new view).
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions", "context", "divider", "file", "header", "image", "input", "markdown",
        "rich_text", "section", "video", "table", "context_actions",
    }
)  # fmt: skip
_MASS_MENTION = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


@dataclass(frozen=True)
class SlackMessage:
    """An accepted chat.postMessage (in `messages`), or a user's message (`user_messages`)."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    reply_broadcast: bool
    time: float  # the fake's clock
    mass_mentions: bool  # <!channel>, <!here> or <!everyone> in text or blocks
    params: dict[str, Any] = field(repr=False, default_factory=dict)
    user: str = BOT_USER_ID
    edits: int = 0  # accepted chat.update calls; text/blocks are the latest


@dataclass(frozen=True)
class SlackEphemeral:
    """An accepted chat.postEphemeral: seen by `user` only."""

    channel: str
    user: str
    ts: str
    thread_ts: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    time: float
    mass_mentions: bool
    params: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class SlackEdit:
    """An accepted chat.update: the message's content after it."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    time: float
    mass_mentions: bool
    params: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class SlackResponse:
    """An accepted POST to a response_url. `channel`/`user`/`message_ts`: what the URL was
    made for (None if not known)."""

    url_id: str
    response_type: str  # "ephemeral" (Slack's default) or "in_channel"
    text: str | None
    blocks: list[dict[str, Any]] | None
    replace_original: bool
    delete_original: bool
    thread_ts: str | None
    time: float
    mass_mentions: bool
    channel: str | None
    user: str | None
    message_ts: str | None
    body: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class SlackWarning:
    channel: str
    ts: str
    warning: str


@dataclass(frozen=True)
class SocketEnvelope:
    """A Socket Mode envelope the fake sent; `sent_at` on the fake clock."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    sent_at: float


@dataclass(frozen=True)
class AppReply:
    """The app's answer to a `deliver`: HTTP status, content type, body text, headers, and
    wall-clock seconds it took (Slack gives up after 3 s)."""

    status: int
    content_type: str
    text: str
    headers: dict[str, str]
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class _ResponseUrl:
    created: float
    channel: str | None
    user: str | None
    message_ts: str | None
    uses: int = 0


def mass_mentions(value: Any) -> bool:
    """Whether any string inside `value` (text or blocks) pings a whole channel."""
    if isinstance(value, str):
        return bool(_MASS_MENTION.search(value))
    if isinstance(value, dict):
        return any(mass_mentions(v) for v in value.values())
    if isinstance(value, list):
        return any(mass_mentions(v) for v in value)
    return False


def _block_text(value: Any) -> int:
    """Characters of every ``text`` string inside a block."""
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _block_text(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(_block_text(v) for v in value)
    return 0


_IMAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})


async def _downloads_image(url: str) -> bool:
    """Whether Slack could fetch an image at `url` (here: really fetched, from a local fake)."""
    if not url.startswith(("http://", "https://")):
        return False
    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
            await resp.read()
            return resp.status == 200 and resp.headers.get("Content-Type", "").startswith("image/")
    except (aiohttp.ClientError, TimeoutError):
        return False


class _BlockErrors:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, message: str, pointer: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def text_object(
        self, obj: Any, pointer: str, *, max_len: int, plain_only: bool = False
    ) -> None:
        if not isinstance(obj, dict):
            self.add("must be an object", pointer)
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.add(f"must be one of {', '.join(allowed)}", pointer + "/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add("must be more than 0 characters", pointer + "/text")
        elif len(text) > max_len:
            self.add(f"must be less than {max_len + 1} characters", pointer + "/text")

    def block(self, block: Any, index: int, seen_ids: set[str]) -> None:
        p = f"/blocks/{index}"
        if not isinstance(block, dict):
            self.add("must be an object", p)
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.add(f"unsupported type: {kind}", p + "/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > Block.block_id_max_length:
                self.add(
                    f"must be less than {Block.block_id_max_length + 1} characters",
                    p + "/block_id",
                )
            elif block_id in seen_ids:
                self.add("duplicate block_id", p + "/block_id")
            else:
                seen_ids.add(block_id)
        if kind == "header":
            self.text_object(
                block.get("text"), p + "/text", max_len=HeaderBlock.text_max_length, plain_only=True
            )
        elif kind == "section":
            self.section(block, p)
        elif kind == "context":
            elements = block.get("elements")
            limit = ContextBlock.elements_max_length
            if not isinstance(elements, list) or not elements:
                self.add("must provide at least 1 item", p + "/elements")
            elif len(elements) > limit:
                self.add(f"must provide no more than {limit} items", p + "/elements")
            else:
                for j, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") == "image":
                        continue
                    self.text_object(el, f"{p}/elements/{j}", max_len=SectionBlock.text_max_length)
        elif kind == "actions":
            elements = block.get("elements")
            limit = ActionsBlock.elements_max_length
            if not isinstance(elements, list) or not elements:
                self.add("must provide at least 1 item", p + "/elements")
            elif len(elements) > limit:
                self.add(f"must provide no more than {limit} items", p + "/elements")
        elif kind == "markdown":
            text = block.get("text")
            limit = MarkdownBlock.text_max_length
            if not isinstance(text, str) or not text:
                self.add("must be more than 0 characters", p + "/text")
            elif len(text) > limit:
                self.add(f"must be less than {limit + 1} characters", p + "/text")
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                self.add("must provide image_url or slack_file", p)
            if not isinstance(block.get("alt_text"), str):
                self.add("is required", p + "/alt_text")

    def section(self, block: dict[str, Any], p: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            self.add("must provide text or fields", p)
        if text is not None:
            self.text_object(text, p + "/text", max_len=SectionBlock.text_max_length)
        if fields is not None:
            limit = SectionBlock.fields_max_length
            if not isinstance(fields, list) or not fields:
                self.add("must provide at least 1 item", p + "/fields")
            elif len(fields) > limit:
                self.add(f"must provide no more than {limit} items", p + "/fields")
            else:
                for j, f in enumerate(fields):
                    self.text_object(f, f"{p}/fields/{j}", max_len=MAX_FIELD_TEXT)


class _SlackError(Exception):
    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class FakeSlack(FakeServer):
    """Fake Slack: Web API, response_urls, Socket Mode. See the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        app_token: str | None = DEFAULT_APP_TOKEN,
        clock: Clock = time.monotonic,
        enforce_rate_limits: bool = False,
        port: int = 0,
        team: str = "paperdrop-fake",
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits, port=port)
        self.token = token
        self.app_token = app_token
        self.team = team
        self.messages: list[SlackMessage] = []
        self.user_messages: list[SlackMessage] = []
        self.ephemerals: list[SlackEphemeral] = []
        self.edits: list[SlackEdit] = []
        self.responses: list[SlackResponse] = []
        self.warnings: list[SlackWarning] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.socket_envelopes: dict[str, SocketEnvelope] = {}
        self.socket_acks: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self.socket_connects = 0  # connections accepted so far
        self._sockets: list[web.WebSocketResponse] = []  # open, oldest first
        self._tickets: set[str] = set()
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._blocked: dict[str, str] = {}
        self._seq = 0
        self._changed = asyncio.Event()
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda _params: self._auth_test(),
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._connections_open,
        }
        self.add_user(BOT_USER_ID, name="paperdrop", is_bot=True)

    def __repr__(self) -> str:  # never show the tokens
        return f"FakeSlack(origin={self._origin!r}, messages={len(self.messages)})"

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def close(self) -> None:
        # An open WebSocket would hold the runner's cleanup until its handler returns.
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        await super().close()

    def _base_path(self) -> str:
        return "/api/"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/response/{url_id}", self._response)
        app.router.add_get("/socket", self._socket)

    # -- test helpers: state -------------------------------------------------------------

    def by_channel(self, channel: str) -> list[SlackMessage]:
        return [m for m in self.messages if m.channel == channel]

    def block_channel(self, channel: str, error: str = "not_in_channel") -> None:
        """Make calls about `channel` fail with `error` (e.g. "channel_not_found")."""
        self._blocked[channel] = error

    def unblock_channel(self, channel: str) -> None:
        self._blocked.pop(channel, None)

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        tz: str = "Europe/London",
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a user for users.info; returns the user object it answers."""
        name = name or user_id.lower()
        zone = dt.datetime.now(ZoneInfo(tz))  # Slack reports the offset in force now
        offset = zone.utcoffset()
        profile: dict[str, Any] = {
            "real_name": name.title(),
            "display_name": name,
            "real_name_normalized": name.title(),
            "display_name_normalized": name,
            "team": TEAM_ID,
        }
        if is_bot:
            profile["bot_id"] = BOT_ID
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "real_name": name.title(),
            "tz": tz,
            "tz_label": zone.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": profile,
            "is_admin": is_admin or is_owner,  # Slack owners are admins too
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool | None = None,
        is_member: bool = True,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a conversation for conversations.info; returns its object.

        D… ids are DMs (with `user`); `is_private` defaults to True for G… ids only.
        """
        info = self._infer_channel(channel_id, name=name, user=user)
        if info is None:
            raise ValueError(f"not a Slack conversation id: {channel_id!r}")
        if not info["is_im"]:
            if is_private is not None:
                info["is_private"] = is_private
            info["is_member"] = is_member
        self.channels[channel_id] = info
        return info

    def user_message(
        self,
        text: str,
        *,
        channel: str,
        user: str,
        thread_ts: str | None = None,
        mention: bool = False,
    ) -> dict[str, Any]:
        """A user posts `text`: recorded in `user_messages` (so the bot may reply in its
        thread) and returned as the inner event, ``message`` or (`mention`)
        ``app_mention``; wrap it with slack_events.event_callback to deliver it.

        `thread_ts` must be a message already in `channel` (ValueError otherwise).
        """
        parent = self._find(channel, thread_ts) if thread_ts is not None else None
        if thread_ts is not None and parent is None:
            raise ValueError(f"no message {thread_ts} in {channel} to reply to")
        ts = self._new_ts()
        if mention:
            event = slack_events.app_mention(
                text, channel=channel, user=user, ts=ts, thread_ts=thread_ts
            )
        else:
            event = slack_events.message(
                text,
                channel=channel,
                user=user,
                ts=ts,
                thread_ts=thread_ts,
                parent_user_id=parent.user if parent is not None else None,
            )
        self.user_messages.append(
            SlackMessage(
                channel=channel,
                ts=ts,
                thread_ts=thread_ts,
                text=event["text"],
                blocks=None,
                reply_broadcast=False,
                time=self.clock(),
                mass_mentions=mass_mentions(event["text"]),
                params=event,
                user=user,
            )
        )
        return event

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url served by this fake, valid from now on the fake clock."""
        url_id = uuid.uuid4().hex
        self._response_urls[url_id] = _ResponseUrl(self.clock(), channel, user, message_ts)
        return f"{self.origin}/response/{url_id}"

    def responses_to(self, url: str) -> list[SlackResponse]:
        url_id = url.rstrip("/").rsplit("/", 1)[-1]
        return [r for r in self.responses if r.url_id == url_id]

    def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/paperdrop",
        response_url: str | None = None,
    ) -> dict[str, str]:
        """slack_events.slash_command with a live response_url of this fake."""
        return slack_events.slash_command(
            text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url or self.new_response_url(channel=channel_id, user=user_id),
        )

    def block_actions(
        self, action_id: str, *, user_id: str, channel_id: str, message_ts: str
    ) -> dict[str, Any]:
        """`user_id` clicks the element `action_id` of the bot message `message_ts`: the
        block_actions payload, echoing that message, with a live response_url.

        ValueError unless the bot posted that message with such an element (a click on
        anything else cannot happen in Slack).
        """
        message = self._find(channel_id, message_ts)
        if message is None or message not in self.messages:
            raise ValueError(f"the bot has no message {message_ts} in {channel_id}")
        found = _find_element(message.blocks or [], action_id)
        if found is None:
            raise ValueError(f"message {message_ts} has no element {action_id!r}")
        block_id, element = found
        text = element.get("text")
        return slack_events.block_actions(
            action_id,
            str(element.get("value", "")),
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            thread_ts=message.thread_ts,
            response_url=self.new_response_url(
                channel=channel_id, user=user_id, message_ts=message_ts
            ),
            block_id=block_id,
            message_text=message.text or "",
            message_blocks=message.blocks,
            button_text=text.get("text") if isinstance(text, dict) else None,
        )

    def fail_next(
        self,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        chat: str | None = None,
        *,
        error: str | None = None,
        method: str = "chat.postMessage",
    ) -> None:
        """Fail the next `count` calls of `method` (to channel `chat`, if given).

        429: HTTP 429, ``Retry-After: retry_after``, error "ratelimited". 200 with `error`:
        an ``{"ok": false, "error": error}`` answer. Other statuses: that HTTP status with
        `error` (default "internal_error"; slack_sdk raises SlackApiError for them all).
        ``method="response_url"`` (with `chat` = the URL's id, optional) fails POSTs to
        response URLs instead, with plain-text bodies.
        """
        self._queue(Injection(status, retry_after, count, chat, method, error=error))

    # -- test helpers: waiting -----------------------------------------------------------

    def _notify(self) -> None:
        # Wake every waiter; each re-checks its predicate and waits on the next event.
        self._changed.set()
        self._changed = asyncio.Event()

    # The helpers take `timeout` (ASYNC109) because a bounded wait is their whole point.
    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Return once `predicate()` holds (checked whenever the fake records something);
        TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def wait_ack(
        self,
        envelope_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> tuple[float, dict[str, Any] | None]:
        """The (fake-clock time, payload) of the ack of `envelope_id`, once it comes."""
        await self.wait_until(lambda: envelope_id in self.socket_acks, timeout)
        return self.socket_acks[envelope_id]

    async def wait_socket(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once a Socket Mode connection is open (its hello sent)."""
        await self.wait_until(lambda: bool(self._sockets), timeout)

    @property
    def sockets_open(self) -> int:
        return len(self._sockets)

    def ack_latency(self, envelope_id: str) -> float:
        """Fake-clock seconds from sending `envelope_id` to its ack (KeyError if none)."""
        return self.socket_acks[envelope_id][0] - self.socket_envelopes[envelope_id].sent_at

    # -- Socket Mode: sending --------------------------------------------------------------

    async def socket_send(
        self,
        kind: PayloadKind,
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> str:
        """Send an envelope to the newest open connection (waiting up to `timeout` for
        one); returns its envelope_id. `accepts_response_payload` defaults to Slack's:
        true for slash commands, view_submission and block_suggestion."""
        if kind not in SOCKET_KINDS:
            raise ValueError(f"unknown envelope type {kind!r}")
        await self.wait_socket(timeout)
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
            )
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        self.socket_envelopes[envelope_id] = SocketEnvelope(
            envelope_id, kind, dict(payload), accepts_response_payload, self.clock()
        )
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell the newest connection to go away (reasons: warning, refresh_requested,
        link_disabled, too_many_websockets); the client closes it and reconnects."""
        await self.wait_socket()
        await self._sockets[-1].send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )

    async def socket_drop(self) -> None:
        """Close every open connection at once, as Slack does when it goes away (1011):
        no disconnect message first; the client must notice and connect again."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"server error")

    # -- HTTP mode: delivering to an app ----------------------------------------------------

    async def deliver(
        self,
        url: str,
        kind: PayloadKind,
        payload: Mapping[str, Any],
        *,
        signing_secret: str,
        timestamp: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> AppReply:
        """POST `payload` to the app at `url` as Slack would for `kind`, signed with
        `signing_secret` at `timestamp` (default: now on the wall clock, which bolt checks).
        `headers` override (e.g. a forged X-Slack-Signature)."""
        if kind == "events_api":
            body, ctype = slack_events.json_body(payload), slack_events.JSON_CONTENT_TYPE
        elif kind == "slash_commands":
            body, ctype = slack_events.form_body(payload), slack_events.FORM_CONTENT_TYPE
        elif kind == "interactive":
            body, ctype = slack_events.interactive_body(payload), slack_events.FORM_CONTENT_TYPE
        else:
            raise ValueError(f"unknown payload kind {kind!r}")
        ts = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": ctype,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **slack_events.sign(body, signing_secret, ts),
        }
        if retry_num is not None:
            sent.update(slack_events.retry_headers(retry_num, retry_reason))
        sent.update(headers or {})
        started = time.monotonic()
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, data=body, headers=sent) as reply,
        ):
            text = await reply.text()
            return AppReply(
                status=reply.status,
                content_type=reply.content_type,
                text=text,
                headers=dict(reply.headers),
                elapsed=time.monotonic() - started,
            )

    # -- Web API -----------------------------------------------------------------------

    def _fail(
        self,
        method: str,
        target: str | None,
        error: str,
        status: int = 200,
        *,
        retry_after: int | None = None,
        injected: bool = False,
        **extra: Any,
    ) -> web.Response:
        self._reject(method, target, status, error, injected=injected, retry_after=retry_after)
        self._notify()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = {"ok": False, "error": error, **extra}
        return web.json_response(body, status=status, headers=headers)

    def _token_error(self, method: str, token: str) -> str | None:
        is_app_token = self.app_token is not None and token == self.app_token
        if method == "apps.connections.open":
            if is_app_token:
                return None
            return (
                "not_allowed_token_type" if token.startswith(("xoxb-", "xoxp-")) else "invalid_auth"
            )
        if token == self.token:
            return None
        return "not_allowed_token_type" if is_app_token else "invalid_auth"

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params, _ = await read_params(request)
        except ValueError:
            return self._fail(method, None, "invalid_json")
        self.requests.append((method, params))
        target = params.get("channel") if isinstance(params.get("channel"), str) else None
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        if not token or not isinstance(token, str):
            return self._fail(method, target, "not_authed")
        token_error = self._token_error(method, token)
        if token_error is not None:
            return self._fail(method, target, token_error)
        injection = self._take_injection(method, target)
        if injection is not None:
            if injection.status == 429:
                return self._fail(
                    method,
                    target,
                    "ratelimited",
                    429,
                    retry_after=injection.retry_after,
                    injected=True,
                )
            return self._fail(
                method,
                target,
                injection.error or "internal_error",
                injection.status,
                injected=True,
            )
        handler = self._methods.get(method)
        if handler is None:
            return self._fail(method, target, "unknown_method", req_method=method)
        try:
            if method in _IMAGE_METHODS:
                await self._check_images(params)
            answer = handler(params)
        except _SlackError as exc:
            retry = exc.extra.pop("retry_after", None)
            return self._fail(method, target, exc.error, exc.status, retry_after=retry, **exc.extra)
        self._notify()
        return web.json_response(answer)

    async def _check_images(self, params: Mapping[str, Any]) -> None:
        """Slack downloads an image block's image_url when the message is posted; one it
        cannot get (or that is no image) fails the message with invalid_blocks."""
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return  # _content answers invalid_blocks_format
        if not isinstance(blocks, list):
            return
        for i, block in enumerate(blocks):
            url = block.get("image_url") if isinstance(block, dict) else None
            if block.get("type") != "image" or not isinstance(url, str) or not url:
                continue
            if not await _downloads_image(url):
                message = f"[ERROR] downloading image failed [json-pointer:/blocks/{i}/image_url]"
                raise _SlackError(
                    "invalid_blocks", errors=[message], response_metadata={"messages": [message]}
                )

    def _admit(self, method: str, key: Any = None) -> None:
        """Count one call against `method`'s rate window (if enforced), or raise 429."""
        if not self.enforce_rate_limits:
            return
        window = PER_CHANNEL if method == "chat.postMessage" else METHOD_WINDOWS.get(method)
        if window is None:
            return
        verdict = self.windows.acquire(((method, key), window))
        if not verdict.ok:
            raise _SlackError("ratelimited", 429, retry_after=retry_after_seconds(verdict.wait))

    def _auth_test(self) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team}.slack.com/",
            "team": self.team,
            "user": "paperdrop",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _new_ts(self) -> str:
        self._seq += 1
        return f"{1_700_000_000 + self._seq // 1_000_000}.{self._seq % 1_000_000:06d}"

    def _find(self, channel: str, ts: str | None) -> SlackMessage | None:
        """The bot's or a user's message `ts` in `channel`."""
        for m in (*self.messages, *self.user_messages):
            if m.channel == channel and m.ts == ts:
                return m
        return None

    def _content(
        self, params: Mapping[str, Any], *, required: bool = True
    ) -> tuple[str | None, list[Any] | None]:
        """The validated ``text`` and ``blocks`` of a message (either may be None)."""
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            raise _SlackError("invalid_arguments")
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _SlackError("invalid_blocks_format") from None
        if blocks is not None and not isinstance(blocks, list):
            raise _SlackError("invalid_blocks_format")
        if required and not text and not blocks:
            raise _SlackError("no_text")
        if text and len(text) > MAX_MESSAGE_TEXT:
            raise _SlackError("msg_too_long")
        if blocks:
            self._check_blocks(blocks)
        return text, blocks

    def _channel_param(self, params: Mapping[str, Any]) -> str:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise _SlackError("channel_not_found")
        return channel

    def _thread_param(self, params: Mapping[str, Any], channel: str) -> str | None:
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None and self._find(channel, str(thread_ts)) is None:
            raise _SlackError("thread_not_found")
        return None if thread_ts is None else str(thread_ts)

    def _warn_missing_text(
        self, answer: dict[str, Any], channel: str, ts: str, text: str | None, blocks: Any
    ) -> None:
        if blocks and not (text and text.strip()):
            self.warnings.append(SlackWarning(channel, ts, "missing_text"))
            answer["warning"] = "missing_text"
            answer["response_metadata"] = {"warnings": ["missing_text"]}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_param(params)
        text, blocks = self._content(params)
        if channel in self._blocked:
            raise _SlackError(self._blocked[channel])
        thread_ts = self._thread_param(params, channel)
        self._admit("chat.postMessage", channel)
        ts = self._new_ts()
        broadcast = params.get("reply_broadcast") in (True, "true", "1", 1)
        self.messages.append(
            SlackMessage(
                channel=channel,
                ts=ts,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                reply_broadcast=broadcast,
                time=self.clock(),
                mass_mentions=mass_mentions(text) or mass_mentions(blocks),
                params=params,
            )
        )
        answer: dict[str, Any] = {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": _message_json(text, blocks, ts, thread_ts),
        }
        self._warn_missing_text(answer, channel, ts, text, blocks)
        return answer

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_param(params)
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _SlackError("user_not_found")
        text, blocks = self._content(params)
        if channel in self._blocked:
            raise _SlackError(self._blocked[channel])
        thread_ts = self._thread_param(params, channel)
        self._admit("chat.postEphemeral")
        ts = self._new_ts()
        self.ephemerals.append(
            SlackEphemeral(
                channel=channel,
                user=user,
                ts=ts,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                time=self.clock(),
                mass_mentions=mass_mentions(text) or mass_mentions(blocks),
                params=params,
            )
        )
        answer: dict[str, Any] = {"ok": True, "message_ts": ts}
        self._warn_missing_text(answer, channel, ts, text, blocks)
        return answer

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_param(params)
        ts = params.get("ts")
        if not isinstance(ts, str) or not ts:
            raise _SlackError("message_not_found")
        text, blocks = self._content(params, required=False)
        if text is None and blocks is None:
            raise _SlackError("no_text")
        if channel in self._blocked:
            raise _SlackError(self._blocked[channel])
        found = self._find(channel, ts)
        if found is None:
            raise _SlackError("message_not_found")
        if found not in self.messages:
            raise _SlackError("cant_update_message")  # only the bot's own messages
        new_text = found.text if text is None else text
        new_blocks = found.blocks if blocks is None else (blocks or None)
        if not new_text and not new_blocks:
            raise _SlackError("no_text")
        self._admit("chat.update")
        marks = mass_mentions(new_text) or mass_mentions(new_blocks)
        updated = dataclasses.replace(
            found, text=new_text, blocks=new_blocks, mass_mentions=marks, edits=found.edits + 1
        )
        self.messages[self.messages.index(found)] = updated
        self.edits.append(SlackEdit(channel, ts, new_text, new_blocks, self.clock(), marks, params))
        answer: dict[str, Any] = {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": new_text or "",
            "message": _message_json(new_text, new_blocks, ts, found.thread_ts),
        }
        self._warn_missing_text(answer, channel, ts, new_text, new_blocks)
        return answer

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _SlackError("user_not_found")
        self._admit("users.info")
        return {"ok": True, "user": user}

    def _infer_channel(
        self, channel: str, *, name: str | None = None, user: str | None = None
    ) -> dict[str, Any] | None:
        if not re.fullmatch(r"[CDG][A-Z0-9]+", channel):
            return None
        if channel.startswith("D"):
            return {
                "id": channel,
                "created": 1_700_000_000,
                "is_channel": False,
                "is_group": False,
                "is_im": True,
                "is_mpim": False,
                "is_org_shared": False,
                "user": user or "USLACKBOT",
                "is_user_deleted": False,
                "is_open": True,
                "priority": 0,
            }
        legacy_private = channel.startswith("G")
        return {
            "id": channel,
            "name": name or channel.lower(),
            "created": 1_700_000_000,
            "is_channel": not legacy_private,
            "is_group": legacy_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": legacy_private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": True,
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_param(params)
        if channel in self._blocked:
            raise _SlackError(self._blocked[channel])
        info = self.channels.get(channel) or self._infer_channel(channel)
        if info is None:
            raise _SlackError("channel_not_found")
        self._admit("conversations.info")
        return {"ok": True, "channel": info}

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        ws_origin = "ws://" + self.origin.removeprefix("http://")
        return {"ok": True, "url": f"{ws_origin}/socket?ticket={ticket}&app_id={APP_ID}"}

    def _check_blocks(self, blocks: list[Any]) -> None:
        if len(blocks) > MAX_BLOCKS:
            message = f"[ERROR] must provide no more than {MAX_BLOCKS} items [json-pointer:/blocks]"
            raise _SlackError(
                "invalid_blocks", errors=[message], response_metadata={"messages": [message]}
            )
        checker = _BlockErrors()
        seen_ids: set[str] = set()
        for i, block in enumerate(blocks):
            checker.block(block, i, seen_ids)
        if checker.errors:
            raise _SlackError(
                "invalid_blocks",
                errors=checker.errors,
                response_metadata={"messages": checker.errors},
            )
        if _block_text(blocks) > MAX_TOTAL_BLOCK_TEXT:
            raise _SlackError("msg_blocks_too_long")

    # -- response_url --------------------------------------------------------------------

    def _webhook_fail(
        self,
        url_id: str,
        status: int,
        error: str,
        *,
        injected: bool = False,
        retry_after: int | None = None,
    ) -> web.Response:
        self._reject(
            "response_url", url_id, status, error, injected=injected, retry_after=retry_after
        )
        self._notify()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return web.Response(status=status, text=error, headers=headers)

    async def _response(self, request: web.Request) -> web.Response:
        url_id = request.match_info["url_id"]
        entry = self._response_urls.get(url_id)
        if entry is None:
            return self._webhook_fail(url_id, 404, "no_service")
        injection = self._take_injection("response_url", url_id, explicit_only=True)
        if injection is not None:
            if injection.status == 429:
                return self._webhook_fail(
                    url_id, 429, "rate_limited", injected=True, retry_after=injection.retry_after
                )
            return self._webhook_fail(
                url_id, injection.status, injection.error or "internal_error", injected=True
            )
        if self.clock() - entry.created >= RESPONSE_URL_LIFETIME:
            return self._webhook_fail(url_id, 404, "expired_url")
        if entry.uses >= RESPONSE_URL_MAX_USES:
            return self._webhook_fail(url_id, 404, "used_url")
        raw = await request.read()
        try:
            if request.content_type != "application/json":
                raise ValueError("not JSON")
            body = json.loads(raw)
        except ValueError:
            return self._webhook_fail(url_id, 400, "invalid_payload")
        if not isinstance(body, dict):
            return self._webhook_fail(url_id, 400, "invalid_payload")
        response_type = body.get("response_type", "ephemeral")
        flags = (body.get("replace_original", False), body.get("delete_original", False))
        thread_ts = body.get("thread_ts")
        if (
            response_type not in ("ephemeral", "in_channel")
            or not all(isinstance(f, bool) for f in flags)
            or (thread_ts is not None and not isinstance(thread_ts, str))
        ):
            return self._webhook_fail(url_id, 400, "invalid_payload")
        replace_original, delete_original = flags
        try:
            text, blocks = self._content(body, required=not delete_original)
        except _SlackError as exc:
            return self._webhook_fail(url_id, 400, exc.error)
        entry.uses += 1
        self.responses.append(
            SlackResponse(
                url_id=url_id,
                response_type=response_type,
                text=text,
                blocks=blocks,
                replace_original=replace_original,
                delete_original=delete_original,
                thread_ts=thread_ts,
                time=self.clock(),
                mass_mentions=mass_mentions(text) or mass_mentions(blocks),
                channel=entry.channel,
                user=entry.user,
                message_ts=entry.message_ts,
                body=body,
            )
        )
        self._notify()
        return web.Response(text="ok", content_type="text/plain")

    # -- Socket Mode: the connection ----------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            self._reject("socket", None, 401, "invalid_ticket")
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()  # autoping: answers the SDK's pings with pongs
        await ws.prepare(request)
        self.socket_connects += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {
                    "host": "applink-fake",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        # Registered only after hello, so socket_send never overtakes it.
        self._sockets.append(ws)
        self._notify()
        try:
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    self._on_socket_text(frame.data)
        finally:
            self._sockets.remove(ws)
            self._notify()
        return ws

    def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._reject("socket_ack", None, 0, "invalid_json")
            self._notify()
            return
        envelope_id = message.get("envelope_id")
        if not isinstance(envelope_id, str) or envelope_id not in self.socket_envelopes:
            self._reject("socket_ack", str(envelope_id), 0, "unknown_envelope")
        elif envelope_id in self.socket_acks:
            self._reject("socket_ack", envelope_id, 0, "duplicate_ack")
        else:
            payload = message.get("payload")
            self.socket_acks[envelope_id] = (self.clock(), payload)
            if isinstance(payload, dict):
                try:
                    # An ack payload of a slash command is shown as a message: same rules.
                    self._content(payload, required=False)
                except _SlackError as exc:
                    self._reject("socket_ack", envelope_id, 0, exc.error)
        self._notify()


def _message_json(
    text: str | None, blocks: list[Any] | None, ts: str, thread_ts: str | None
) -> dict[str, Any]:
    """The ``message`` object Slack answers with for a bot post."""
    message: dict[str, Any] = {
        "type": "message",
        "text": text or "",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "ts": ts,
    }
    if blocks:
        message["blocks"] = blocks
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    return message


def _find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the interactive element `action_id` in `blocks`."""
    for i, block in enumerate(blocks):
        candidates = [*block.get("elements", []), block.get("accessory")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                # Slack gives blocks without a block_id one of its own.
                return str(block.get("block_id") or f"fake-block-{i}"), element
    return None
