"""A question in a pick's thread (or about a /paper card), answered in that thread,
grounded in that paper: its abstract, its shared summary and the thread's last messages.

In a thread that holds several picks (a threaded brief's head on Slack or Feishu), the
question names its paper by number ("#2 …"), arXiv id or title words; otherwise the bot
asks which one."""

from __future__ import annotations

import re

from digest.deeper import answer_question
from digest.errors import InvalidPaperId
from digest.ids import parse_arxiv_id
from digest.models import Document, Reply, Section, TextItem
from digest.summarize import PROMPT_VERSION
from handlers.context import Args, HandlerContext, UsageError
from handlers.paper import find_paper
from handlers.registry import command

__all__ = ["ask"]

_NUMBER = re.compile(r"^\s*(?:#|no\.?\s*|第)?(\d{1,2})(?:篇|[.):：:])?\s")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]{2,}")


async def _which(ctx: HandlerContext, question: str) -> str | None:
    thread = ctx.thread
    if thread is None:
        return None
    if thread.paper_id:
        return thread.paper_id
    papers = thread.papers
    if not papers:
        return None
    if len(papers) == 1:
        return papers[0]
    m = _NUMBER.match(question + " ")
    if m and 1 <= int(m.group(1)) <= len(papers):
        return papers[int(m.group(1)) - 1]
    for word in question.split():
        try:
            bare = parse_arxiv_id(word.strip("()[],.;"))
        except InvalidPaperId:
            continue
        if bare in papers:
            return bare
    return None


@command("ask", hidden=True, llm=True)
async def ask(ctx: HandlerContext, args: Args) -> Document:
    """Answer a question about the paper a thread is about."""
    question = args.text.strip()
    paper_id = await _which(ctx, question)
    if paper_id is None:
        raise UsageError(
            ctx.t(
                "Which pick is this about? Reply to its message, or start with its number "
                "(e.g. “#2 how is it trained?”).",
                "这是关于哪一篇的?请直接回复那篇的消息,或以序号开头(如“#2 它是怎么训练的?”)。",
            )
        )
    paper, _ = await find_paper(paper_id, settings=ctx.settings, store=ctx.store)
    summary = await ctx.store.get_summary(paper.paper_id, ctx.language, PROMPT_VERSION)
    history = ctx.thread.history if ctx.thread else []
    answer, _usage = await answer_question(
        paper,
        question,
        summary=summary.contribution if summary else (paper.ai_summary or ""),
        history=history,
        language=ctx.language,
        llm=ctx.llm,
    )
    return Reply(
        language=ctx.language,
        sections=[Section(kind="text", title="", items=[TextItem(text=answer)])],
        paper_id=paper.paper_id,
    )
