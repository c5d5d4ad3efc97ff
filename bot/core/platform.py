"""What every platform adapter provides: the adapter and the receiver interfaces, and how a
platform declares its settings and its subscription options.

An adapter package imports only the rooms below it (`bot.render`, `bot.core`), never the
conversation or delivery engines: those call it through this interface.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeAlias, TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.chat import ReceiverDeps
from bot.core.messages import OutMessage
from bot.core.ports import Sender, Sleep
from bot.core.ratelimit import Limiter, RateKeys
from digest.models import Document, Subscription
from digest.settings import Settings

if TYPE_CHECKING:  # a type only: aiohttp's server is imported by the receivers that serve
    from aiohttp import web

__all__ = [
    "NoSettings",
    "Option",
    "PlatformAdapter",
    "Receiver",
    "Route",
    "platform_settings",
    "platform_settings_config",
]

S = TypeVar("S", bound=BaseSettings)


def platform_settings_config(name: str) -> SettingsConfigDict:
    """The settings of platform `name`: variables PAPERDROP_<NAME>_…, from the environment
    and `.env`, like the core's."""
    return SettingsConfigDict(
        env_prefix=f"PAPERDROP_{name.upper()}_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )


def platform_settings(settings: Settings, name: str, cls: type[S]) -> S:
    """Platform `name`'s settings: the ones given in `settings.platforms`, else read from
    the environment (once for these settings, kept in them)."""
    given = settings.platforms.get(name)
    if isinstance(given, cls):
        return given
    loaded = cls()
    settings.platforms[name] = loaded
    return loaded


class NoSettings(BaseSettings):
    """The settings of a platform that needs none."""


@dataclass(frozen=True)
class Option:
    """A subscription option a platform takes (`subscribe --option NAME=VALUE`, and
    `--flag VALUE` when it has one), kept in `Subscription.options`."""

    name: str
    help: str
    secret: bool = False  # never shown: `subscriptions` masks it, logs never see it
    flag: str | None = None  # its own `subscribe` flag, e.g. "--webhook"


class PlatformAdapter(abc.ABC):
    """One platform: how to render for it, send to it, receive from it, and its rules.

    Registered once in `bot.platforms.PLATFORMS`; nothing else dispatches on a platform
    name.
    """

    name: ClassVar[str]  # its registry name, lower case: "telegram"
    title: ClassVar[str]  # as people write it: "Telegram"
    chat_id_pattern: ClassVar[re.Pattern[str]]
    chat_id_help: ClassVar[str]  # what a chat id looks like there
    # Its credentials and endpoints (`platform_settings_config(name)`), read through
    # `platform_settings`; README.md and `.env.example` list every field.
    settings_class: ClassVar[type[BaseSettings]] = NoSettings
    # The subscription options it takes (none by default); `check_options` validates them.
    options: ClassVar[tuple[Option, ...]] = ()

    @abc.abstractmethod
    def render(self, doc: Document, sub: Subscription) -> list[OutMessage]:
        """The document as this platform's requests, for this subscription's options."""

    def render_key(self, sub: Subscription) -> str:
        """What of a subscription changes its rendering: chats with the same key (and the
        same brief) share one rendering."""
        return f"threads={sub.threads}"

    def has_message_id(self, ref: str) -> bool:
        """Whether a sent message's reference names a message one can reply to (a thread
        is remembered under it)."""
        return True

    @abc.abstractmethod
    def make_sender(self, settings: Settings, *, limiter: Limiter | None, sleep: Sleep) -> Sender:
        """A sender; ConfigError when the platform's credentials are missing."""

    @abc.abstractmethod
    def rate_keys(self, sub: Subscription) -> RateKeys:
        """The client-side rate limits a send to this subscription's chat counts against."""

    @abc.abstractmethod
    def configured(self, settings: Settings) -> bool:
        """Credentials to send (and receive) are set."""

    def can_deliver(self, sub: Subscription, settings: Settings) -> bool:
        """Whether a brief can be sent to this subscription with these settings."""
        return self.configured(settings)

    def check_options(self, options: dict[str, str]) -> str | None:
        """Why these subscription options cannot be used here (unknown, malformed), or
        None. The message never quotes a secret option's value."""
        known = {o.name for o in self.options}
        unknown = sorted(set(options) - known)
        if unknown:
            takes = ", ".join(sorted(known)) if known else "none"
            return f"{self.title} takes no option {', '.join(unknown)} (its options: {takes})"
        return None

    def check_subscription(self, sub: Subscription, settings: Settings) -> str | None:
        """Why this subscription cannot work here, or None."""
        return None

    def preview_subscription(self, sub: Subscription, variant: str | None) -> Subscription:
        """A stand-in subscription for `render` and `push --dry-run` previews: `variant`
        is one of `preview_variants` (None: the first, the setup that needs least)."""
        return sub

    # What `render --variant` offers (e.g. Feishu's "webhook" and "app" payloads).
    preview_variants: ClassVar[tuple[str, ...]] = ()

    def make_receiver(self, deps: ReceiverDeps) -> Receiver | None:
        """The receiver for `serve`, or None when its credentials are not set."""
        return None


Route: TypeAlias = "tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]"


class Receiver(Protocol):
    """Receives a platform's events and answers them through the conversation."""

    platform: str

    def routes(self) -> list[Route]:
        """(method, path, handler) for the shared HTTP server (webhook modes), or []."""
        ...

    async def start(self) -> None:
        """Connect (long polling, socket, long connection) or register the webhook."""
        ...

    async def stop(self) -> None:
        """Stop taking events; in-flight answers are finished by the conversation."""
        ...
