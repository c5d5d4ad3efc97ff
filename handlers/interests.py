"""`/interests`, `/follow`, `/unfollow`: what this chat reads, and what it taught.

    /interests                              interests, seed papers, followed authors, and
                                            what the model learned (terms for and against)
    /interests LLM agents; world models     set the interests
    /interests add <phrase> | add paper <id> | add author <name>
    /interests remove <phrase> | remove paper <id> | remove author <name>
    /interests reset-learning               forget 👍/👎 and asks (seeds and authors stay)
    /follow <author>, /unfollow <author>    the same as add / remove author

In groups, changes are for chat admins. Seed papers and followed authors the chat adds
are kept per chat (`digest.reader`) on top of those of its profile file.
"""

from __future__ import annotations

import re
from typing import Final

from digest.authors import MAX_NAME, clean_author, same_author
from digest.chatstate import get_prefs, save_prefs
from digest.errors import InvalidPaperId, PaperNotFound, SourceError
from digest.ids import parse_arxiv_id
from digest.learning import explain, model_weight
from digest.models import Document, Reply, Section, TextItem
from digest.profile import MAX_AUTHORS, MAX_PAPERS
from digest.reader import (
    forget_learning,
    get_reader,
    put_reader_papers,
    reader_papers,
    reader_profile,
    save_reader,
)
from handlers.context import Args, HandlerContext, UsageError
from handlers.paper import PaperWithdrawn, find_paper
from handlers.registry import command

__all__ = ["follow", "interests", "unfollow"]

MAX_INTERESTS: Final = 20
MAX_PHRASE: Final = 120
SHOWN_PAPERS: Final = 10  # seed papers listed by /interests
_LETTER = re.compile(r"[^\W\d_]")


async def _admin_only(ctx: HandlerContext) -> None:
    if ctx.chat.is_group and not await ctx.is_admin():
        raise UsageError(
            ctx.t(
                "Only chat admins can change the interests in a group.",
                "群聊中只有管理员可以修改兴趣。",
            )
        )


def _phrases(ctx: HandlerContext, text: str) -> list[str]:
    parts = [" ".join(p.split()) for p in re.split(r"[;；\n]", text)]
    if len(parts) == 1 and "," in text:
        parts = [" ".join(p.split()) for p in text.split(",")]
    items = list(dict.fromkeys(p for p in parts if p))
    if not items or len(items) > MAX_INTERESTS or any(len(p) > MAX_PHRASE for p in items):
        raise UsageError(
            ctx.t(
                f"Give 1–{MAX_INTERESTS} interests of at most {MAX_PHRASE} characters, "
                "separated by semicolons: /interests LLM agents; world models",
                f"请给出 1–{MAX_INTERESTS} 个兴趣,每个不超过 {MAX_PHRASE} 个字符,用分号分隔:"
                "/interests LLM agents; world models",
            )
        )
    return items


async def _save_interests(ctx: HandlerContext, phrases: list[str]) -> str:
    """Store the chat's interests; a note when they replace a profile file."""
    if ctx.subscription is not None:
        note = ""
        if ctx.subscription.profile_path:
            note = ctx.t(
                " (This replaces the subscription's profile file.)",
                "(这将替换订阅原来的画像文件。)",
            )
        updated = ctx.subscription.model_copy(update={"interests": phrases, "profile_path": None})
        await ctx.store.save_subscription(updated)
        return note
    prefs = await get_prefs(ctx.store, ctx.chat.key)
    await save_prefs(ctx.store, ctx.chat.key, prefs.model_copy(update={"interests": phrases}))
    return ""


# --- seed papers and authors ----------------------------------------------------------------


async def _add_paper(ctx: HandlerContext, raw: str) -> str:
    try:
        bare = parse_arxiv_id(raw)
    except InvalidPaperId:
        raise UsageError(
            ctx.t(
                f"“{raw[:60]}” is not an arXiv id: /interests add paper 2501.12948",
                f"“{raw[:60]}”不是 arXiv 编号:/interests add paper 2501.12948",
            )
        ) from None
    state = await get_reader(ctx.store, ctx.chat.key)
    if bare in state.papers or bare in ctx.profile.papers:
        return ctx.t(f"{bare} is already one of your papers.", f"{bare} 已在你的论文里。")
    if len(state.papers) >= MAX_PAPERS:
        raise UsageError(ctx.t(f"At most {MAX_PAPERS} papers.", f"最多 {MAX_PAPERS} 篇论文。"))
    title = ""
    try:
        found, _ = await find_paper(bare, settings=ctx.settings, store=ctx.store)
        await put_reader_papers(ctx.store, [found])
        title = f" ({found.title})"
    except (PaperNotFound, PaperWithdrawn):
        raise UsageError(
            ctx.t(f"arXiv has no paper {bare}.", f"arXiv 上没有 {bare} 这篇论文。")
        ) from None
    except SourceError:
        pass  # arXiv is unreachable: the paper is fetched when the next brief is built
    await save_reader(
        ctx.store, ctx.chat.key, state.model_copy(update={"papers": [*state.papers, bare]})
    )
    return ctx.t(
        f"Added {bare}{title} to your papers: briefs now rank papers like it higher.",
        f"已添加 {bare}{title}:之后的简报会优先推荐与它相近的论文。",
    )


