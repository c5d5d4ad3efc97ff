"""`/watch`, `/watching`, `/unwatch`: papers this chat wants news of.

A watched paper is checked daily by the scheduler (`bot.delivery.watching`); the chat is told once
when it gets its first code repository, a new arXiv version, or a big jump in Hugging
Face upvotes. Watches expire after `PAPERDROP_WATCH_DAYS` (90) days; watching a paper
again renews it.
"""

from __future__ import annotations

import datetime as dt

from digest.errors import PaperNotFound, SourceError
from digest.models import Document, Reply, Section, TextItem
from digest.watch import MAX_WATCHES, Watch, add_watch, get_watches, remove_watch
from handlers.context import Args, HandlerContext, UsageError
from handlers.paper import PaperWithdrawn, find_paper, resolve_target
from handlers.registry import command

__all__ = ["unwatch", "watch", "watching"]


def _in_a_chat(ctx: HandlerContext) -> None:
    if ctx.chat.platform is None:
        raise UsageError("watches are told in a chat: use /watch there")


@command(
    "watch",
    usage="<arXiv id | item number>",
    zh="关注一篇论文:首次出现代码仓库、arXiv 新版本或 HF 点赞大涨时通知这里",
)
async def watch(ctx: HandlerContext, args: Args) -> Document:
    """Tell this chat when a paper gets code, a new version, or many more upvotes."""
    _in_a_chat(ctx)
    assert ctx.chat.platform is not None
    bare = await resolve_target(ctx, args.text)
    try:
        paper, _ = await find_paper(bare, settings=ctx.settings, store=ctx.store)
    except (PaperNotFound, PaperWithdrawn):
        raise UsageError(ctx.t(f"arXiv has no paper {bare}.", f"arXiv 上没有 {bare}。")) from None
    except SourceError:
        paper = None  # unreachable now: the first daily check fills the baseline in
    now = ctx.now()
    days = ctx.settings.watch_days
    repo = (paper.github_repo or paper.repo_in_text) if paper else None
    outcome = await add_watch(
        ctx.store,
        Watch(
            paper_id=bare,
            title=paper.title if paper else "",
            platform=ctx.chat.platform,
            chat_id=ctx.chat.chat_id,
            since=now,
            expires=now + dt.timedelta(days=days),
            version=paper.version if paper else None,
            repo=repo,
            upvotes=paper.upvotes if paper else None,
        ),
    )
    if outcome == "full":
        raise UsageError(
            ctx.t(
                f"This chat already watches {MAX_WATCHES} papers: /unwatch one first.",
                f"这个聊天已关注 {MAX_WATCHES} 篇论文:请先 /unwatch 一篇。",
            )
        )
    name = f"{bare} ({paper.title})" if paper else bare
    jump = ctx.settings.watch_upvote_jump
    if outcome == "renewed":
        return Reply.text(
            ctx.language,
            ctx.t(
                f"Still watching {name}: renewed for {days} days.",
                f"继续关注 {name}:续期 {days} 天。",
            ),
        )
    code = (
        ctx.t("a new arXiv version", "arXiv 新版本")
        if repo
        else ctx.t(
            "its first code repository, a new arXiv version", "首次出现代码仓库、arXiv 新版本"
        )
    )
    return Reply.text(
        ctx.language,
        ctx.t(
            f"Watching {name} for {days} days: I will tell this chat once when it gets {code}, "
            f"or {jump} more upvotes on Hugging Face.",
            f"已关注 {name}(为期 {days} 天):当它{code}或在 Hugging Face 上新增 {jump} 个赞时,"
            "我会在这里通知一次。",
        ),
    )


@command("watching", zh="列出这个聊天关注的论文")
async def watching(ctx: HandlerContext, args: Args) -> Document:
    """List the papers this chat watches."""
    now = ctx.now()
    watches = [w for w in await get_watches(ctx.store, ctx.chat.key) if w.expires > now]
    if not watches:
        return Reply.text(
            ctx.language,
            ctx.t(
                "This chat watches no paper. /watch 2605.06614 (or an item number) starts one.",
                "这个聊天没有关注任何论文。发送 /watch 2605.06614(或条目序号)开始关注。",
            ),
        )
    lines = []
    for w in watches:
        left = max(0, (w.expires - now).days)
        title = f" — {w.title}" if w.title else ""
        told = ctx.t(" (told: ", "(已通知:") + ", ".join(w.told) + ")" if w.told else ""
        lines.append(
            TextItem(
                text=f"• {w.paper_id}{title}"
                + ctx.t(f", {left} days left", f",剩 {left} 天")
                + told
            )
        )
    return Reply(
        language=ctx.language,
        title=ctx.t("Watched papers", "关注的论文"),
        sections=[Section(kind="text", title="", items=list(lines))],
    )


@command("unwatch", usage="<arXiv id | item number | all>", zh="取消关注一篇论文(或 all)")
async def unwatch(ctx: HandlerContext, args: Args) -> Document:
    """Stop watching a paper (or all of them)."""
    if args.text.strip().lower() == "all":
        gone = await get_watches(ctx.store, ctx.chat.key)
        for w in gone:
            await remove_watch(ctx.store, ctx.chat.key, w.paper_id)
        return Reply.text(
            ctx.language, ctx.t(f"Stopped {len(gone)} watches.", f"已取消 {len(gone)} 项关注。")
        )
    bare = await resolve_target(ctx, args.text)
    if await remove_watch(ctx.store, ctx.chat.key, bare):
        return Reply.text(ctx.language, ctx.t(f"Stopped watching {bare}.", f"已取消关注 {bare}。"))
    return Reply.text(
        ctx.language, ctx.t(f"This chat does not watch {bare}.", f"这个聊天没有关注 {bare}。")
    )
