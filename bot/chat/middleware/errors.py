"""A command's failure becomes one clear line to the chat; a crash, "something went wrong"
(logged with its traceback); an outage or a deferral is passed on."""

from __future__ import annotations

import logging

from bot.chat import replies
from bot.chat.middleware.chain import Next, Request
from bot.chat.middleware.crashes import log_failure
from bot.core.chat import Answer
from bot.core.intake import Deferred
from digest.errors import InvalidPaperId, PaperNotFound, SourceError, StoreError
from handlers.context import UsageError

__all__ = ["errors"]

log = logging.getLogger(__name__)


async def errors(req: Request, call_next: Next) -> list[Answer]:
    """Around the command: what the handler (or the admin check, or the limiter) raised,
    told to the chat in its language."""
    try:
        return await call_next(req)
    except (StoreError, Deferred):
        raise  # the Store down, or the platform's redelivery: not this command's fault
    except UsageError as exc:
        return req.say(str(exc))
    except InvalidPaperId as exc:
        return req.say(replies.bad_id(req.ctx.language, exc))
    except PaperNotFound as exc:
        return req.say(replies.not_found(req.ctx.language, exc.paper_id))
    except SourceError as exc:
        log.warning("source failed for a command: %s", exc, extra={"source": exc.source})
        return req.say(replies.sources_down(req.ctx.language))
    except Exception:
        log_failure(log, "command failed", req.incoming)
        return req.say(replies.went_wrong(req.ctx.language))
