"""Slack receiving through slack-bolt's AsyncApp: Socket Mode, or HTTP at POST /slack/events.

    /paperdrop <command> ─┐                                ┌─► response_url (slash commands;
                          │                                │   a paper's card: postMessage)
    @paperdrop <text> ────┤  ack at once                   │
    a DM ─────────────────┼─► Incoming ─► Conversation ────┼─► chat.postMessage (threads)
    a button click ───────┘                                └─► ephemeral (private, notices)

Socket Mode when an app-level token (``xapp-…``) is set: no public URL is needed. Otherwise
HTTP mode: one route takes events, slash commands and interactivity; bolt checks the
signature and its timestamp (refusing with 401) and answers the url_verification challenge.

The Socket Mode connection is kept up here, not by the SDK (whose reconnecting waits a
fixed 10 s and logs a traceback per try): a closed or stale connection is made again with
capped exponential backoff and jitter (`bot.core.reconnect`), each change of state logged once;
a refused app token ends the trying.

Every listener acknowledges at once and hands the answer to `Conversation.spawn`, which
tracks it for graceful shutdown. The app runs with ``process_before_response``: bolt waits
for our listener (which only builds the `Incoming` and spawns) before it answers Slack, so
the ack is still immediate and no work starts untracked after the ack went out.
Retried deliveries carry the same ``event_id`` (events) and are answered once by the
conversation; slash commands are keyed by ``trigger_id``, clicks by ``action_ts``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random as _random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from bot.core.buttons import parse_button
from bot.core.chat import Answer, Incoming, ReceiverDeps, parse_command
from bot.core.messages import OutMessage
from bot.core.platform import Route
from bot.core.ports import Sender
from bot.core.reconnect import RECEIVER_BACKOFF, Backoff, Link, Sleep, keep_trying, nap
from bot.platforms.slack.render import render_slack
from bot.platforms.slack.rules import SDK_LOGGERS
from bot.platforms.slack.send import SlackSender
from bot.platforms.slack.settings import slack_settings
from digest.chatstate import chat_language, default_language
from digest.errors import ConfigError, DeliveryError
from digest.models import Language, Platform, Reply, Subscription
from digest.redaction import redact_in_logs, scrub_line
from handlers.context import tr
from handlers.registry import COMMANDS

# slack-bolt, slack_sdk and aiohttp are imported where they are used (first in the
# receiver's constructor): together they take ~0.6 s to import, which only `serve` needs.
if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_bolt.context.async_context import AsyncBoltContext

__all__ = ["EVENTS_PATH", "SLASH_COMMAND", "SlackReceiver"]

log = logging.getLogger(__name__)

SLASH_COMMAND = "/paperdrop"
EVENTS_PATH = "/slack/events"
# Our buttons' action ids (render._actions: f"{action}:{index}"); their values "action|value".
_ACTION_ID = re.compile(r"^[a-z_]{1,16}:\d+$")
# A slash command's ack must reach Slack within 3 s: the chat's language gets this long.
_ACK_LOOKUP_TIMEOUT = 0.5
# Seconds between looks at whether the socket is still up (a close is noticed at once
# through the client's close listener; this catches a connection gone stale).
SOCKET_CHECK: Final = 1.0
# apps.connections.open errors that another try cannot cure.
_REFUSED: Final = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "not_allowed_token_type"}
)
# The SDK's own retry messages: our Link reports each change of state once instead.
_SDK_RETRY_NOISE: Final = ("Failed to connect", "Failed to retrieve WSS URL", "Failed to check")


class _QuietRetries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_SDK_RETRY_NOISE)


_SDK_LOG = logging.getLogger("bot.platforms.slack.socket_mode")
_SDK_LOG.addFilter(_QuietRetries())

AdminCheck = Callable[[], Awaitable[bool]]


def _is_dm(channel: str, channel_type: object = None) -> bool:
    return channel_type == "im" or channel.startswith("D")


def _api_error(exc: Any) -> str:
    """The error code of a slack_sdk SlackApiError ("error" when it has none)."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error", "error"))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# Slack's markup in what people type: <https://…|label>, <@U1>, <#C1|name>, <!here>, and
