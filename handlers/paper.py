"""`/paper ID` and `paperdrop paper ID`: one paper's deeper card.

The card is the brief's document model (a Brief with one pick, its repo and the source
notes), built by the pipeline's own steps: ranking for the matched interests, the shared
summary cache, GitHub through `fetch_repos`, the extractive notes for the relation, and
the pipeline's LLM-failure note (so a failure reads the same as in the brief). The paper
is read in full first (arXiv's HTML rendering, else its PDF; `digest.fulltext`, cached
for everyone) while GitHub is asked; the deeper texts (problem, method with data and
training setup, key results with the paper's own numbers, limitations, code and data)
come from one LLM call per (paper, language, prompt version, what was read), cached and
shared by every chat; the same call fills the summary cache when the brief has not. The
card says what it was read from and why, links the HTML rendering, and shows the paper's
first figure where the rendering has one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from digest.brief_notes import llm_failed_note
from digest.chatstate import feedback_buttons, get_paper, last_briefs, put_papers
from digest.compose.brief import compose_brief
from digest.deeper import PaperDetails, paper_details, read_from_note
from digest.errors import PaperdropError, PaperNotFound, SourceError
from digest.extractive import extractive_summary, reader_notes
from digest.fulltext.model import FullText, Missing
from digest.fulltext.service import read_paper
from digest.i18n import label
from digest.ids import parse_arxiv_id, parse_versioned
from digest.llm import LLM, llm_session
from digest.models import (
    Brief,
    Detail,
    Document,
    FigureRef,
    Language,
    LLMUsage,
    Paper,
    PaperItem,
    Reply,
    RepoInfo,
    Section,
    SourceItem,
)
from digest.pipeline import http_client
from digest.profile import Profile
from digest.ranking import rank
from digest.reader import record_ask
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.github import GitHubSource
from digest.sources.hf import HuggingFaceSource
from digest.sources.merge import merge_papers
from digest.sources.repos import fetch_repos
from digest.store.base import Store
from digest.summarize import PROMPT_VERSION
from handlers.context import Args, HandlerContext, UsageError
from handlers.registry import command

__all__ = [
    "ABSTRACT_ONLY",
    "PaperWithdrawn",
    "find_paper",
    "first_figure",
    "paper",
    "paper_card",
    "read_full_text",
    "resolve_target",
]

CARD_SECTIONS = ("top_picks", "repos", "sources")
ABSTRACT_ONLY = "--abstract-only"
FIGURE_CAPTION_CHARS = 900  # Telegram allows 1024 for a caption; the label goes first


class PaperWithdrawn(PaperdropError):
    """The paper exists but its authors withdrew it."""


def _report(source: str, result: Paper | SourceError | None, language: Language) -> SourceItem:
    zh = language == "zh"
    if isinstance(result, SourceError):
        detail = f"查询失败:{result.reason}" if zh else f"failed: {result.reason}"
        return SourceItem(source=source, status="failed", detail=detail)
    if result is None:
        detail = "没有这篇论文的记录" if zh else "has no record of this paper"
        return SourceItem(source=source, status="partial", detail=detail)
    return SourceItem(source=source, status="ok", detail="已找到" if zh else "found")


async def _lookup(
    bare: str, hf: HuggingFaceSource, arxiv: ArxivSource
) -> tuple[Paper | SourceError | None, Paper | SourceError | None]:
    async def hf_paper() -> Paper | SourceError | None:
        try:
            return await hf.paper(bare)
        except SourceError as exc:
            return exc

    async def arxiv_paper() -> Paper | SourceError | None:
        try:
            return (await arxiv.lookup([bare])).get(bare)
        except SourceError as exc:
            return exc

    return await asyncio.gather(hf_paper(), arxiv_paper())


async def find_paper(
    bare: str, *, settings: Settings, store: Store
) -> tuple[Paper, list[SourceItem] | None]:
    """The paper from the Store's cache, else from Hugging Face and arXiv (with the
    sources' reports). Raises PaperNotFound, PaperWithdrawn or SourceError."""
    cached = await get_paper(store, bare)
    if cached is not None and cached.abstract:
        return cached, None
    async with http_client(settings) as client:
        hf_result, arxiv_result = await _lookup(
            bare, HuggingFaceSource(settings, client), ArxivSource(settings)
        )
    found = [r for r in (hf_result, arxiv_result) if isinstance(r, Paper)]
    if not found:
        errors = [r for r in (hf_result, arxiv_result) if isinstance(r, SourceError)]
        if len(errors) == 2:
            raise SourceError(
                "arXiv and Hugging Face",
                f"could not look up {bare}: " + "; ".join(e.reason for e in errors),
            )
        raise PaperNotFound(bare)
    if any(p.withdrawn for p in found):
        raise PaperWithdrawn(f"paper {bare} was withdrawn by its authors")
    merged = merge_papers(found)[0]
    await put_papers(store, [merged])
    return merged, [_report("Hugging Face", hf_result, "en"), _report("arXiv", arxiv_result, "en")]


