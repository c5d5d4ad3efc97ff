"""Feishu/Lark receiving: lark-oapi's long connection (default) or HTTP event callbacks.

    long connection ─► lark.ws.Client (own thread, own loop) ─┐
    POST /feishu/events ─► our checks ─► EventDispatcherHandler ─┤ (a worker thread)
                                                                 ▼
                       Incoming ──call_soon_threadsafe──► Conversation (the main loop)

lark-oapi calls our functions synchronously and on a thread that is not the app's loop
(the long connection's own thread; in HTTP mode we run its dispatcher in a worker thread),
so they only build the `Incoming` and hand it to the main loop. Messages are answered in
the background (the event is acknowledged at once); a card click waits a bounded time for
its answer, because Feishu shows the callback's answer as a toast and gives up after 3 s.

HTTP mode checks the request itself before lark-oapi sees it (lark answers every refusal
with a 500, which Feishu would retry for hours): decryption and the signature when an
Encrypt Key is set, the verification token when one is set. Forged or unreadable requests
get 401/403 and change nothing. Retried deliveries are deduplicated by the conversation
(`Incoming.event_id`); lark-oapi does not.

Who may run admin-only commands in a group: the chat's owner or a user manager, from
``GET /open-apis/im/v1/chats/{chat_id}`` (httpx with the sender's tenant token and
client; lark's own API client fetches tokens with blocking requests, which must not run
on the loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import quote

import httpx
import lark_oapi as lark
import lark_oapi.ws.client as lark_ws_client
from aiohttp import web
from lark_oapi.core.utils import AESCipher

from bot.conversation import Answer, Incoming, ReceiverDeps
from bot.platforms.base import Route
from bot.platforms.feishu.send import _FEISHU_BAD_TOKEN, FeishuSender
from bot.sending import Sender, redact_in_logs
from digest.chatstate import FEEDBACK_ACTION
from digest.errors import ConfigError, DeliveryError
from digest.models import Platform, Reply, Subscription
from digest.settings import Settings
from handlers.registry import COMMANDS

__all__ = ["CLICK_DEADLINE", "EVENTS_PATH", "BotIdentity", "FeishuReceiver"]

log = logging.getLogger(__name__)

EVENTS_PATH: Final = "/feishu/events"
# Feishu drops a card callback answered after 3 s: leave room for the network.
CLICK_DEADLINE: Final = 2.5
CHAT_PATH: Final = "/open-apis/im/v1/chats/"
BOT_INFO_PATH: Final = "/open-apis/bot/v3/info"
MESSAGE_EVENT: Final = "im.message.receive_v1"
CARD_EVENT: Final = "card.action.trigger"
URL_VERIFICATION: Final = "url_verification"
# Signature headers Feishu adds when an Encrypt Key is set.
TIMESTAMP_HEADER: Final = "X-Lark-Request-Timestamp"
NONCE_HEADER: Final = "X-Lark-Request-Nonce"
SIGNATURE_HEADER: Final = "X-Lark-Signature"
TOAST_MAX: Final = 200  # characters: a toast is one short line
# How long stop() waits for the long connection's thread (its blocking HTTP call to the
# endpoint has no timeout of its own; the thread is a daemon, so it cannot hold exit up).
WS_JOIN_TIMEOUT: Final = 5.0
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

    def is_bot(self, mention: Mapping[str, Any]) -> bool:
        ident = mention.get("id")
        open_id = ident.get("open_id") if isinstance(ident, dict) else None
        if self.open_id:
            return open_id == self.open_id
        name = mention.get("name")
        return (
            bool(self.name)
            and isinstance(name, str)
            and name.casefold() == str(self.name).casefold()
        )


class _Refused(Exception):
    """An HTTP event request that is not (provably) from Feishu to this app."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


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
        self._mode = settings.feishu_event_mode
        self._token = _secret(settings.feishu_verification_token)
        self._encrypt_key = _secret(settings.feishu_encrypt_key)
        redact_in_logs(self._token)
        redact_in_logs(self._encrypt_key)
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
        self._main: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self._closed = False
        self._ws: _LongConnection | None = None
        if self._mode == "http":
            self._dispatcher = self._make_dispatcher(self._encrypt_key or "", self._token or "")
        else:
            # Long-connection events are neither encrypted nor signed: empty key and token.
            self._dispatcher = self._make_dispatcher("", "")

    def __repr__(self) -> str:  # never show the token or key
        return f"FeishuReceiver(mode={self._mode!r})"

    @property
    def identity(self) -> BotIdentity:
        return self._identity

    # --- Receiver ---------------------------------------------------------------------

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
        self._main = asyncio.get_running_loop()
        self._stopped = False
        if not self._identity.known:
            self._identity = await self._learn_identity()
        if self._mode != "ws":
            return
        ready: asyncio.Future[None] = self._main.create_future()
        self._ws = _LongConnection(self._settings, self._dispatcher, self._main, ready)
        self._ws.start()
        # Wait for the first connection so that wrong credentials fail `serve` at once;
        # a slow network only delays it (lark keeps trying in the background).
        done, _ = await asyncio.wait({ready}, timeout=self._settings.http_timeout)
        if not done:
            log.warning("feishu: long connection not up yet, still trying in the background")
            return
        exc = ready.exception()
        if exc is not None:
            await self._ws.stop()
            self._ws = None
            raise ConfigError(
                f"Feishu refused the long connection ({_describe(exc)}): check "
                "PAPERDROP_FEISHU_APP_ID / PAPERDROP_FEISHU_APP_SECRET and that the app "
                "subscribes to events by long connection"
            ) from None
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
        if self._stopped or self._main is None:
            # Not started (or failed to), or stopping: Feishu retries later.
            return web.json_response({"msg": "not accepting events"}, status=503)
        raw = await request.read()
        try:
            payload = self._authenticate(raw, request.headers)
        except _Refused as refused:
            log.warning(
                "feishu: event request refused (%d %s) from %s",
                refused.status,
                refused.reason,
                request.remote,
            )
            return web.json_response({"msg": refused.reason}, status=refused.status)
        if payload.get("type") == URL_VERIFICATION:
            return web.json_response({"challenge": payload.get("challenge")})
        event_type = _event_type(payload)
        if event_type not in (MESSAGE_EVENT, CARD_EVENT):
            # Acknowledged, or Feishu would retry an event we never asked for for hours.
            log.info("feishu: event %s ignored", event_type)
            return web.json_response({"msg": "ignored"})
        lark_request = lark.RawRequest()
        lark_request.uri = request.path
        lark_request.body = raw
        # aiohttp's case-insensitive headers: lark looks the signature headers up by name.
        lark_request.headers = request.headers
        # lark runs our functions inline; a click blocks until its toast is ready, which
        # needs the loop free: so the dispatcher runs in a worker thread.
        response = await asyncio.to_thread(self._dispatcher.do, lark_request)
        status = int(response.status_code or 500)
        if status != 200:
            log.warning(
                "feishu: lark-oapi could not handle a %s event (HTTP %d)", event_type, status
            )
        return web.Response(
            status=status,
            body=response.content or b"{}",
            content_type="application/json",
            charset="utf-8",
        )

    def _authenticate(self, raw: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The plaintext payload of a request provably from Feishu to this app, else
        `_Refused` (401: cannot be authenticated, 403: authenticated wrong)."""
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refused(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "body is not a JSON object")
        key = self._encrypt_key
        signed = all(headers.get(h) for h in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER))
        if key and signed:
            # Checked on the raw bytes before anything is decrypted or parsed further.
            base = f"{headers[TIMESTAMP_HEADER]}{headers[NONCE_HEADER]}{key}".encode() + raw
            expected = hashlib.sha256(base).hexdigest()
            if not hmac.compare_digest(expected, str(headers[SIGNATURE_HEADER])):
                raise _Refused(403, "signature mismatch")
        sealed = body.get("encrypt")
        if sealed is not None:
            if not key:
                raise _Refused(401, "encrypted body, but no PAPERDROP_FEISHU_ENCRYPT_KEY is set")
            try:
                body = json.loads(AESCipher(key).decrypt_str(str(sealed)))
            except Exception:  # bad base64, padding, UTF-8 or JSON: not sealed with our key
                raise _Refused(401, "body does not decrypt with the encrypt key") from None
            if not isinstance(body, dict):
                raise _Refused(401, "decrypted body is not a JSON object")
        challenge = body.get("type") == URL_VERIFICATION
        # Feishu signs events, not the URL check (lark-oapi skips it there too).
        if key and not signed and not challenge:
            raise _Refused(401, "signature headers missing")
        if self._token:
            header = body.get("header")
            token = header.get("token") if isinstance(header, dict) else body.get("token")
            if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), self._token.encode()
            ):
                raise _Refused(403, "verification token mismatch")
        return body

    # --- lark-oapi's side (its thread) --------------------------------------------------

    def _make_dispatcher(self, encrypt_key: str, token: str) -> Any:
        builder = lark.EventDispatcherHandler.builder(encrypt_key, token)
        builder.register_p2_im_message_receive_v1(self._on_message)
        builder.register_p2_card_action_trigger(self._on_card)
        return builder.build()

    def _on_message(self, data: Any) -> None:
        """lark's callback for a message (not on the main loop): hand it over."""
        incoming = self.message_incoming(_as_dict(data))
        if incoming is not None and incoming.is_group and not incoming.addressed:
            # Only an app allowed to read every group message gets these: without the
            # bot's mention they are for the people there (even "/help": another bot's).
            log.debug("feishu: group message without the bot's mention ignored")
            return
        if incoming is not None:
            # If the main loop is gone this raises: lark acks 500 and Feishu redelivers.
            self._loop().call_soon_threadsafe(self._accept, incoming)

    def _on_card(self, data: Any) -> Any:
        """lark's callback for a card click (not on the main loop): the toast, in time."""
        incoming = self.card_incoming(_as_dict(data))
        if incoming is None or not _known_action(incoming):
            # A card from an older version, or not ours: say so rather than "went wrong".
            return _toast(self._t(_STALE_BUTTON_EN, _STALE_BUTTON_ZH))
        answer: concurrent.futures.Future[str | None] = concurrent.futures.Future()
        # A plain callback, not a coroutine: nothing is left un-awaited if the loop is gone.
        self._loop().call_soon_threadsafe(self._start_click, incoming, answer)
        try:
            text = answer.result(timeout=self._click_deadline + 0.5)  # backstop only
        except TimeoutError:
            text = None
        return _toast(text or self._t("Got it.", "收到。"))

    # --- the main loop's side -----------------------------------------------------------

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._main is None:
            raise RuntimeError("FeishuReceiver: not started")
        return self._main

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        task = self._deps.conversation.spawn(work)
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return task

    def _accept(self, incoming: Incoming) -> None:
        if self._stopped:
            log.info("feishu: event after stop() not answered")
            return
        conversation = self._deps.conversation
        self._spawn(
            conversation.respond(incoming, self._sender, is_admin=self._admin_check(incoming))
        )

    def _start_click(
        self, incoming: Incoming, answer: concurrent.futures.Future[str | None]
    ) -> None:
        def settle(text: str | None) -> None:
            if not answer.done():
                answer.set_result(text)

        if self._stopped:
            settle(None)
            return
        task = self._spawn(self._click(incoming, settle))
        if task is None:  # the conversation is closing
            settle(None)
            return
        # The toast is whatever is ready by the deadline; the rest finishes in the background.
        timer = self._loop().call_later(self._click_deadline, settle, None)

        def finished(_: asyncio.Task[Any]) -> None:
            timer.cancel()
            settle(None)  # no short answer at all (or a crash): the generic toast

        task.add_done_callback(finished)

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
        event = _dict(payload.get("event"))
        message = _dict(event.get("message"))
        sender = _dict(event.get("sender"))
        if sender.get("sender_type", "user") != "user":
            return None  # the bot's own messages, other apps
        chat_id, message_id = _str(message.get("chat_id")), _str(message.get("message_id"))
        user_id = _str(_dict(sender.get("sender_id")).get("open_id"))
        if not (chat_id and message_id and user_id):
            return None
        is_group = message.get("chat_type") != "p2p"
        raw = _text_of(_str(message.get("message_type")), _str(message.get("content")))
        mentions = [m for m in message.get("mentions") or [] if isinstance(m, dict)]
        text, mentioned = self._resolve_mentions(raw or "", mentions)
        addressed = not is_group or mentioned
        if raw is None:
            # A picture, file or sticker: answered (the pointer to /help) only when it
            # was meant for the bot; empty text says "not a command".
            text = ""
        refs = (_str(message.get("parent_id")), _str(message.get("root_id")))
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
            event_id=_str(_dict(payload.get("header")).get("event_id")) or None,
        )

    def _resolve_mentions(self, text: str, mentions: list[dict[str, Any]]) -> tuple[str, bool]:
        """The text with the bot's mention removed and others as "@Name"; whether the
        bot was mentioned."""
        by_key = {str(m.get("key")): m for m in mentions}
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
            name = mention.get("name") if mention is not None else None
            return (f"@{name}" if isinstance(name, str) and name else key) + space

        return _PLACEHOLDER.sub(replace, text).strip(), mentioned

    def card_incoming(self, payload: Mapping[str, Any]) -> Incoming | None:
        """The `Incoming` of a ``card.action.trigger`` payload, None if it is not ours."""
        event = _dict(payload.get("event"))
        value = _dict(_dict(event.get("action")).get("value"))
        context = _dict(event.get("context"))
        action, argument = value.get("action"), value.get("value")
        chat_id = _str(context.get("open_chat_id"))
        message_id = _str(context.get("open_message_id"))
        user_id = _str(_dict(event.get("operator")).get("open_id"))
        if not (isinstance(action, str) and isinstance(argument, str) and chat_id and user_id):
            return None
        return Incoming(
            platform="feishu",
            chat_id=chat_id,
            user_id=user_id,
            # A callback does not say the chat's type; the admin check asks Feishu.
            message_ref=message_id or None,
            reply_ref=message_id or None,
            thread_refs=(message_id,) if message_id else (),
            event_id=_str(_dict(payload.get("header")).get("event_id")) or None,
            button=(action, argument),
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
        url = self._settings.feishu_base_url.rstrip("/") + path
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
        return zh if self._settings.language == "zh" else en


class _WsClient(lark.ws.Client):  # type: ignore[misc]  # lark-oapi is untyped
    """lark's long-connection client, telling us when a connection is up (lark has a hook
    for reconnections only)."""

    on_connected: Callable[[], None] = staticmethod(lambda: None)

    async def _connect(self) -> None:
        await super()._connect()
        if self._conn is not None:
            self.on_connected()


class _LongConnection:
    """lark's `ws.Client` on a thread of its own, with a loop of its own.

    `Client.start()` blocks (blocking `requests` for the endpoint, then forever on
    lark_oapi.ws.client's module-level `loop`, bound at import) and has no stop: so the
    thread swaps a fresh loop into that global, builds the client there (its constructor
    starts a cache task on the current loop), and stopping cancels every task of that loop
    and closes the socket (private `_disconnect`, reconnecting switched off first).
    """

    def __init__(
        self,
        settings: Settings,
        dispatcher: Any,
        main: asyncio.AbstractEventLoop,
        ready: asyncio.Future[None],
    ) -> None:
        self._settings = settings
        self._dispatcher = dispatcher
        self._main = main
        self._ready = ready
        self._loop = asyncio.new_event_loop()
        self._client: Any = None
        self._previous: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feishu-ws", daemon=True)

    def start(self) -> None:
        self._previous = lark_ws_client.loop
        lark_ws_client.loop = self._loop  # one long connection per process
        self._thread.start()

    async def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: done
                self._loop.call_soon_threadsafe(self._begin_shutdown)
        await asyncio.to_thread(self._thread.join, WS_JOIN_TIMEOUT)
        if self._thread.is_alive():
            log.warning("feishu: long connection thread still busy after stop(); left behind")
            return  # it still uses the swapped loop: leave the global alone
        if lark_ws_client.loop is self._loop:
            lark_ws_client.loop = self._previous

    # --- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._client = self._make_client()
            self._client.start()
        except asyncio.CancelledError:
            pass  # stop() cancelled the endless wait start() ends in
        except BaseException as exc:
            self.error = exc
            log.error("feishu: long connection ended: %s", _describe(exc))
        finally:
            self._cleanup()
            self._signal(self.error)  # (after a stop(): nobody waits any more)

    def _make_client(self) -> Any:
        settings = self._settings
        client = _WsClient(
            settings.feishu_app_id,
            _secret(settings.feishu_app_secret),
            event_handler=self._dispatcher,
            domain=settings.feishu_base_url.rstrip("/"),
            log_level=lark.LogLevel.WARNING,  # its INFO lines carry connection tickets
        )
        client.on_connected = lambda: self._signal(None)
        return client

    def _signal(self, error: BaseException | None) -> None:
        """First call wins: connected (None) or failed; later calls are no-ops."""

        def settle() -> None:
            if self._ready.done():
                return
            if error is None:
                self._ready.set_result(None)
            else:
                self._ready.set_exception(error)

        with contextlib.suppress(RuntimeError):  # the app's loop is gone: nobody waits
            self._main.call_soon_threadsafe(settle)

    def _begin_shutdown(self) -> None:
        self._loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        client = self._client
        if client is not None:
            client._auto_reconnect = False
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        waiting = {t for t in tasks if getattr(t.get_coro(), "__name__", "") == "_select"}
        for task in tasks - waiting:
            task.cancel()  # receive loop, ping loop, handlers, the cache's cron, reconnects
        await asyncio.gather(*(tasks - waiting), return_exceptions=True)
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client._disconnect(), 2.0)
        for task in waiting:
            task.cancel()  # start() then raises CancelledError in the thread

    def _cleanup(self) -> None:
        # Whatever is left must finish on this loop before it closes, or its __del__
        # runs on a closed loop (a warning, an error under the tests' filterwarnings).
        loop = self._loop
        self._drain()
        conn = getattr(self._client, "_conn", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(conn.close(), 2.0))
            self._drain()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def _drain(self) -> None:
        for _ in range(10):  # cancelling may start new tasks; a few rounds settle it
            leftovers = asyncio.all_tasks(self._loop)
            if not leftovers:
                return
            for task in leftovers:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


# --- helpers ----------------------------------------------------------------------------


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    return str(raw) or None


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    msg = getattr(exc, "msg", None) or str(exc)
    return (
        f"{exc.__class__.__name__} {code}: {msg}"
        if code is not None
        else f"{exc.__class__.__name__}: {msg}"
    )


def _as_dict(data: Any) -> dict[str, Any]:
    """A lark-oapi event object as the plain JSON payload it was parsed from."""
    return _dict(json.loads(lark.JSON.marshal(data) or "{}"))


def _dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _event_type(payload: Mapping[str, Any]) -> str:
    header = payload.get("header")
    if isinstance(header, dict):
        return _str(header.get("event_type"))
    return _str(_dict(payload.get("event")).get("type"))  # schema 1.0


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


def _known_action(incoming: Incoming) -> bool:
    action = incoming.button[0] if incoming.button else ""
    return action == FEEDBACK_ACTION or (action in COMMANDS and not COMMANDS[action].admin)


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


def _toast(text: str) -> Any:
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )

    return P2CardActionTriggerResponse({"toast": {"type": "info", "content": text[:TOAST_MAX]}})
