"""Feishu/Lark receiving: the long connection (default) or HTTP event callbacks.

    long connection ─► longconn.LongConnection ─┐
    POST /feishu/events ─► events.open_request ──┤ (the app's loop)
                                                 ▼
                         Incoming ─► Conversation

Both are native (`events`, `longconn`): lark-oapi speaks the same protocol but costs
~135 MB and ~3 s of imports, binds an event loop at import, blocks and cannot be stopped.
Messages are answered in the background (the event is acknowledged at once); a card click
waits a bounded time for its answer, because Feishu shows the callback's answer as a toast
and gives up after 3 s.

HTTP mode checks each request (`events.open_request`): decryption and the signature when
an Encrypt Key is set, the verification token when one is set. Forged or unreadable
requests get 400/401/403 (not lark-oapi's 500 for everything, which Feishu would retry for
hours) and change nothing. Retried deliveries are deduplicated by the conversation
(`Incoming.event_id`).

Who may run admin-only commands in a group: the chat's owner or a user manager, from
``GET /open-apis/im/v1/chats/{chat_id}`` (httpx with the sender's tenant token and
client).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import quote

import httpx

from bot.core.buttons import our_button
from bot.core.chat import Answer, Incoming, ReceiverDeps
from bot.core.platform import Route
from bot.core.ports import Sender
from bot.core.reconnect import Link
from bot.platforms.feishu import events
from bot.platforms.feishu.events import CARD_EVENT, MESSAGE_EVENT, Envelope, Mention
from bot.platforms.feishu.longconn import LongConnection, Refused
from bot.platforms.feishu.rules import SDK_LOGGERS
from bot.platforms.feishu.send import _FEISHU_BAD_TOKEN, FeishuSender
from bot.platforms.feishu.settings import feishu_settings
from digest.chatstate import default_language
from digest.errors import ConfigError, DeliveryError
from digest.models import Platform, Reply, Subscription
from digest.redaction import redact_in_logs

if TYPE_CHECKING:  # aiohttp's server is imported by the route that serves (~0.2 s)
    from aiohttp import web

__all__ = ["CLICK_DEADLINE", "EVENTS_PATH", "BotIdentity", "FeishuReceiver"]

log = logging.getLogger(__name__)

EVENTS_PATH: Final = "/feishu/events"
# Feishu drops a card callback answered after 3 s: leave room for the network.
CLICK_DEADLINE: Final = 2.5
CHAT_PATH: Final = "/open-apis/im/v1/chats/"
BOT_INFO_PATH: Final = "/open-apis/bot/v3/info"
TOAST_MAX: Final = 200  # characters: a toast is one short line
_STALE_BUTTON_EN = "This button no longer works. /help lists what I can do."
_STALE_BUTTON_ZH = "这个按钮已失效。发送 /help 查看可用命令。"
# A chat's owner and managers are trusted this long (seconds) before asking Feishu again.
ADMIN_TTL: Final = 60.0
_ADMIN_CACHE_MAX = 2048  # chats; the cache is simply emptied past this
_PLACEHOLDER = re.compile(r"(@_user_\d+)([ \t]*)")


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in mentions: its open_id (best), else its app name, else unknown."""

    open_id: str | None = None
    name: str | None = None

    @property
    def known(self) -> bool:
        return bool(self.open_id or self.name)

    def is_bot(self, mention: Mention | Mapping[str, Any]) -> bool:
        if not isinstance(mention, Mention):
            mention = Mention.of(mention)
        if self.open_id:
            return mention.open_id == self.open_id
        return bool(self.name) and mention.name.casefold() == str(self.name).casefold()


