"""Discord receiving: HTTP interactions at POST /discord/interactions on serve's server.

Every request's Ed25519 signature and timestamp are checked first (else 401, nothing
read further). A PING is answered PONG; a slash command is acknowledged at once with a
deferred reply (type 5) and a button click with a deferred update (type 6); the answer
is worked out off the request by the conversation (`Conversation.spawn`, tracked for
shutdown) and sent through the interaction's webhook (`InteractionSender`).

Over HTTP a bot receives no plain messages (those need the Gateway's WebSocket): a
question in a pick's thread is asked with `/ask question:…` there.

`start()` asks `GET /users/@me` (a refused token is a ConfigError, never retried; a
network failure is retried by serve with backoff, and /readyz names Discord until it
answered) and replaces the application's slash commands from the registry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from bot.core.chat import Answer, Incoming, ReceiverDeps
from bot.core.platform import Route
from bot.core.ports import AdminCheck
from bot.platforms.discord.commands import application_commands
from bot.platforms.discord.interaction import (
    InteractionSender,
    Verifier,
    click_incoming,
    command_incoming,
    is_admin,
    mask_webhook_tokens,
)
from bot.platforms.discord.render import render_discord
from bot.platforms.discord.rules import SDK_LOGGERS
from bot.platforms.discord.send import DiscordRest, DiscordSender, TokenRefused
from bot.platforms.discord.settings import DiscordSettings
from digest.errors import ConfigError, DeliveryError
from digest.models import Platform, Reply
from digest.redaction import scrub_line

__all__ = ["INTERACTIONS_PATH", "DiscordReceiver"]

log = logging.getLogger(__name__)

INTERACTIONS_PATH = "/discord/interactions"
_PING, _COMMAND, _COMPONENT = 1, 2, 3
_PONG, _DEFERRED, _DEFERRED_UPDATE = 1, 5, 6


class DiscordReceiver:
    """Discord's interactions, answered by the conversation."""

    platform: Platform = "discord"

    def __init__(
        self,
        deps: ReceiverDeps,
        own: DiscordSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not own.can_receive:
            raise ConfigError(
                "receiving from Discord needs PAPERDROP_DISCORD_BOT_TOKEN, "
                "PAPERDROP_DISCORD_APPLICATION_ID and PAPERDROP_DISCORD_PUBLIC_KEY"
            )
        self._deps = deps
        self._own = own
        self._verifier = Verifier(own.public_key, own.signature_max_age)
        self._clock = clock
        timeout = deps.settings.http_timeout
        self.rest = DiscordRest(own, timeout=timeout)
        self._bot: DiscordSender = (
            deps.sender
            if isinstance(deps.sender, DiscordSender)
            else DiscordSender(own, timeout=timeout)
        )
        self._own_bot = not isinstance(deps.sender, DiscordSender)
        mask_webhook_tokens(SDK_LOGGERS)
        self._started = False
        self._stopped = False
        self.bot_user_id: str | None = None

    def __repr__(self) -> str:  # never show the token
        return "DiscordReceiver()"

    @property
    def running(self) -> bool:
        """Taking interactions (for /readyz): the bot user answered, and not stopped."""
        return self._started and not self._stopped

    # --- the Receiver protocol -------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [("POST", INTERACTIONS_PATH, self.handle_http)]

    async def start(self) -> None:
        """Ask who the bot is (serve tries again with backoff when this raises; a refused
        token is a ConfigError), then register the slash commands."""
        self._stopped = False
        try:
            me = await self.rest.call("GET", "/users/@me", route="me", chat="-")
        except TokenRefused:
            raise ConfigError(
                "Discord refused the bot token: check PAPERDROP_DISCORD_BOT_TOKEN"
            ) from None
        self.bot_user_id = str(me.get("id")) if isinstance(me, dict) else None
        if self._own.register_commands:
            await self._register_commands()
        self._started = True
        log.info("discord: receiving interactions at %s", INTERACTIONS_PATH)

    async def _register_commands(self) -> None:
        """The slash commands from the registry; a failure only leaves them stale."""
        path = f"/applications/{self._own.application_id}/commands"
        try:
            await self._bot.retried(
                lambda: self.rest.call(
                    "PUT", path, route="commands", chat="-", body=application_commands()
                ),
                "-",
            )
        except DeliveryError as exc:
            log.warning("discord: slash commands not registered: %s", exc.reason)

    async def stop(self) -> None:
        self._stopped = True
        await self.rest.aclose()
        if self._own_bot:
            await self._bot.aclose()

    # --- HTTP -----------------------------------------------------------------------------

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """POST /discord/interactions."""
        body = await request.read()
        signature = request.headers.get("X-Signature-Ed25519", "")
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        if not self._verifier.check(signature, timestamp, body, self._clock()):
            log.warning("discord: refused an unsigned or stale request from %s", request.remote)
            return web.Response(status=401, text="invalid request signature")
        if self._stopped:
            return web.Response(status=503, text="shutting down")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="not an interaction")
        kind = payload.get("type")
        if kind == _PING:
            return web.json_response({"type": _PONG})
        if kind == _COMMAND:
            self._spawn(payload, command_incoming(payload), deferred=True)
            return web.json_response({"type": _DEFERRED})
        if kind == _COMPONENT:
            inc = click_incoming(payload)
            if inc is not None:
                self._spawn(payload, inc, deferred=False)
            return web.json_response({"type": _DEFERRED_UPDATE})
        return web.Response(status=400, text="unsupported interaction type")

    # --- answering ----------------------------------------------------------------------

    def _spawn(self, payload: Mapping[str, Any], inc: Incoming, *, deferred: bool) -> None:
        sender = InteractionSender(
            self.rest,
            self._bot,
            application_id=self._own.application_id,
            token=str(payload.get("token") or ""),
            deferred=deferred,
        )
        admin = is_admin(payload)

        async def check() -> bool:
            return admin

        self._deps.conversation.spawn(self._answer(inc, sender, check))

    async def _answer(self, inc: Incoming, sender: InteractionSender, admin: AdminCheck) -> None:
        async def post(answer: Answer) -> bool:
            return await self._post(inc, answer, sender)

        # The interaction's token is only here: answered by this process, not a worker.
        await self._deps.conversation.respond(inc, sender, is_admin=admin, post=post, queue=False)

    async def _post(self, inc: Incoming, answer: Answer, sender: InteractionSender) -> bool:
        """A notice (a click's "thanks") or a private answer: seen by the asker only.
        False: the conversation sends it (and remembers what it is about)."""
        private = answer.notice or (isinstance(answer.doc, Reply) and answer.doc.private)
        if not private:
            return False
        await sender.drop_original(inc.chat_id)
        for msg in render_discord(answer.doc):
            body = msg.payload["message"] if msg.method == "thread" else msg.payload
            try:
                await sender.webhook(body, chat=inc.chat_id, ephemeral=True)
            except DeliveryError as exc:
                # Never in the channel instead: a private note is dropped, not shown to all.
                reason = scrub_line(exc.reason, [self._own.token])
                log.info("discord: a private answer was not delivered: %s", reason)
                break
        return True
