"""👍 / 👎 on a paper (a button click): stored per chat, moving the chat's next ranking.

The same vote twice counts once; the other vote replaces it. What a vote teaches is the
interests the paper matched for this chat, its authors and its categories
(`digest.chatstate.learned_weights`); `/interests` shows it.
"""

from __future__ import annotations

from digest.chatstate import Vote, get_paper, last_briefs, vote
from digest.errors import InvalidPaperId
from digest.ids import parse_arxiv_id
from digest.models import Document, Reply
from digest.ranking import rank
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
    interests: list[str] = []
    authors: list[str] = []
    categories: list[str] = []
    if paper is not None:
        ranked = rank(
            [paper], ctx.profile.model_copy(update={"boosts": {}}), today=ctx.now().date()
        )
        interests = ranked[0].matched if ranked else []
        authors = paper.authors[:5]
        categories = [c.casefold() for c in (paper.primary_category, *paper.categories) if c]
    else:
        for brief in await last_briefs(ctx.store, ctx.chat.key):
            item = next((i for i in brief.items if i.paper_id == paper_id), None)
            if item is not None:
                title, interests, authors = item.title, item.matched, item.authors[:5]
                break
    outcome = await vote(
        ctx.store,
        ctx.chat.key,
        Vote(
            paper_id=paper_id,
            value=value,
            at=ctx.now(),
            title=title,
            interests=interests,
            authors=authors,
            categories=list(dict.fromkeys(categories)),
        ),
    )
    if outcome == "same":
        text = ctx.t("Already noted — thanks.", "已经记下了,谢谢。")
    elif value > 0:
        text = ctx.t("Thanks! More like this in your next briefs.", "收到!之后会多推荐这类论文。")
    else:
        text = ctx.t("Noted: fewer like this from now on.", "收到:之后会少推荐这类论文。")
    return Reply.text(ctx.language, text)
