"""The conversation's middlewares: one concern each, linked by `chain` around `dispatch`."""

from bot.chat.middleware.admin import admin
from bot.chat.middleware.chain import Middleware, Next, Request, Route, chain
from bot.chat.middleware.context import Context, handler_context
from bot.chat.middleware.crashes import crashes
from bot.chat.middleware.dedupe import Dedupe
from bot.chat.middleware.dispatch import dispatch
from bot.chat.middleware.errors import errors
from bot.chat.middleware.events import count_events
from bot.chat.middleware.flood import Flood
from bot.chat.middleware.handover import HandOver
from bot.chat.middleware.limits import Limits
from bot.chat.middleware.outage import Outage
from bot.chat.middleware.router import Router
from bot.chat.middleware.send import Send

__all__ = [
    "Context",
    "Dedupe",
    "Flood",
    "HandOver",
    "Limits",
    "Middleware",
    "Next",
    "Outage",
    "Request",
    "Route",
    "Router",
    "Send",
    "admin",
    "chain",
    "count_events",
    "crashes",
    "dispatch",
    "errors",
    "handler_context",
]