class FeishuReceiver:
    """Feishu's events (long connection or HTTP) answered through the conversation."""

    platform: Platform = "feishu"

    def __init__(
        self,
        deps: ReceiverDeps,
        *,
        bot_open_id: str | None = None,
        bot_name: str | None = None,
        click_deadline: float = CLICK_DEADLINE,
        admin_ttl: float = ADMIN_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = deps.settings
        self._deps = deps
        self._settings = settings
        own = feishu_settings(settings)
        self._own = own
        self._mode = own.event_mode
        self._token = _secret(own.verification_token)
        self._encrypt_key = _secret(own.encrypt_key)
        redact_in_logs(self._token, SDK_LOGGERS)
        redact_in_logs(self._encrypt_key, SDK_LOGGERS)
        self._own_sender = deps.sender is None
        self._sender: Sender = deps.sender or FeishuSender(settings)
        # Tenant tokens for the chat-info call come from a FeishuSender (one cache).
        self._own_tokens = not isinstance(self._sender, FeishuSender)
        self._tokens: FeishuSender = (
            self._sender if isinstance(self._sender, FeishuSender) else FeishuSender(settings)
        )
        self._identity = BotIdentity(bot_open_id, bot_name)
        self._click_deadline = click_deadline
        self._admin_ttl = admin_ttl
        self._clock = clock
        # chat_id -> (fetched at, owner and user managers; None for a p2p chat)
        self._admins: dict[str, tuple[float, frozenset[str] | None]] = {}
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self._closed = False
        self._ws: LongConnection | None = None

    def __repr__(self) -> str:  # never show the token or key
        return f"FeishuReceiver(mode={self._mode!r})"

    @property
    def identity(self) -> BotIdentity:
        return self._identity

    # --- Receiver ---------------------------------------------------------------------

    @property
    def link(self) -> Link | None:
        """The long connection's up/down state and why (for /readyz); None in HTTP mode."""
        return self._ws.link if self._ws is not None else None

    @property
    def running(self) -> bool:
        """Taking events (for /readyz): started, not stopped, and in long-connection mode
        the connection up (while it reconnects in the background, not running)."""
        if not self._started or self._stopped:
            return False
        return self._mode != "ws" or (self._ws is not None and self._ws.connected)

    def routes(self) -> list[Route]:
        if self._mode != "http":
            return []
        return [("POST", EVENTS_PATH, self.handle_http)]

    async def start(self) -> None:
        if self._mode == "http" and not (self._token or self._encrypt_key):
            # Without either, anyone who finds the URL could post "events" as any user.
            # (Raised here, not in the constructor: serve reports it and keeps the other
            # platforms up; the route refuses everything meanwhile.)
            raise ConfigError(
                "Feishu HTTP events need PAPERDROP_FEISHU_VERIFICATION_TOKEN or "
                "PAPERDROP_FEISHU_ENCRYPT_KEY (from the app's Events and Callbacks page)"
            )
        self._started = True
        self._stopped = False
        if not self._identity.known:
            self._identity = await self._learn_identity()
        if self._mode != "ws":
            return
        own = self._own
        ws = LongConnection(
            own.app_id or "",
            _secret(own.app_secret) or "",
            self._on_long_connection_event,
            base_url=own.base_url,
            timeout=self._settings.http_timeout,
        )
        # The first connection is made here so that wrong credentials fail `serve` at
        # once; a passing failure (network, Feishu busy) is tried again in the background.
        try:
            await ws.start()
        except Refused as exc:
            raise ConfigError(
                f"Feishu refused the long connection ({exc}): check "
                "PAPERDROP_FEISHU_APP_ID / PAPERDROP_FEISHU_APP_SECRET and that the app "
                "subscribes to events by long connection"
            ) from None
        self._ws = ws
        if ws.connected:
            log.info("feishu: long connection up")

    async def stop(self) -> None:
        self._stopped = True
        if self._ws is not None:
            await self._ws.stop()
            self._ws = None
        if (self._own_sender or self._own_tokens) and not self._closed:
            self._closed = True  # stop() may be called again (serve's shutdown path)
            # Our own sender also carries the answers still in flight: let them finish
            # (bounded) before closing it. serve's sender is closed by serve.
            pending = [t for t in self._tasks if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=self._settings.shutdown_grace)
            if self._own_sender:
                await self._sender.aclose()
            if self._own_tokens:
                await self._tokens.aclose()

    # --- HTTP mode --------------------------------------------------------------------

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """POST /feishu/events: the URL check, events and card callbacks."""
        from aiohttp import web

        if self._stopped or not self._started:
            # Not started (or failed to), or stopping: Feishu retries later.
            return web.json_response({"msg": "not accepting events"}, status=503)
        raw = await request.read()
        try:
            envelope = events.open_request(
                raw, request.headers, encrypt_key=self._encrypt_key, token=self._token
            )
        except events.Refused as refused:
            log.warning(
                "feishu: event request refused (%d %s) from %s",
                refused.status,
                refused.reason,
                request.remote,
            )
            return web.json_response({"msg": refused.reason}, status=refused.status)
        if envelope.is_challenge:
            return web.json_response({"challenge": envelope.challenge})
        answer = await self._dispatch(envelope)
        if envelope.type == CARD_EVENT:
            return web.json_response(answer)  # the toast
        return web.json_response(
            {"msg": "success" if envelope.type == MESSAGE_EVENT else "ignored"}
        )

    # --- both modes -------------------------------------------------------------------

    async def _on_long_connection_event(self, payload: bytes) -> Any:
        """An event from the long connection (plaintext): its answer, or None."""
        return await self._dispatch(events.parse(payload))

    async def _dispatch(self, envelope: Envelope) -> dict[str, Any] | None:
        """Hands a message to the conversation (answered in the background); a click's
        answer is its toast, ready in time."""
        if envelope.type == MESSAGE_EVENT:
            self._on_message(envelope.payload)
            return None
        if envelope.type == CARD_EVENT:
            return await self._on_card(envelope.payload)
        # Acknowledged, or Feishu would retry an event we never asked for for hours.
        log.info("feishu: event %s ignored", envelope.type or "(no type)")
        return None

    def _on_message(self, payload: Mapping[str, Any]) -> None:
        incoming = self.message_incoming(payload)
        if incoming is not None and incoming.is_group and not incoming.addressed:
            # Only an app allowed to read every group message gets these: without the
            # bot's mention they are for the people there (even "/help": another bot's).
            log.debug("feishu: group message without the bot's mention ignored")
            return
        if incoming is None:
            return
        if self._stopped:
            log.info("feishu: event after stop() not answered")
            return
        conversation = self._deps.conversation
        self._spawn(
            conversation.respond(incoming, self._sender, is_admin=self._admin_check(incoming))
        )

    async def _on_card(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A card click's toast: the first short answer ready by the click deadline (the
        rest of the work finishes in the background), else a generic one."""
        incoming = self.card_incoming(payload)
        if incoming is None:
            # A card from an older version, or not ours: say so rather than "went wrong".
            return _toast(self._t(_STALE_BUTTON_EN, _STALE_BUTTON_ZH))
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def settle(text: str | None) -> None:
            if not answer.done():
                answer.set_result(text)

        task = None if self._stopped else self._spawn(self._click(incoming, settle))
        if task is None:  # stopping, or the conversation is closing
            settle(None)
        else:
            # No short answer at all (or a crash): the generic toast, without waiting.
            task.add_done_callback(lambda _: settle(None))
        try:
            text = await asyncio.wait_for(asyncio.shield(answer), self._click_deadline)
        except TimeoutError:
            text = None
        return _toast(text or self._t("Got it.", "收到。"))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        task = self._deps.conversation.spawn(work)
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return task

    async def _click(self, incoming: Incoming, settle: Callable[[str | None], None]) -> None:
        """A click's answers: the first short one is the toast (if still in time), the
        others are posted in the chat."""
        toasted = False

        async def post(answer: Answer) -> bool:
            nonlocal toasted
            if toasted or not _short(answer):
                return False  # the sender posts it
            toasted = True
            settle(answer.text[:TOAST_MAX])  # too late: the conversation's work stands
            return True

        await self._deps.conversation.respond(
            incoming, self._sender, is_admin=self._admin_check(incoming), post=post
        )

    # --- events into Incoming ---------------------------------------------------------

    def message_incoming(self, payload: Mapping[str, Any]) -> Incoming | None:
        """The `Incoming` of an ``im.message.receive_v1`` payload, None to ignore it."""
        try:
            return self._message_incoming(payload)
        except Exception:  # a malformed event must not be retried by Feishu forever
            log.exception("feishu: unreadable message event ignored")
            return None

    def _message_incoming(self, payload: Mapping[str, Any]) -> Incoming | None:
        message = events.message_of(payload)
        if message.sender_type != "user":
            return None  # the bot's own messages, other apps
        chat_id, message_id, user_id = message.chat_id, message.message_id, message.sender_open_id
        if not (chat_id and message_id and user_id):
            return None
        is_group = message.chat_type != "p2p"
        raw = _text_of(message.message_type, message.content)
        text, mentioned = self._resolve_mentions(raw or "", message.mentions)
        addressed = not is_group or mentioned
        if raw is None:
            # A picture, file or sticker: answered (the pointer to /help) only when it
            # was meant for the bot; empty text says "not a command".
            text = ""
        refs = (message.parent_id, message.root_id)
        return Incoming(
            platform="feishu",
            chat_id=chat_id,
            user_id=user_id,
            text=text,
            is_group=is_group,
            addressed=addressed,
            message_ref=message_id,
            reply_ref=message_id,  # answers reply to the asker; in a thread, they stay in it
            thread_refs=tuple(dict.fromkeys(r for r in refs if r)),
            event_id=message.event_id or None,
        )

    def _resolve_mentions(self, text: str, mentions: tuple[Mention, ...]) -> tuple[str, bool]:
        """The text with the bot's mention removed and others as "@Name"; whether the
        bot was mentioned."""
        by_key = {m.key: m for m in mentions}
        identity = self._identity
        if identity.known:
            bot_keys = {k for k, m in by_key.items() if identity.is_bot(m)}
            mentioned = bool(bot_keys)
        else:
            # Identity unknown: Feishu delivers group messages that mention the bot (unless
            # the app may read all messages), so a mention counts; the leading ones go.
            leading = re.match(r"^\s*((?:@_user_\d+\s*)+)", text)
            bot_keys = set(re.findall(r"@_user_\d+", leading.group(1))) if leading else set()
            mentioned = bool(mentions)

        def replace(match: re.Match[str]) -> str:
            key, space = match.group(1), match.group(2)
            if key in bot_keys:
                return ""
            mention = by_key.get(key)
            name = mention.name if mention is not None else ""
            return (f"@{name}" if name else key) + space

        return _PLACEHOLDER.sub(replace, text).strip(), mentioned

    def card_incoming(self, payload: Mapping[str, Any]) -> Incoming | None:
        """The `Incoming` of a ``card.action.trigger`` payload, None if it is not ours."""
        click = events.card_action_of(payload)
        button = our_button(click.value.get("action"), click.value.get("value"))
        chat_id, message_id, user_id = click.open_chat_id, click.open_message_id, click.open_id
        if not (button and chat_id and user_id):
            return None
        return Incoming(
            platform="feishu",
            chat_id=chat_id,
            user_id=user_id,
            # A callback does not say the chat's type; the admin check asks Feishu.
            message_ref=message_id or None,
            reply_ref=message_id or None,
            thread_refs=(message_id,) if message_id else (),
            event_id=click.event_id or None,
            button=button,
        )

    # --- Feishu's API -----------------------------------------------------------------

    def _admin_check(self, incoming: Incoming) -> Callable[[], Coroutine[Any, Any, bool]]:
        async def is_admin() -> bool:
            if not incoming.is_group and incoming.button is None:
                return True  # a p2p chat: the user runs their own chat
            return await self.is_chat_admin(incoming.chat_id, incoming.user_id)

        return is_admin

    async def is_chat_admin(self, chat_id: str, open_id: str) -> bool:
        """The chat's owner or a user manager (a p2p chat: its user). False when Feishu
        cannot be asked: admin-only commands fail closed."""
        cached = self._admins.get(chat_id)
        if cached is not None and self._clock() - cached[0] < self._admin_ttl:
            admins = cached[1]
        else:
            data = await self._api_get(
                CHAT_PATH + quote(chat_id, safe=""),
                {"user_id_type": "open_id"},
                chat_id,
                "chat info",
            )
            if data is None:
                return False  # not cached: the next try asks again
            info = _dict(data.get("data"))
            managers = info.get("user_manager_id_list")
            people = {str(m) for m in managers} if isinstance(managers, list) else set()
            if isinstance(info.get("owner_id"), str):
                people.add(info["owner_id"])  # left out when a bot owns the chat
            admins = None if info.get("chat_mode") == "p2p" else frozenset(people)
            if len(self._admins) >= _ADMIN_CACHE_MAX:
                self._admins.clear()
            self._admins[chat_id] = (self._clock(), admins)
        return admins is None or open_id in admins

    async def _learn_identity(self) -> BotIdentity:
        data = await self._api_get(BOT_INFO_PATH, {}, "-", "bot info")
        bot = _dict(data.get("bot")) if data is not None else {}
        identity = BotIdentity(_str(bot.get("open_id")) or None, _str(bot.get("app_name")) or None)
        if not identity.known:
            log.warning(
                "feishu: the bot's open_id is unknown (bot/v3/info failed): any mention in a "
                "group counts as addressing the bot"
            )
        return identity

    async def _api_get(
        self, path: str, params: Mapping[str, str], chat: str, name: str
    ) -> dict[str, Any] | None:
        """A GET of Feishu's open API with the tenant token, or None (logged)."""
        sub = Subscription(platform="feishu", chat_id=chat)
        # The token sender's client: its pool, its timeout, closed with it.
        http = self._tokens._client
        url = self._own.base_url.rstrip("/") + path
        for refreshed in (False, True):
            try:
                token = await self._tokens._tenant_token(sub, force=refreshed)
                resp = await http.get(
                    url, params=dict(params), headers={"Authorization": f"Bearer {token}"}
                )
            except DeliveryError as exc:
                log.warning("feishu: no tenant token for %s: %s", name, exc.reason)
                return None
            except httpx.HTTPError as exc:
                log.warning("feishu: %s failed: %s", name, exc.__class__.__name__)
                return None
            try:
                data = resp.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                log.warning("feishu: %s answered HTTP %d without JSON", name, resp.status_code)
                return None
            code = data.get("code")
            if code in _FEISHU_BAD_TOKEN and not refreshed:
                continue  # a stale token: fetch a new one once
            if code != 0:
                log.warning("feishu: %s refused: code %s: %s", name, code, data.get("msg"))
                return None
            return data
        return None

    def _t(self, en: str, zh: str) -> str:
        # Before the conversation knows the chat (a generic toast): the configured language.
        return zh if default_language(self._settings.language) == "zh" else en


# --- helpers ----------------------------------------------------------------------------


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return str(raw) or None


def _dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _text_of(message_type: str, content: str) -> str | None:
    """The text of a text or rich-text (post) message; None for other kinds."""
    try:
        body = json.loads(content) if content else {}
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if message_type == "text":
        text = body.get("text")
        return text if isinstance(text, str) else ""
    if message_type == "post":
        lines = [_str(body.get("title"))] if body.get("title") else []
        for paragraph in body.get("content") or []:
            parts: list[str] = []
            for element in paragraph if isinstance(paragraph, list) else []:
                element = _dict(element)
                tag = element.get("tag")
                if tag in ("text", "a"):
                    parts.append(_str(element.get("text")))
                elif tag == "at":
                    parts.append(_str(element.get("user_id")))  # the @_user_N placeholder
            lines.append("".join(parts))
        return "\n".join(lines)
    return None


def _short(answer: Answer) -> bool:
    """An answer fit for a toast: a plain text reply, a notice or one line. (A card, even
    one a click produced, is posted: a toast would lose it.)"""
    doc = answer.doc
    return (
        isinstance(doc, Reply)
        and not doc.buttons
        and doc.paper_id is None
        and (answer.notice or len(answer.text) <= TOAST_MAX)
    )


def _toast(text: str) -> dict[str, Any]:
    return events.toast(text[:TOAST_MAX])
