"""Who asks, where, in which language and thread: the handler's context, found once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer, Incoming
from bot.core.ports import AdminCheck
from bot.core.profiles import chat_profile
from digest.chatstate import chat_language, thread_key
from digest.llm import LLM
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import Chat, HandlerContext, ThreadContext, User

__all__ = ["Context", "handler_context"]

BuildContext = Callable[[Incoming, AdminCheck | None], Awaitable[HandlerContext]]


class Context:
    """Sets `req.ctx` for the middlewares after it and the handler (a StoreError here is
    the Store down, not the command's fault)."""

    def __init__(self, build: BuildContext) -> None:
        self._build = build

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        req.ctx = await self._build(req.incoming, req.is_admin)
        return await call_next(req)


async def handler_context(
    settings: Settings,
    store: Store,
    inc: Incoming,
    is_admin: AdminCheck | None,
    *,
    llm: LLM | None,
    now: Callable[[], dt.datetime],
) -> HandlerContext:
    """The chat's subscription, language, profile and thread, read from the Store."""
    sub = await store.get_subscription(inc.platform, inc.chat_id)
    language = await chat_language(store, sub, inc.chat_key, settings.language)
    profile = await chat_profile(settings, store, inc.chat_key, sub, language)
    thread = await _thread(store, inc)
    return HandlerContext(
        settings=settings,
        store=store,
        chat=Chat(inc.platform, inc.chat_id, inc.is_group),
        user=User(inc.user_id, inc.user_name),
        subscription=sub,
        profile=profile,
        language=language,
        llm=llm,
        now=now,
        is_admin=is_admin or _no,
        thread=thread,
        command_prefix=inc.command_prefix,
    )


async def _thread(store: Store, inc: Incoming) -> ThreadContext | None:
    """The thread the message was sent in, by the nearest message the Store knows."""
    for ref in inc.thread_refs:
        key = thread_key(inc.platform, inc.chat_id, ref)
        data = await store.get_thread(key)
        if data is not None:
            return ThreadContext.from_json(key, data)
    return None


async def _no() -> bool:
    return False
