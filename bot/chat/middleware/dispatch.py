"""The chain's end: the routed command's handler runs, counted and timed; its document is
the answer."""

from __future__ import annotations

import asyncio
import time

from bot.chat.middleware.chain import Request
from bot.core.chat import Answer
from bot.core.observability import record_command
from digest.errors import InvalidPaperId, PaperNotFound, SourceError
from digest.models import Document
from handlers.context import Args, HandlerContext, Unavailable, UsageError
from handlers.registry import COMMANDS

__all__ = ["dispatch", "run_command"]


async def dispatch(req: Request) -> list[Answer]:
    """The handler's document, where answers go (a click's: a notice)."""
    route = req.route
    doc = await run_command(req.ctx, route.name, route.args)
    return [
        Answer(
            doc,
            reply_to=req.reply_to,
            notice=req.notice,
            thread=route.thread,
            question=route.question,
        )
    ]


async def run_command(ctx: HandlerContext, name: str, args: str) -> Document:
    """Run the registered command `name`, counting its outcome and timing its handler."""
    started = time.perf_counter()
    outcome = "error"
    try:
        doc = await COMMANDS[name].handler(ctx, Args(args))
        outcome = "ok"
        return doc
    except Unavailable:
        outcome = "unavailable"
        raise
    except UsageError:
        outcome = "usage"
        raise
    except (InvalidPaperId, PaperNotFound):
        outcome = "bad_input"
        raise
    except SourceError:
        outcome = "source_error"
        raise
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    finally:
        record_command(name, outcome, time.perf_counter() - started)
