"""👍 / 👎 on a paper (a button click): stored per chat, moving the chat's next ranking.

The same vote twice counts once; the other vote replaces it. Votes train the chat's model
(`digest.learning`) once it has 5 positives; `/interests` shows what it learned. The
paper's text is kept with the reader's papers, so the vote keeps its meaning later.
"""

from __future__ import annotations

from digest.chatstate import Vote, get_paper, last_briefs, vote
from digest.errors import InvalidPaperId
from digest.ids import parse_arxiv_id
from digest.models import Document, Reply
from digest.reader import put_reader_papers, reader_profile
from handlers.context import Args, HandlerContext, UsageError
from handlers.registry import command

__all__ = ["feedback"]


@command("feedback", hidden=True)
async def feedback(ctx: HandlerContext, args: Args) -> Document:
    """Record a 👍 or 👎 on a paper."""
    direction, _, raw_id = args.text.partition(":")
    try:
        paper_id = parse_arxiv_id(raw_id)
    except InvalidPaperId:
        raise UsageError(ctx.t("That button is no longer valid.", "这个按钮已失效。")) from None
    if direction not in ("up", "down"):
        raise UsageError(ctx.t("That button is no longer valid.", "这个按钮已失效。"))
    value = 1 if direction == "up" else -1
    paper = await get_paper(ctx.store, paper_id)
    title = paper.title if paper else ""
    if paper is not None:
        await put_reader_papers(ctx.store, [paper])  # its text outlives the day's cache
    else:
        for brief in await last_briefs(ctx.store, ctx.chat.key):
            item = next((i for i in brief.items if i.paper_id == paper_id), None)
            if item is not None:
                title = item.title
                break
    outcome = await vote(
        ctx.store, ctx.chat.key, Vote(paper_id=paper_id, value=value, at=ctx.now(), title=title)
    )
    if outcome == "same":
        return Reply.text(ctx.language, ctx.t("Already noted — thanks.", "已经记下了,谢谢。"))
    if value > 0:
        text = ctx.t("Thanks! More like this in your next briefs.", "收到!之后会多推荐这类论文。")
    else:
        text = ctx.t("Noted: fewer like this from now on.", "收到:之后会少推荐这类论文。")
    missing = (await reader_profile(ctx.store, ctx.chat.key, ctx.profile)).evidence.missing
    if missing > 0:
        text += ctx.t(
            f" ({missing} more 👍 and your brief starts learning from them.)",
            f"(再有 {missing} 个 👍,简报就会开始从中学习。)",
        )
    return Reply.text(ctx.language, text)
