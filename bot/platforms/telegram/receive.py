"""Telegram receiving through python-telegram-bot: long polling, or a webhook.

    getUpdates (polling.Poller) ─┐
    POST /telegram ──────────────┴► PTB Application.process_update ──► Incoming
                                                                          │
    answerCallbackQuery (toasts) ◄── post hook     Conversation.respond ◄─┘

Long polling is the default: no public URL is needed. With `PAPERDROP_TELEGRAM_WEBHOOK_URL` set,
`start()` registers the webhook (with `PAPERDROP_TELEGRAM_WEBHOOK_SECRET`) and `routes()` serves
``POST /telegram`` on `serve`'s HTTP server.

An update is confirmed to Telegram only once it was handled: polling's offset moves past
it when its answer is done (`polling.Poller`, not PTB's Updater, which confirms on fetch),
and a webhook delivery is answered 200 when its answer is done (503 when it was deferred:
the Store down; Telegram delivers it again). So a SIGKILL mid-answer loses nothing: the
update comes back after the restart and is answered once. Long polling that fails (the
network, 5xx, a 409 conflict) is retried with backoff; `running` says whether it is up.

PTB's handlers only turn an update into an `Incoming` and hand the answer to
`Conversation.spawn`: a slow LLM answer never holds up polling, and `stop()` returns at
once while `Conversation.close(grace)` finishes or cancels what is in flight. Every Bot
API call made here goes through `TelegramSender.call` (429s waited out, transient errors
retried, errors translated); `getMe` at start too, tried once (serve retries the start).
Text from users is data: it becomes `Incoming.text` and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import random as _random
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from bot.core.chat import Answer, Incoming, ReceiverDeps
from bot.core.intake import Deferred
from bot.core.platform import Route
from bot.core.ports import AdminCheck, Sender
from bot.core.reconnect import RECEIVER_BACKOFF, Backoff, Link, Sleep
from bot.platforms.telegram.incoming import bot_commands, message_incoming, query_incoming
from bot.platforms.telegram.polling import BUSY_POLL, Poller, UpdateLike
from bot.platforms.telegram.send import TelegramSender, TokenRejected
from bot.platforms.telegram.settings import telegram_settings
from digest.errors import ConfigError, DeliveryError
from digest.models import Platform
from digest.redaction import scrub_line
from handlers.registry import help_lines

# python-telegram-bot and aiohttp's server are imported where they are used: together they
# take ~0.5 s to import, which only `serve` needs (not every command of the CLI).
if TYPE_CHECKING:
    from aiohttp import web
    from telegram import BotCommand, Update
    from telegram.ext import Application, ApplicationBuilder, ContextTypes

__all__ = [
    "ALLOWED_UPDATES",
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "TelegramReceiver",
]

log = logging.getLogger(__name__)

WEBHOOK_PATH: Final = "/telegram"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
# Only what the conversation answers: fewer updates, and no chat_member noise.
ALLOWED_UPDATES: Final = ("message", "callback_query")  # telegram.Update.MESSAGE, …
POLL_TIMEOUT: Final = 30.0  # seconds one getUpdates long poll may wait
# A webhook delivery is answered once its answer is done, or after this many seconds
# (Telegram gives up on a webhook request after about a minute and delivers it again).
WEBHOOK_HOLD: Final = 25.0
ADMIN_TTL: Final = 60.0  # seconds a getChatMember answer is trusted
_ADMIN_CACHE_MAX = 2048  # entries; the cache is simply emptied past this
ADMIN_STATUSES: Final = frozenset({"creator", "administrator"})
TOAST_MAX: Final = 200  # CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH
_STALE_BUTTON = "This button no longer works. /help lists what I can do."

AnyApplication: TypeAlias = "Application[Any, Any, Any, Any, Any, Any]"


class TelegramReceiver:
    """Receives Telegram updates (long polling, or the webhook) and answers them."""

    platform: Platform = "telegram"

    def __init__(
        self,
        deps: ReceiverDeps,
        *,
        poll_timeout: float = POLL_TIMEOUT,
        admin_ttl: float = ADMIN_TTL,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff = RECEIVER_BACKOFF,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        busy_poll: float = BUSY_POLL,
    ) -> None:
        settings = deps.settings
        own = telegram_settings(settings)
        token = own.token.get_secret_value() if own.token else ""
        if not token:
            raise ConfigError("Telegram needs PAPERDROP_TELEGRAM_TOKEN")
        self._settings = settings
        self._conversation = deps.conversation
        self._token = token
        # Answers go through serve's sender (shared rate limits); Bot API look-ups need a
        # TelegramSender's `call`: the same one when it is one, else our own.
        api = deps.sender if isinstance(deps.sender, TelegramSender) else None
        self._own_api = api is None
        self._api: TelegramSender = api or TelegramSender(settings)
        self._sender: Sender = deps.sender or self._api
        self._webhook_url = own.webhook_url or None
        secret = own.webhook_secret
        self._secret = secret.get_secret_value() if secret is not None else ""
        self._poll_timeout = poll_timeout
        self._admin_ttl = admin_ttl
        self._clock = clock
        self._admins: dict[tuple[int, int], tuple[float, bool]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._bot_name: str | None = None
        self._bot_id: int | None = None
        self._app = self._build(settings.http_timeout)
        # The answer task each handler started, by update id (what the offset waits for).
        self._spawned: dict[int, asyncio.Task[Any]] = {}
        self._turned_away: set[int] = set()  # updates not taken: the conversation closes
        self._started = False
        self._stop = asyncio.Event()
        self._poll_task: asyncio.Task[None] | None = None
        self.poller = Poller(
            self._get_updates,
            self._dispatch,
            link=Link("telegram", "long polling"),
            timeout=poll_timeout,
            backoff=backoff,
            sleep=sleep,
            clock=clock,
            random=random,
            busy_poll=busy_poll,
            describe=self._describe,
        )

    def __repr__(self) -> str:
        return f"TelegramReceiver(mode={'webhook' if self.webhook else 'polling'})"

    def _build(self, timeout: float) -> AnyApplication:
        from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            Application.builder()
            .token(self._token)
            .base_url(telegram_settings(self._settings).api_url)
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .write_timeout(timeout)
            .get_updates_connect_timeout(timeout)
            .get_updates_read_timeout(timeout)  # PTB adds the long poll's timeout to it
            .get_updates_write_timeout(timeout)
            .concurrent_updates(True)
            # Updates come from our Poller (or routes()): PTB's Updater confirms an
            # update on fetch, before it is answered.
            .updater(None)
        )
        app: AnyApplication = builder.build()
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self._on_message))
        app.add_handler(CallbackQueryHandler(self._on_click))
        app.add_error_handler(self._on_error)
        return app

    # --- the Receiver protocol ----------------------------------------------------------

    @property
    def webhook(self) -> bool:
        """Webhook mode (else long polling)."""
        return self._webhook_url is not None

    @property
    def running(self) -> bool:
        """Taking updates (for /readyz): started and not stopped, and in polling mode
        getUpdates answering (while it is retried after a failure, not running)."""
        if not self._started or self._stop.is_set() or not self._app.running:
            return False
        return self.webhook or self.poller.link.up_now is True

    @property
    def link(self) -> Link:
        """The long poll's up/down state and why (for /readyz)."""
        return self.poller.link

    @property
    def bot_name(self) -> str | None:
        """The bot's @username (known once started)."""
        return self._bot_name

    @property
    def application(self) -> AnyApplication:
        return self._app

    def routes(self) -> list[Route]:
        return [("POST", WEBHOOK_PATH, self.handle_webhook)] if self.webhook else []

    async def start(self) -> None:
        """Connect once (serve tries again with backoff when this raises); a refused
        token is a ConfigError: trying again cannot help."""
        app = self._app
        try:
            # getMe through the sender: a 429 at start is waited out, a rejected token is
            # reported without the token in the message; one try for network trouble.
            await self._api.call("-", lambda _bot: app.initialize(), transient_retries=0)
            self._bot_name = app.bot.username
            self._bot_id = app.bot.id
            await self._register_commands()
            await app.start()
            if self._webhook_url is None:
                await self._delete_webhook()
            else:
                await self._set_webhook(self._webhook_url)
        except TokenRejected as exc:
            await self._shutdown()
            raise ConfigError(
                f"Telegram refused the bot token ({exc.reason}): check PAPERDROP_TELEGRAM_TOKEN"
            ) from None
        except BaseException:
            await self._shutdown()
            raise
        self._started = True
        self._stop.clear()
        self.poller.link.up()  # getMe answered: up until a long poll fails
        if self._webhook_url is None:
            self._poll_task = asyncio.create_task(self.poller.run(self._stop), name="tg-poll")
        log.info(
            "telegram: receiving as @%s by %s",
            self._bot_name,
            "webhook" if self.webhook else "long polling",
        )

    async def stop(self) -> None:
        # The webhook is left registered: another replica may be serving it.
        self._stop.set()
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()  # the waiting long poll ends at once
            await asyncio.gather(task, return_exceptions=True)
            if self._app.running or self._started:
                await self.poller.confirm()  # what was answered is not delivered again
        self._started = False
        await self._shutdown()
        if self._own_api:
            # Our own sender also carries the answers still in flight: let them finish
            # (bounded) before closing it. serve's sender is closed by serve.
            pending = [t for t in self._tasks if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=self._settings.shutdown_grace)
            await self._api.aclose()

    # --- starting -----------------------------------------------------------------------

    async def _delete_webhook(self) -> None:
        # Polling while a webhook is set answers 409: delete it first (keeping what is
        # pending, which polling then fetches).
        await self._api.call("-", lambda bot: bot.delete_webhook(drop_pending_updates=False))

    async def _get_updates(
        self, offset: int | None, wait: float, limit: int
    ) -> Sequence[UpdateLike]:
        """getUpdates, long-polling `wait` seconds: `offset` confirms every update below
        it (see polling.Poller)."""
        updates: Sequence[UpdateLike] = await self._app.bot.get_updates(
            offset=offset,
            limit=limit,
            timeout=int(wait),
            allowed_updates=list(ALLOWED_UPDATES),
        )
        return updates

    def _describe(self, exc: BaseException) -> str:
        """Why getUpdates failed, on one line, without the token."""
        reason = scrub_line(str(exc) or exc.__class__.__name__, [self._token])
        if exc.__class__.__name__ == "Conflict":
            return f"getUpdates conflict (another instance polls this token?): {reason}"
        return f"getUpdates: {exc.__class__.__name__}: {reason}"

    async def _dispatch(self, update: UpdateLike) -> asyncio.Task[Any] | None:
        """Hand one update to PTB's handlers; the answer task they started (None: nothing
        to answer). Deferred when the conversation took no more work (shutting down: the
        next process answers it; a click's spinner is stopped all the same)."""
        uid = update.update_id
        await self._app.process_update(update)
        if uid in self._turned_away:
            self._turned_away.discard(uid)
            raise Deferred("shutting down")
        return self._spawned.pop(uid, None)

    async def _set_webhook(self, url: str) -> None:
        if not self._secret:
            log.warning(
                "telegram: webhook without PAPERDROP_TELEGRAM_WEBHOOK_SECRET: anyone who "
                "finds the URL can post updates"
            )
        await self._api.call(
            "-",
            lambda bot: bot.set_webhook(
                url,
                secret_token=self._secret or None,
                allowed_updates=list(ALLOWED_UPDATES),
            ),
        )

    async def _register_commands(self) -> None:
        """The command menu, from the registry (English, and Chinese where it differs).
        A failure only leaves the menu stale: the bot still answers."""
        english = bot_commands(help_lines("en"))
        for language, commands in (("", english), ("zh", bot_commands(help_lines("zh")))):
            if not commands or (language and commands == english):
                continue
            try:
                await self._set_commands(commands, language)
            except DeliveryError as exc:
                log.warning("telegram: setMyCommands failed: %s", exc.reason)

    async def _set_commands(self, commands: list[BotCommand], language: str) -> None:
        await self._api.call(
            "-", lambda bot: bot.set_my_commands(commands, language_code=language or None)
        )

    async def _shutdown(self) -> None:
        app = self._app
        try:
            if app.running:
                await app.stop()  # handlers only spawn: nothing long to wait for
            await app.shutdown()
            # A start that failed in getMe leaves the Application uninitialised but the
            # bot's HTTP clients open: close them too (a no-op after a full shutdown).
            await app.bot.shutdown()
        except Exception:
            log.exception("telegram: stopping the application failed")

    # --- webhook ------------------------------------------------------------------------

    async def handle_webhook(self, request: web.Request) -> web.StreamResponse:
        """POST /telegram: Telegram's delivery of one update."""
        from aiohttp import web
        from telegram import Update

        if self._secret:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self._secret.encode()):
                log.warning(
                    "telegram webhook: refused a request from %s: %s secret token",
                    request.remote,
                    "wrong" if given else "no",
                )
                return web.Response(status=401, text="unauthorized")
        app = self._app
        if not self._started or not app.running or self._stop.is_set():
            # Not started or stopping: Telegram delivers it again later.
            return web.Response(status=503, text="not running")
        try:
            data = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="bad JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(data, app.bot)
        except Exception as exc:
            # Answered 200 all the same: Telegram would redeliver it forever, holding up
            # every update behind it.
            log.warning("telegram webhook: unreadable update dropped: %s", type(exc).__name__)
            return web.Response(text="ok")
        try:
            task = await self._dispatch(update)
        except Deferred:
            return web.Response(status=503, text="try again later")
        if task is not None:
            # 200 once handled: a process killed meanwhile never said 200, so Telegram
            # delivers the update again. Deferred (the Store down): 503, again later.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), WEBHOOK_HOLD)
            if task.done() and not task.cancelled() and isinstance(task.exception(), Deferred):
                return web.Response(status=503, text="try again later")
        return web.Response(text="ok")

    # --- updates ------------------------------------------------------------------------

    def _spawn(self, update_id: int, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        task = self._conversation.spawn(work)
        if task is None:
            self._turned_away.add(update_id)
            return None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._spawned[update_id] = task
        return task

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        inc = message_incoming(
            update.update_id, message, bot_name=self._bot_name, bot_id=self._bot_id
        )
        if inc is None:
            return
        # Someone posting as the group itself is one of its anonymous admins.
        anonymous = message.sender_chat is not None and message.sender_chat.id == message.chat.id
        user = message.from_user
        check = self._admin_check(message.chat.id, None if user is None else user.id, anonymous)
        self._spawn(
            update.update_id,
            self._conversation.respond(inc, self._sender, is_admin=check, redeliverable=True),
        )

    async def _on_click(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        inc = query_incoming(query, bot_name=self._bot_name)
        if inc is None:
            await self._toast(query.id, "-", _STALE_BUTTON)
            return
        check = self._admin_check(int(inc.chat_id), query.from_user.id, False)
        if self._spawn(update.update_id, self._answer_click(inc, query.id, check)) is None:
            await self._toast(query.id, inc.chat_id, None)  # shutting down: stop the spinner

    async def _answer_click(self, inc: Incoming, query_id: str, check: AdminCheck) -> None:
        """A click: its short answer is the toast; the query is answered exactly once,
        whatever happens (a button must never keep spinning)."""
        answered = False

        async def post(answer: Answer) -> bool:
            nonlocal answered
            if not answer.notice or answered:
                return False  # a real message (e.g. an error): sent to the chat
            answered = True
            await self._toast(query_id, inc.chat_id, answer.text)
            return True

        try:
            await self._conversation.respond(
                inc, self._sender, is_admin=check, post=post, redeliverable=True
            )
        finally:
            if not answered:
                answered = True
                await self._toast(query_id, inc.chat_id, None)

    async def _toast(self, query_id: str, chat_id: str, text: str | None) -> None:
        text = (text or "").strip()
        if len(text) > TOAST_MAX:
            text = text[: TOAST_MAX - 1] + "…"
        try:
            await self._api.call(
                chat_id, lambda bot: bot.answer_callback_query(query_id, text=text or None)
            )
        except DeliveryError as exc:
            # Too late (15 s) or already answered: nothing more can be done for this click.
            log.warning("telegram: answerCallbackQuery failed: %s", exc.reason)

    def _admin_check(self, chat_id: int, user_id: int | None, anonymous: bool) -> AdminCheck:
        async def is_admin() -> bool:
            if anonymous:
                return True
            if user_id is None:
                return False
            key = (chat_id, user_id)
            now = self._clock()
            cached = self._admins.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
            try:
                member = await self._api.call(
                    str(chat_id), lambda bot: bot.get_chat_member(chat_id, user_id)
                )
            except DeliveryError as exc:
                log.warning("telegram: getChatMember failed, treating as no admin: %s", exc.reason)
                return False
            admin = str(member.status) in ADMIN_STATUSES
            if len(self._admins) >= _ADMIN_CACHE_MAX:
                self._admins.clear()
            self._admins[key] = (now + self._admin_ttl, admin)
            return admin

        return is_admin

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only reached for a bug in the mapping above: answers have their own logging.
        log.error("telegram: update handling failed", exc_info=context.error)