async def read_full_text(
    bare: str, version: int | None, *, settings: Settings, store: Store, full: bool = True
) -> FullText | Missing:
    """The paper's full text (cached for everyone, else read once), or why not."""
    if not full:
        return Missing(reason="off")
    return await read_paper(bare, version, settings=settings, store=store)


def first_figure(text: FullText | Missing) -> FigureRef | None:
    """The HTML rendering's first figure with an image, for the card."""
    if not isinstance(text, FullText):
        return None
    for figure in text.figures:
        if figure.image_url:
            caption = " ".join(figure.caption.split())
            if len(caption) > FIGURE_CAPTION_CHARS:
                caption = caption[: FIGURE_CAPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
            return FigureRef(url=figure.image_url, caption=caption, label=figure.label)
    return None


def _detail_lines(
    details: PaperDetails, text: FullText | Missing, language: Language
) -> list[Detail]:
    lines = [Detail(label=label("read_from", language), text=read_from_note(text, language))]
    lines += [
        Detail(label=label(key, language), text=value)
        for key, value in (
            ("problem", details.problem),
            ("method", details.method),
            ("results", details.results),
            ("limits", details.limits),
            ("code_data", details.code_data),
        )
        if value and value != "—"
    ]
    return lines


async def paper_card(
    paper_id: str,
    *,
    settings: Settings,
    store: Store,
    profile: Profile,
    use_llm: bool = True,
    llm: LLM | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    full_text: bool = True,
) -> tuple[Brief, FigureRef | None]:
    """The deeper card of one paper for this reader, and the figure to show with it.

    Raises InvalidPaperId, PaperNotFound, PaperWithdrawn, or SourceError when neither
    arXiv nor Hugging Face could be asked.
    """
    bare, version = parse_versioned(paper_id)
    language = profile.language
    usage = LLMUsage()
    paper, found_reports = await find_paper(bare, settings=settings, store=store)
    reports = (
        [
            _report("Hugging Face", paper if "hf" in paper.sources else None, language),
            _report("arXiv", paper if "arxiv" in paper.sources else None, language),
        ]
        if found_reports is not None
        else []
    )
    day = paper.day or now().date()
    ranked = rank([paper], profile, today=day)
    async with llm_session(settings, use_llm=use_llm, llm=llm) as session:
        cached = await store.get_summary(bare, language, PROMPT_VERSION) if session else None
        async with http_client(settings) as client:
            code = paper.github_repo or paper.repo_in_text
            github = GitHubSource(settings, client, store=store) if code else None
            # The paper is read while GitHub is asked; the details need its text.
            text, (repos, github_note) = await asyncio.gather(
                read_full_text(bare, version, settings=settings, store=store, full=full_text),
                _repos(github, paper, language),
            )
        if isinstance(text, Missing) and text.reason == "withdrawn":
            raise PaperWithdrawn(f"paper {bare} was withdrawn by its authors")
        details, u = await paper_details(
            paper, language, store=store, llm=session, text=text, budget=settings.fulltext_tokens
        )
    usage.add(u)
    if github_note is not None:
        reports.append(github_note)
    # One LLM call per (paper, language) at most: the details call also writes the shared
    # summary when the brief has not cached one yet.
    summary = extractive_summary(paper, language)
    if cached is not None and cached.mode == "llm":
        summary = cached
    elif details.summary is not None:
        summary = details.summary
        await store.put_summary(bare, language, PROMPT_VERSION, summary)
    if details.failed:
        reports.append(llm_failed_note(language, details.failed, partial=summary.mode == "llm"))
    summaries = {paper.paper_id: summary}
    llm_used = summary.mode == "llm" or details.mode == "llm"
    # The relation is the chat's matched interests (no per-chat call: cards are shared).
    notes = reader_notes(ranked, [], summaries, profile, language)

    brief = compose_brief(
        day=day,
        profile=profile,
        language=language,
        picks=ranked,
        others=[],
        summaries=summaries,
        notes=notes,
        repos=repos,
        reports=reports,
        window_start=day,
        window_end=day,
        mode="llm" if llm_used else "extractive",
        usage=usage,
        generated_at=now(),
    )
    sections = _card_sections(brief, bare, details, text, language)
    card = brief.model_copy(update={"title": paper.title, "sections": sections})
    return card, first_figure(text)


def _card_sections(
    brief: Brief, bare: str, details: PaperDetails, text: FullText | Missing, language: Language
) -> list[Section]:
    """The brief's card sections, the pick carrying the full text's details and link."""
    extra = _detail_lines(details, text, language)
    html = text.html_url if isinstance(text, FullText) else None
    sections: list[Section] = []
    for s in brief.sections:
        if s.kind not in CARD_SECTIONS:
            continue
        if s.kind == "top_picks":
            items = [
                i.model_copy(
                    update={"details": extra, "links": i.links.model_copy(update={"html": html})}
                )
                if isinstance(i, PaperItem)
                else i
                for i in s.items
            ]
            if details.mode == "extractive":
                why = "quoted_note_failed" if details.failed else "quoted_note"
                s = s.model_copy(update={"intro": label(why, language)})
            s = s.model_copy(update={"title": bare, "items": items})
        sections.append(s)
    return sections


async def _repos(
    github: GitHubSource | None, paper: Paper, language: Language
) -> tuple[dict[str, RepoInfo | None], SourceItem | None]:
    if github is None:
        return {}, None
    return await fetch_repos(github, [paper], language)


async def resolve_target(ctx: HandlerContext, target: str) -> str:
    """A bare arXiv id from an id, an arXiv/HF URL, or an item number of the last brief."""
    text = target.strip().lstrip("#")
    if not text:
        raise UsageError(
            ctx.t(
                "Which paper? Send /paper 2605.29559 (an arXiv id or link, or an item number "
                "of your last brief).",
                "哪一篇?发送 /paper 2605.29559(arXiv 编号或链接,或上一期简报的条目序号)。",
            )
        )
    if text.isdigit() and len(text) <= 3:
        briefs = await last_briefs(ctx.store, ctx.chat.key)
        if not briefs:
            raise UsageError(
                ctx.t(
                    f"No brief reached this chat yet, so item {text} means nothing here: "
                    "send an arXiv id instead.",
                    f"这个聊天还没收到过简报,无法识别条目 {text}:请发送 arXiv 编号。",
                )
            )
        items = briefs[0].items
        n = int(text)
        if not 1 <= n <= len(items):
            raise UsageError(
                ctx.t(
                    f"The brief of {briefs[0].date} has items 1–{len(items)}.",
                    f"{briefs[0].date} 的简报只有第 1–{len(items)} 条。",
                )
            )
        return items[n - 1].paper_id
    return parse_arxiv_id(text)


@command(
    "paper",
    usage="<arXiv id | link | item number>",
    zh="一篇论文的深入解读:问题、方法、关键结果、局限、与你的关系和链接",
    llm=True,
)
async def paper(ctx: HandlerContext, args: Args) -> Document:
    """A paper's deeper card: problem, method, key results, limits, relation, links."""
    words = args.words
    full = ABSTRACT_ONLY not in words
    bare = await resolve_target(ctx, " ".join(w for w in words if w != ABSTRACT_ONLY))
    target = next((w for w in words if w != ABSTRACT_ONLY), bare)
    _, version = parse_versioned(target) if _is_id(target) else (bare, None)
    ctx.say(f"looking up {bare}")
    try:
        card, figure = await paper_card(
            f"{bare}v{version}" if version else bare,
            settings=ctx.settings,
            store=ctx.store,
            profile=ctx.profile,
            use_llm=ctx.llm is not None,
            llm=ctx.llm,
            now=ctx.now,
            full_text=full,
        )
    except PaperWithdrawn:
        raise UsageError(
            ctx.t(
                f"{bare} was withdrawn by its authors: there is nothing to read.",
                f"{bare} 已被作者撤回,没有可读的内容。",
            )
        ) from None
    if ctx.chat.platform is not None and (asked := await get_paper(ctx.store, bare)):
        await record_ask(ctx.store, ctx.chat.key, asked)  # a weak positive for the model
    return Reply(
        language=ctx.language,
        title=card.title,
        sections=card.sections,
        paper_id=bare,
        buttons=list(feedback_buttons(bare)),
        figure=figure,
    )


def _is_id(text: str) -> bool:
    try:
        parse_versioned(text)
    except PaperdropError:
        return False
    return True