async def _remove_paper(ctx: HandlerContext, raw: str) -> str:
    try:
        bare = parse_arxiv_id(raw)
    except InvalidPaperId:
        bare = raw.strip()[:60]
    state = await get_reader(ctx.store, ctx.chat.key)
    if bare in state.papers:
        papers = [p for p in state.papers if p != bare]
        await save_reader(ctx.store, ctx.chat.key, state.model_copy(update={"papers": papers}))
        return ctx.t(f"Removed {bare} from your papers.", f"已从你的论文中移除 {bare}。")
    if bare in ctx.profile.papers:
        return ctx.t(
            f"{bare} comes from the profile file: remove it there.",
            f"{bare} 来自画像文件:请在文件中删除。",
        )
    return ctx.t(f"{bare} is not one of your papers.", f"{bare} 不在你的论文里。")


def _author(ctx: HandlerContext, raw: str) -> str:
    name = clean_author(" ".join(raw.split()))
    if not _LETTER.search(name) or len(raw.strip()) > MAX_NAME:
        raise UsageError(
            ctx.t(
                f"Give an author's name (at most {MAX_NAME} characters): /follow Yoshua Bengio",
                f"请给出作者姓名(不超过 {MAX_NAME} 个字符):/follow Yoshua Bengio",
            )
        )
    return name


async def _follow(ctx: HandlerContext, raw: str) -> str:
    name = _author(ctx, raw)
    state = await get_reader(ctx.store, ctx.chat.key)
    known = [*ctx.profile.authors, *state.authors]
    same = next((a for a in known if same_author(a, name)), None)
    if same is not None:
        return ctx.t(f"You already follow {same}.", f"你已经关注了 {same}。")
    if len(state.authors) >= MAX_AUTHORS:
        raise UsageError(
            ctx.t(f"At most {MAX_AUTHORS} authors.", f"最多关注 {MAX_AUTHORS} 位作者。")
        )
    await save_reader(
        ctx.store, ctx.chat.key, state.model_copy(update={"authors": [*state.authors, name]})
    )
    return ctx.t(
        f"Following {name}: their new papers are always in your brief, marked as theirs.",
        f"已关注 {name}:其新论文会始终出现在简报中,并注明来自你关注的作者。",
    )


async def _unfollow(ctx: HandlerContext, raw: str) -> str:
    name = _author(ctx, raw)
    state = await get_reader(ctx.store, ctx.chat.key)
    kept = [a for a in state.authors if not same_author(a, name)]
    if len(kept) < len(state.authors):
        await save_reader(ctx.store, ctx.chat.key, state.model_copy(update={"authors": kept}))
        return ctx.t(f"Unfollowed {name}.", f"已取消关注 {name}。")
    if any(same_author(a, name) for a in ctx.profile.authors):
        return ctx.t(
            f"{name} is followed in the profile file: remove them there.",
            f"{name} 是在画像文件中关注的:请在文件中删除。",
        )
    return ctx.t(f"You do not follow {name}.", f"你没有关注 {name}。")


# --- what was learned -----------------------------------------------------------------------


async def _learned(ctx: HandlerContext) -> list[TextItem]:
    profile = await reader_profile(ctx.store, ctx.chat.key, ctx.profile)
    evidence = profile.evidence
    texts = await reader_papers(ctx.store, [*evidence.positives, *evidence.negatives])
    why = explain(texts, evidence)
    ups, downs = len(evidence.liked), len(evidence.disliked)
    lines = [
        ctx.t(
            f"Learned from {ups} 👍, {downs} 👎, {len(evidence.asked)} papers asked about, "
            f"{len(evidence.seeds)} seed papers, and {len(evidence.ignored)} papers shown "
            "and left alone.",
            f"学习自 {ups} 个 👍、{downs} 个 👎、{len(evidence.asked)} 篇追问过的论文、"
            f"{len(evidence.seeds)} 篇种子论文,以及 {len(evidence.ignored)} 篇展示后未理会的论文。",
        )
    ]
    missing = evidence.missing
    if missing > 0:
        lines.append(
            ctx.t(
                f"Your interests alone rank the brief until {missing} more papers are liked "
                "(👍, /interests add paper, or /paper questions).",
                f"在再有 {missing} 篇喜欢的论文之前(👍、/interests add paper 或 /paper 追问),"
                "简报只按你的兴趣排序。",
            )
        )
    else:
        share = round(100 * model_weight(evidence))
        lines.append(
            ctx.t(
                f"Your model counts for {share}% of the ranking (more with more votes).",
                f"你的模型在排序中占 {share}%(反馈越多占比越高)。",
            )
        )
    if why.terms_for:
        lines.append(ctx.t("More of: ", "偏好:") + ", ".join(why.terms_for))
    if why.terms_against:
        lines.append(ctx.t("Less of: ", "少推:") + ", ".join(why.terms_against))
    return [TextItem(text=line) for line in lines]


