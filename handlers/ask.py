"""A question in a pick's thread (or about a /paper card, or `paperdrop ask`), answered
in that thread, grounded in that paper: the passages of its full text that best match
the question, with the sections they came from, and the thread's last messages; its
abstract and shared summary when the full text cannot be read (and the answer says so).

In a thread that holds several picks (a threaded brief's head on Slack or Feishu), the
question names its paper by number ("#2 …"), arXiv id or title words; otherwise the bot
asks which one."""

from __future__ import annotations

import re

from digest.asking import answer_question
from digest.deeper import read_from_note
from digest.errors import InvalidPaperId
from digest.fulltext.model import FullText
from digest.i18n import label
from digest.ids import parse_arxiv_id
from digest.models import Document, Item, Reply, Section, TextItem
from digest.summarize import PROMPT_VERSION
from handlers.context import Args, HandlerContext, UsageError
from handlers.paper import PaperWithdrawn, find_paper, read_full_text
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
    try:
        paper, _ = await find_paper(paper_id, settings=ctx.settings, store=ctx.store)
    except PaperWithdrawn:
        raise UsageError(
            ctx.t(f"{paper_id} was withdrawn by its authors.", f"{paper_id} 已被作者撤回。")
        ) from None
    text = await read_full_text(paper_id, None, settings=ctx.settings, store=ctx.store)
    summary = await ctx.store.get_summary(paper.paper_id, ctx.language, PROMPT_VERSION)
    history = ctx.thread.history if ctx.thread else []
    answer, _usage = await answer_question(
        paper,
        question,
        summary=summary.contribution if summary else (paper.ai_summary or ""),
        history=history,
        language=ctx.language,
        llm=ctx.llm,
        text=text if isinstance(text, FullText) else None,
        budget=ctx.settings.fulltext_tokens,
    )
    items: list[Item] = [TextItem(text=answer.text, sources=answer.sources)]
    if not isinstance(text, FullText):
        # Say why the answer could only use the abstract.
        note = f"{label('read_from', ctx.language)}: {read_from_note(text, ctx.language)}"
        items.append(TextItem(text=note))
    return Reply(
        language=ctx.language,
        sections=[Section(kind="text", title="", items=items)],
        paper_id=paper.paper_id,
    )
