"""The chain an event goes through: the request, the middleware type, and how they link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.core.chat import Answer, Incoming, Post
from bot.core.ports import AdminCheck, Sender
from digest.models import Reply
from handlers.context import HandlerContext, ThreadContext

__all__ = ["Middleware", "Next", "Request", "Route", "chain"]


@dataclass(frozen=True)
class Route:
    """The command an event asks for, as `Router` found it."""

    name: str
    args: str
    limited: bool = False  # it may call the LLM: counted against the user's and chat's limits
    thread: ThreadContext | None = None  # a question in a thread: the answer joins its history
    question: str = ""


@dataclass
class Request:
    """One event on its way: what the receiver gave, and what the middlewares found out
    on the way (the handler's context, the command it asks for)."""

    incoming: Incoming
    sender: Sender | None = None  # None: the answers are returned, not sent (`handle`)
    is_admin: AdminCheck | None = None
    post: Post | None = None  # may take an answer over (a Slack response_url)
    queue: bool = True  # an LLM-heavy message may go to a fleet's workers
    redeliverable: bool = False  # the platform delivers it again if it is not answered
    _ctx: HandlerContext | None = field(default=None, repr=False)
    _route: Route | None = field(default=None, repr=False)

    @property
    def ctx(self) -> HandlerContext:
        """The handler's context (set by `Context`; read by the middlewares after it)."""
        if self._ctx is None:
            raise LookupError("no handler context yet: Context comes earlier in the chain")
        return self._ctx

    @ctx.setter
    def ctx(self, ctx: HandlerContext) -> None:
        self._ctx = ctx

    @property
    def route(self) -> Route:
        """The command asked for (set by `Router`; read by the middlewares after it)."""
        if self._route is None:
            raise LookupError("no route yet: Router comes earlier in the chain")
        return self._route

    @route.setter
    def route(self, route: Route) -> None:
        self._route = route

    @property
    def notice(self) -> bool:
        """A click is answered by a toast (or an ephemeral note), whatever the outcome."""
        return self.incoming.button is not None

    @property
    def reply_to(self) -> str | None:
        """Where answers go: into the message's thread in a group or a thread, else plain."""
        inc = self.incoming
        if self.notice or not (inc.is_group or inc.thread_refs):
            return None
        return inc.reply_ref

    def say(self, text: str) -> list[Answer]:
        """`text` as the one answer, in the chat's language."""
        reply = Reply.text(self.ctx.language, text)
        return [Answer(reply, reply_to=self.reply_to, notice=self.notice)]


# The rest of the chain, as a middleware sees it; the chain's end is one too.
Next = Callable[[Request], Awaitable[list[Answer]]]
# A middleware may answer itself (not calling `call_next`), call it once, or again.
Middleware = Callable[[Request, Next], Awaitable[list[Answer]]]


def chain(middlewares: Sequence[Middleware], end: Next) -> Next:
    """`end` wrapped in `middlewares`, the first one outermost."""
    run = end
    for middleware in reversed(middlewares):
        run = _link(middleware, run)
    return run


def _link(middleware: Middleware, call_next: Next) -> Next:
    async def step(req: Request) -> list[Answer]:
        return await middleware(req, call_next)

    return step
