"""A fleet's LLM-heavy message is answered by a worker: enqueued here, not answered here."""

from __future__ import annotations

import dataclasses
import logging

from bot.chat.middleware.chain import Next, Request
from bot.core.chat import Answer, AnswerQueue, Incoming, event_key, parse_command
from digest.ids import is_arxiv_id
from digest.settings import Settings
from handlers.registry import COMMANDS

__all__ = ["HandOver", "heavy"]

log = logging.getLogger(__name__)


class HandOver:
    """With a job queue (serve in a fleet), unless the caller answers here (`queue` False:
    a worker's own call, or an answer only this receiver can post)."""

    def __init__(self, jobs: AnswerQueue | None, settings: Settings) -> None:
        self._jobs = jobs
        self._settings = settings

    async def __call__(self, req: Request, call_next: Next) -> list[Answer]:
        inc, jobs, limit = req.incoming, self._jobs, self._settings.max_input_chars
        if req.queue and jobs is not None and heavy(inc, limit) and await _enqueue(jobs, inc):
            return []
        return await call_next(req)


async def _enqueue(jobs: AnswerQueue, inc: Incoming) -> bool:
    """Enqueue the answer to `inc` for a worker (its event is claimed here, so the job
    carries none); False when the queue is unreachable: answered here instead."""
    unclaimed = dataclasses.replace(inc, event_id=None)
    try:
        await jobs.enqueue_answer(unclaimed, key=event_key(inc))
    except Exception as exc:
        log.warning("queue unreachable, answering here: %s", exc.__class__.__name__)
        return False
    return True


def heavy(inc: Incoming, max_input_chars: int) -> bool:
    """Whether answering `inc` costs LLM calls (/paper, /ideas, a question in a thread, a
    bare arXiv id in a DM): what a fleet's workers answer."""
    if inc.button is not None:
        return False
    text = inc.text.strip()
    if not text or len(text) > max_input_chars:
        return False
    parsed = parse_command(text, inc.bot_name)
    if parsed is None:
        return bool(inc.thread_refs) or (not inc.is_group and is_arxiv_id(text))
    cmd = COMMANDS.get(parsed[0])
    return cmd is not None and cmd.llm and not cmd.hidden