async def _show(ctx: HandlerContext) -> Reply:
    state = await get_reader(ctx.store, ctx.chat.key)
    papers = list(dict.fromkeys([*ctx.profile.papers, *state.papers]))
    authors = list(dict.fromkeys([*ctx.profile.authors, *state.authors]))
    sections = [
        Section(
            kind="text", title="", items=[TextItem(text=f"• {p}") for p in ctx.profile.interests]
        )
    ]
    if papers:
        known = await reader_papers(ctx.store, papers[:SHOWN_PAPERS])
        lines = [f"• {p}" + (f" — {known[p].title}" if p in known else "") for p in papers]
        more = len(papers) - SHOWN_PAPERS
        if more > 0:
            lines = [*lines[:SHOWN_PAPERS], ctx.t(f"… and {more} more", f"……另有 {more} 篇")]
        sections.append(
            Section(
                kind="text",
                title=ctx.t("Your papers", "你的论文"),
                items=[TextItem(text=line) for line in lines],
            )
        )
    if authors:
        sections.append(
            Section(
                kind="text",
                title=ctx.t("Followed authors", "关注的作者"),
                items=[TextItem(text=f"• {a}") for a in authors],
            )
        )
    sections.append(
        Section(kind="text", title=ctx.t("Learned", "学到的偏好"), items=list(await _learned(ctx)))
    )
    return Reply(language=ctx.language, title=ctx.t("Interests", "兴趣"), sections=sections)


async def _change(ctx: HandlerContext, verb: str, rest: str) -> str:
    kind, _, value = rest.strip().partition(" ")
    if kind.lower() == "paper" and value.strip():
        return await (_add_paper if verb == "add" else _remove_paper)(ctx, value.strip())
    if kind.lower() == "author" and value.strip():
        return await (_follow if verb == "add" else _unfollow)(ctx, value)
    current = list(ctx.profile.interests)
    phrases = _phrases(ctx, rest)
    if verb == "add":
        new = list(dict.fromkeys([*current, *phrases]))
        if len(new) > MAX_INTERESTS:
            raise UsageError(
                ctx.t(f"At most {MAX_INTERESTS} interests.", f"最多 {MAX_INTERESTS} 个兴趣。")
            )
    else:
        gone = {p.casefold() for p in phrases}
        new = [p for p in current if p.casefold() not in gone]
        if len(new) == len(current):
            return ctx.t("None of those is an interest here.", "这些都不是当前的兴趣。")
        if not new:
            raise UsageError(ctx.t("Keep at least one interest.", "请至少保留一个兴趣。"))
    note = await _save_interests(ctx, new)
    return ctx.t("Interests: ", "兴趣:") + "; ".join(new) + note


@command(
    "interests",
    usage="[phrase; …] | add|remove [paper <id> | author <name> | phrase] | reset-learning",
    zh="查看或设置兴趣、种子论文和关注的作者,以及从 👍/👎 学到的偏好",
)
async def interests(ctx: HandlerContext, args: Args) -> Document:
    """Show or set interests, your papers and followed authors, and what 👍/👎 taught."""
    text = args.text.strip()
    if not text:
        return await _show(ctx)
    await _admin_only(ctx)
    head, _, rest = text.partition(" ")
    verb = head.lower()
    if verb in ("reset-learning", "reset_learning") and not rest.strip():
        await forget_learning(ctx.store, ctx.chat.key, ctx.now())
        return Reply.text(
            ctx.language,
            ctx.t(
                "Forgot every 👍/👎 and question: your interests, papers and followed authors "
                "rank the brief again.",
                "已清除所有 👍/👎 和追问记录:简报重新按你的兴趣、论文和关注的作者排序。",
            ),
        )
    if verb in ("add", "remove") and rest.strip():
        return Reply.text(ctx.language, await _change(ctx, verb, rest))
    phrases = _phrases(ctx, text)
    note = await _save_interests(ctx, phrases)
    return Reply.text(
        ctx.language, ctx.t("Interests set: ", "兴趣已设置:") + "; ".join(phrases) + note
    )


@command("follow", usage="<author>", zh="关注一位作者:其新论文始终出现在简报中")
async def follow(ctx: HandlerContext, args: Args) -> Document:
    """Follow an author: their new papers are always in the brief."""
    await _admin_only(ctx)
    return Reply.text(ctx.language, await _follow(ctx, args.text))


@command("unfollow", usage="<author>", zh="取消关注一位作者")
async def unfollow(ctx: HandlerContext, args: Args) -> Document:
    """Stop following an author."""
    await _admin_only(ctx)
    return Reply.text(ctx.language, await _unfollow(ctx, args.text))