# & < > as entities. A link must reach parse_command as its URL ("paper <https://arxiv…>").
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def _plain(text: str, bot_user_id: str | None) -> str:
    """What the user typed, as plain text, without the bot's own mentions."""

    def unwrap(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            if bot_user_id and target[1:] == bot_user_id:
                return " "
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):  # <!here>, <!subteam^S1|@team>
            return label or "@" + target[1:].split("^", 1)[0]
        return target

    text = _MARKUP.sub(unwrap, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _bot_user_id(body: Mapping[str, Any], context: AsyncBoltContext) -> str | None:
    # bolt learns it from auth.test; the event's authorizations name it too.
    if context.bot_user_id:
        return context.bot_user_id
    for auth in body.get("authorizations") or []:
        if isinstance(auth, dict) and auth.get("is_bot") and auth.get("user_id"):
            return str(auth["user_id"])
    return None


class SlackReceiver:
    """Slack's events, slash commands and button clicks, answered by the conversation."""

    platform: Platform = "slack"

    def __init__(
        self,
        deps: ReceiverDeps,
        *,
        backoff: Backoff = RECEIVER_BACKOFF,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        socket_check: float = SOCKET_CHECK,
    ) -> None:
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.http_retry import builtin_async_handlers as retry
        from slack_sdk.web.async_client import AsyncWebClient

        s = slack_settings(deps.settings)
        token = s.bot_token.get_secret_value() if s.bot_token else ""
        app_token = s.app_token.get_secret_value() if s.app_token else ""
        signing_secret = s.signing_secret.get_secret_value() if s.signing_secret else ""
        if not token:
            raise ConfigError("Slack needs PAPERDROP_SLACK_BOT_TOKEN")
        if not (app_token or signing_secret):
            raise ConfigError(
                "receiving from Slack needs PAPERDROP_SLACK_APP_TOKEN (Socket Mode) "
                "or PAPERDROP_SLACK_SIGNING_SECRET (HTTP mode)"
            )
        for secret in (token, app_token, signing_secret):
            redact_in_logs(secret, SDK_LOGGERS)
        self._deps = deps
        self._app_token = app_token or None
        self._timeout = int(max(1, deps.settings.http_timeout))
        self._secrets = [token, app_token, signing_secret]
        self.client = AsyncWebClient(
            token=token,
            base_url=s.api_url,
            timeout=self._timeout,
            retry_handlers=[
                retry.AsyncConnectionErrorRetryHandler(),
                retry.AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            ],
        )
        self.app = AsyncApp(
            name="paperdrop",
            client=self.client,  # bolt derives every per-request client from it (base_url)
            signing_secret=signing_secret,
            # Socket Mode requests are not signed; HTTP ones are always checked.
            request_verification_enabled=self._app_token is None,
            # Our listeners only ack and spawn: Slack is answered once they returned.
            process_before_response=True,
        )
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.action(_ACTION_ID)(self._on_action)
        self._socket: AsyncSocketModeHandler | None = None
        self._stopped = False
        self._stop = asyncio.Event()
        self._closed = asyncio.Event()  # the client saw the socket close
        self._watch: asyncio.Task[None] | None = None
        self._backoff = backoff
        self._sleep = sleep
        self._random = random
        self._socket_check = socket_check
        self._link = Link("slack", "Socket Mode")

    def __repr__(self) -> str:  # never show the tokens
        mode = "socket" if self._app_token else "http"
        return f"SlackReceiver(mode={mode!r})"

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    @property
    def running(self) -> bool:
        """Taking events (for /readyz): not stopped, and in Socket Mode the socket up
        (while it is made again after a drop, not running)."""
        if self._stopped:
            return False
        return not self.socket_mode or (self._socket is not None and self._link.up_now is True)

    @property
    def link(self) -> Link | None:
        """The socket's up/down state and why (for /readyz); None in HTTP mode."""
        return self._link if self.socket_mode else None

    # --- the Receiver protocol -------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [] if self.socket_mode else [("POST", EVENTS_PATH, self.handle_http)]

    async def start(self) -> None:
        """Connect once (serve tries again with backoff when this raises); a refused app
        token is a ConfigError."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._stopped = False
        self._stop.clear()
        if self._app_token is None or self._socket is not None:
            return  # HTTP mode: serve mounts routes(); bolt calls auth.test on first use
        # Made here: its SocketModeClient needs the running loop.
        socket = AsyncSocketModeHandler(self.app, app_token=self._app_token, logger=_SDK_LOG)
        client = socket.client
        # We reconnect, with backoff (see the module docstring); the SDK only reports.
        client.auto_reconnect_enabled = client.default_auto_reconnect_enabled = False
        client.on_close_listeners.append(self._on_close)
        try:
            await self._connect(socket)
        except BaseException:
            await socket.close_async()  # type: ignore[no-untyped-call]
            raise
        self._socket = socket
        self._link.up()
        self._watch = asyncio.create_task(self._keep_connected(socket), name="slack-socket")

    async def stop(self) -> None:
        self._stopped = True
        self._stop.set()
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
        socket, self._socket = self._socket, None
        if socket is not None:
            # Cancels its receive tasks and closes the session: no reconnect, no waiting.
            await socket.close_async()  # type: ignore[no-untyped-call]

    async def _connect(self, socket: AsyncSocketModeHandler) -> None:
        """One try: a new socket URL (apps.connections.open), then the WebSocket."""
        from slack_sdk.errors import SlackApiError

        client = socket.client
        async with client.connect_operation_lock:  # not at once with the SDK's refresh
            if await client.is_connected():
                return
            try:
                # Asked first and apart: a refused token fails here, for good.
                client.wss_uri = await client.issue_new_wss_url()
            except SlackApiError as exc:
                error = _api_error(exc)
                if error in _REFUSED:
                    raise ConfigError(
                        f"Slack refused the app token for Socket Mode: {error} "
                        "(PAPERDROP_SLACK_APP_TOKEN must be an xapp-… token with "
                        "connections:write)"
                    ) from None
                raise ConnectionError(f"apps.connections.open: {error}") from None
            # The SDK's connect() tries forever on its own: one try is bounded here.
            await asyncio.wait_for(client.connect(), self._timeout)  # type: ignore[no-untyped-call]
        if not await client.is_connected():
            raise ConnectionError("the Socket Mode connection did not open")

    async def _on_close(self, message: object) -> None:
        self._closed.set()

    async def _keep_connected(self, socket: AsyncSocketModeHandler) -> None:
        """Watch the socket; once it is closed or stale, make it again with backoff."""
        client = socket.client
        while not self._stop.is_set():
            if await client.is_connected():
                self._closed.clear()
                await self._until_closed()
                continue
            self._link.down("the Socket Mode connection was closed")
            try:
                await keep_trying(
                    functools.partial(self._connect, socket),
                    self._link,
                    stop=self._stop,
                    backoff=self._backoff,
                    sleep=self._sleep,
                    random=self._random,
                )
            except ConfigError as exc:
                log.error("slack: Socket Mode not reconnected (not retried): %s", exc)
                return

    async def _until_closed(self) -> None:
        """Until the client reports a close, stop() is called, or `socket_check` passed."""
        await nap(self._sleep, self._socket_check, self._closed, self._stop)

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: events, slash commands and interactivity."""
        from aiohttp import web
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

        if self._stopped:
            # Slack retries events later; a restarted instance answers them.
            return web.Response(status=503, text="shutting down")
        response = await self.app.async_dispatch(await to_bolt_request(request))
        if response.status == 401:
            # bolt refused the signature or its timestamp; the body is not ours to log.
            log.warning("slack: refused an unsigned or stale request from %s", request.remote)
        return await to_aiohttp_response(response)

    # --- listeners ----------------------------------------------------------------------

    async def _on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        channel = _text(command.get("channel_id"))
        inc = Incoming(
            platform="slack",
            chat_id=channel,
            user_id=_text(command.get("user_id")),
            # Everything after /paperdrop is a command: "frobnicate" is an unknown one.
            text="/" + (_plain(_text(command.get("text")), None).lstrip("/") or "help"),
            user_name=_text(command.get("user_name")),
            is_group=not _is_dm(channel),
            addressed=True,
            event_id=_text(command.get("trigger_id")) or None,
            command_prefix=f"{SLASH_COMMAND} ",
        )
        working = await self._working_text(inc)
        if working:
            await ack(text=working)
        else:
            await ack()
        self._spawn(inc, _text(command.get("response_url")) or None)

    async def _on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        channel = _text(event.get("channel"))
        if _is_dm(channel, event.get("channel_type")):
            return  # a DM arrives as a message event too: answered there, once
        self._on_user_message(body, event, context, channel)

    async def _on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        channel = _text(event.get("channel"))
        # Edits, joins, bots: not questions. In channels only mentions are (app_mention).
        if event.get("subtype") is not None or event.get("bot_id"):
            return
        if not _is_dm(channel, event.get("channel_type")):
            return
        self._on_user_message(body, event, context, channel)

    def _on_user_message(
        self,
        body: Mapping[str, Any],
        event: Mapping[str, Any],
        context: AsyncBoltContext,
        channel: str,
    ) -> None:
        ts = _text(event.get("ts")) or None
        thread_ts = _text(event.get("thread_ts")) or None
        dm = _is_dm(channel, event.get("channel_type"))
        inc = Incoming(
            platform="slack",
            chat_id=channel,
            user_id=_text(event.get("user")),
            text=_plain(_text(event.get("text")), _bot_user_id(body, context)),
            is_group=not dm,
            addressed=True,
            message_ref=ts,
            # In a thread: answer there. A channel mention: start a thread under it.
            reply_ref=thread_ts or (None if dm else ts),
            thread_refs=(thread_ts,) if thread_ts else (),
            event_id=_text(body.get("event_id")) or None,
            # Typed in a mention or a DM ("paper 2605.29559") or as the slash command.
            command_prefix=f"{SLASH_COMMAND} ",
        )
        self._spawn(inc, None)

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        actions = body.get("actions") or []
        first = actions[0] if actions and isinstance(actions[0], dict) else {}
        button = parse_button(first.get("value"))
        if button is None:
            return  # not one of our buttons
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = _text((body.get("channel") or {}).get("id")) or _text(container.get("channel_id"))
        message_ts = _text(container.get("message_ts")) or _text(message.get("ts")) or None
        thread_ts = _text(container.get("thread_ts")) or _text(message.get("thread_ts")) or None
        user = body.get("user") or {}
        inc = Incoming(
            platform="slack",
            chat_id=channel,
            user_id=_text(user.get("id")),
            user_name=_text(user.get("username")) or _text(user.get("name")),
            is_group=not _is_dm(channel),
            addressed=True,
            message_ref=message_ts,
            reply_ref=thread_ts,
            # The clicked message first, then its thread's root.
            thread_refs=tuple(dict.fromkeys(r for r in (message_ts, thread_ts) if r)),
            event_id=_text(first.get("action_ts")) or None,
            button=button,
            command_prefix=f"{SLASH_COMMAND} ",
        )
        self._spawn(inc, _text(body.get("response_url")) or None)

    # --- answering ----------------------------------------------------------------------

    def _spawn(self, inc: Incoming, response_url: str | None) -> None:
        if self._stopped:
            return
        self._deps.conversation.spawn(self._answer(inc, response_url))

    async def _answer(self, inc: Incoming, response_url: str | None) -> None:
        # serve passes the platform's sender (shared rate limits); else one for this answer.
        own = self._deps.sender is None
        sender: Sender = self._deps.sender or SlackSender(self._deps.settings)
        try:

            async def post(answer: Answer) -> bool:
                return await self._post(inc, answer, response_url, sender)

            # A slash command's answer goes to its response_url, which only this
            # receiver holds: answered here, not by a worker.
            await self._deps.conversation.respond(
                inc,
                sender,
                is_admin=self._admin_check(inc),
                post=post,
                queue=response_url is None,
            )
        finally:
            if own:
                await sender.aclose()

    async def _post(
        self, inc: Incoming, answer: Answer, response_url: str | None, sender: Sender
    ) -> bool:
        """Send `answer` where it belongs; False: the conversation sends it (chat.postMessage,
        threaded, remembered for thread questions)."""
        private = answer.notice or (isinstance(answer.doc, Reply) and answer.doc.private)
        if not private and response_url is None:
            return False
        # A paper's card is posted with chat.postMessage, so that it has a ts to thread
        # questions under (a response_url answer has none); the response_url only when
        # the bot may not post there (e.g. not in the channel).
        card = isinstance(answer.doc, Reply) and answer.doc.paper_id is not None
        if not private and card and await self._deps.conversation.deliver(inc, answer, sender):
            return True
        messages = render_slack(answer.doc)
        sent = 0
        if response_url is not None:
            sent = await self._respond(response_url, messages, ephemeral=private)
        rest = messages[sent:]
        if private:
            # Never in the channel: what the response_url did not take goes ephemeral.
            thread_ts = answer.reply_to or inc.reply_ref
            for msg in rest:
                if not await self._ephemeral(inc, msg, thread_ts):
                    break
            return True
        if sent == 0:
            return False
        # A long answer outran the response_url (5 posts): the rest as messages.
        sub = Subscription(platform="slack", chat_id=inc.chat_id)
        for msg in rest:
            try:
                await sender.send(sub, msg, None)
            except DeliveryError as exc:
                log.warning("slack: rest of an answer not delivered: %s", exc.reason)
                break
        return True

    async def _respond(
        self, response_url: str, messages: Sequence[OutMessage], *, ephemeral: bool
    ) -> int:
        """Post `messages` to the response_url; how many it accepted (stops at a refusal)."""
        import aiohttp
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        hook = AsyncWebhookClient(response_url, timeout=self._timeout)
        for i, msg in enumerate(messages):
            body = {
                **msg.payload,
                "response_type": "ephemeral" if ephemeral else "in_channel",
                "replace_original": False,  # a click's answer never replaces the pick
            }
            try:
                reply = await hook.send_dict(body)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("slack: response_url unreachable: %s", exc.__class__.__name__)
                return i
            if reply.status_code != 200:
                # The URL itself is a credential: log only Slack's answer.
                reason = scrub_line(f"HTTP {reply.status_code} {reply.body}", self._secrets)
                log.warning("slack: response_url refused an answer: %s", reason)
                return i
        return len(messages)

    async def _ephemeral(self, inc: Incoming, msg: OutMessage, thread_ts: str | None) -> bool:
        import aiohttp
        from slack_sdk.errors import SlackApiError

        try:
            await self.client.chat_postEphemeral(
                channel=inc.chat_id,
                user=inc.user_id,
                text=_text(msg.payload.get("text")) or msg.text,
                blocks=msg.payload.get("blocks"),
                thread_ts=thread_ts,
            )
        except SlackApiError as exc:
            log.warning("slack: ephemeral answer refused: %s", _api_error(exc))
            return False
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: ephemeral answer failed: %s", exc.__class__.__name__)
            return False
        return True

    def _admin_check(self, inc: Incoming) -> AdminCheck:
        async def is_admin() -> bool:
            import aiohttp
            from slack_sdk.errors import SlackApiError

            if not inc.is_group:
                return True  # a DM is the user's own chat
            try:
                answer = await self.client.users_info(user=inc.user_id)
            except SlackApiError as exc:
                log.warning("slack: users.info failed: %s", _api_error(exc))
                return False
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("slack: users.info failed: %s", exc.__class__.__name__)
                return False
            user = answer.get("user") or {}
            return bool(user.get("is_admin") or user.get("is_owner"))

        return is_admin

    async def _working_text(self, inc: Incoming) -> str | None:
        """A short "working on it" for commands that take a while (LLM work), else None."""
        parsed = parse_command(inc.text)
        cmd = COMMANDS.get(parsed[0]) if parsed else None
        if cmd is None or cmd.hidden or not cmd.llm:
            return None
        language = await self._language(inc)
        return tr(language, "Working on it…", "正在处理…")

    async def _language(self, inc: Incoming) -> Language:
        store, configured = self._deps.store, self._deps.settings.language
        try:
            async with asyncio.timeout(_ACK_LOOKUP_TIMEOUT):
                sub = await store.get_subscription("slack", inc.chat_id)
                return await chat_language(store, sub, inc.chat_key, configured)
        except Exception as exc:  # the ack must go out whatever the store does
            log.debug("slack: chat language unknown for the ack: %s", exc.__class__.__name__)
        return default_language(configured)
