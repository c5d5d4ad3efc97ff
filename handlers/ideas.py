"""`/ideas [topic]`: three research ideas grounded in this chat's recent briefs (or in
today's Hugging Face papers when the chat has none), each citing the papers it builds on,
with a first experiment. Without an LLM it says plainly that ideas need one."""

from __future__ import annotations

from digest.chatstate import last_briefs
from digest.deeper import research_ideas
from digest.errors import LLMError, SourceError
from digest.models import Document, Paper, PaperItem, Reply, Section
from digest.pipeline import http_client
from digest.profile import Profile
from digest.ranking import rank
from digest.sources.hf import HuggingFaceSource
from handlers.context import Args, HandlerContext, Unavailable, UsageError
from handlers.registry import command

__all__ = ["ideas"]

MAX_PAPERS = 12  # grounding sent to the LLM
MAX_TOPIC = 200


def _as_paper(item: PaperItem) -> Paper:
    return Paper(
        paper_id=item.paper_id,
        title=item.title,
        abstract=f"{item.contribution} {item.why}",
        authors=item.authors,
        published=item.date,
    )


def _as_item(paper: Paper) -> PaperItem:
    first = paper.ai_summary or (paper.abstract.split(". ")[0] if paper.abstract else "")
    return PaperItem(
        paper_id=paper.paper_id, title=paper.title, links=paper.links(), contribution=first
    )


async def _grounding(ctx: HandlerContext, topic: str) -> list[PaperItem]:
    items: dict[str, PaperItem] = {}
    for brief in await last_briefs(ctx.store, ctx.chat.key):
        for item in brief.items:
            items.setdefault(item.paper_id, item)
    if not items:
        async with http_client(ctx.settings) as client:
            hf = HuggingFaceSource(ctx.settings, client)
            day = ctx.now().date()
            papers = await hf.daily(day)
            if not papers:
                import datetime as dt

                papers = await hf.daily(day - dt.timedelta(days=1))
        items = {p.paper_id: _as_item(p) for p in papers}
    pool = list(items.values())
    if not topic:
        return pool[:MAX_PAPERS]
    probe = Profile(name="topic", interests=[topic])
    ranked = rank([_as_paper(i) for i in pool], probe, today=ctx.now().date())
    matched = [r.paper.paper_id for r in ranked if r.matched]
    return [items[pid] for pid in matched][:MAX_PAPERS]


@command("ideas", usage="[topic]", zh="基于近期论文的三个研究 idea(可指定主题)", llm=True)
async def ideas(ctx: HandlerContext, args: Args) -> Document:
    """Three research ideas grounded in recent papers (optionally on a topic)."""
    if ctx.llm is None:
        raise Unavailable(
            ctx.t(
                "Research ideas need an LLM, and this bot runs without one; /paper still "
                "works with the abstracts' own sentences.",
                "生成研究 idea 需要 LLM,而这个机器人没有配置 LLM;/paper 仍可用摘要原文解读论文。",
            )
        )
    topic = " ".join(args.text.split())[:MAX_TOPIC]
    try:
        papers = await _grounding(ctx, topic)
    except SourceError as exc:
        raise UsageError(
            ctx.t(
                f"No recent papers to build on: Hugging Face failed ({exc.reason}).",
                f"没有可依据的近期论文:Hugging Face 查询失败({exc.reason})。",
            )
        ) from None
    if not papers:
        raise UsageError(
            ctx.t(
                f"No recent paper matches “{topic}”: try a broader topic, or /ideas alone.",
                f"近期论文中没有与“{topic}”相关的:换个更宽的主题,或直接发送 /ideas。",
            )
        )
    ctx.say(f"asking for ideas from {len(papers)} papers")
    try:
        found, _usage = await research_ideas(
            papers,
            interests=ctx.profile.interests,
            topic=topic,
            language=ctx.language,
            llm=ctx.llm,
        )
    except LLMError:
        # Down, timed out, or answering no usable JSON: the reader gets one clear line.
        raise Unavailable(
            ctx.t(
                "The LLM did not give usable ideas just now (it failed or answered "
                "garbage); try /ideas again later.",
                "LLM 暂时没有给出可用的 idea(调用失败或回答无法解析),请稍后再发 /ideas。",
            )
        ) from None
    if not found:
        raise Unavailable(
            ctx.t(
                "The LLM gave no idea grounded in these papers; try another topic.",
                "LLM 没有给出基于这些论文的 idea,换个主题试试。",
            )
        )
    title = ctx.t("Research ideas", "研究 idea") + (f" · {topic}" if topic else "")
    return Reply(
        language=ctx.language,
        title=title,
        sections=[Section(kind="ideas", title="", items=list(found))],
    )
