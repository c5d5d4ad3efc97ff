"""`/paper ID` and `paperdrop paper ID`: one paper's card, as a Brief with one pick.

The card is the same document model as the morning brief, so every platform renders it
with the adapter it already has.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from digest.compose import compose_brief
from digest.errors import PaperdropError, PaperNotFound, SourceError
from digest.ids import parse_arxiv_id
from digest.llm import LLM, llm_session, usage_of
from digest.models import Brief, Language, LLMUsage, Paper, RepoInfo, Section, SourceItem
from digest.pipeline import fetch_repos, http_client
from digest.profile import Profile
from digest.ranking import rank
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.github import GitHubSource
from digest.sources.hf import HuggingFaceSource
from digest.sources.merge import merge_papers
from digest.store.base import Store
from digest.summarize import extractive_notes, reader_notes, summarize_papers

__all__ = ["PaperWithdrawn", "paper_card"]

CARD_SECTIONS = ("top_picks", "repos", "sources")


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


async def paper_card(
    paper_id: str,
    *,
    settings: Settings,
    store: Store,
    profile: Profile,
    use_llm: bool = True,
    llm: LLM | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Brief:
    """The card of one paper for this reader: links, contribution, why, relation, repo.

    Raises InvalidPaperId, PaperNotFound, PaperWithdrawn, or SourceError when neither
    arXiv nor Hugging Face could be asked.
    """
    bare = parse_arxiv_id(paper_id)
    language = profile.language
    usage = LLMUsage()
    async with llm_session(settings, use_llm=use_llm, llm=llm) as llm:
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
            paper = merge_papers(found)[0]
            ranked = rank([paper], profile, today=paper.day or now().date())
            reports = [
                _report("Hugging Face", hf_result, language),
                _report("arXiv", arxiv_result, language),
            ]
            repos: dict[str, RepoInfo] = {}
            if paper.github_repo:
                github = GitHubSource(settings, client, store=store)
                (summaries, u), (repos, github_note) = await asyncio.gather(
                    summarize_papers([paper], language, store=store, llm=llm),
                    fetch_repos(github, [paper], language),
                )
                reports.append(github_note)
            else:
                summaries, u = await summarize_papers([paper], language, store=store, llm=llm)
            usage.add(u)
        llm_used = any(s.mode == "llm" for s in summaries.values())
        notes = extractive_notes(ranked, [], summaries, profile, language)
        if llm is not None:
            try:
                notes, u = await reader_notes(ranked, [], summaries, profile, language, llm)
                usage.add(u)
                llm_used = True
            except PaperdropError as exc:
                usage.add(usage_of(exc))

    brief = compose_brief(
        day=paper.day or now().date(),
        profile=profile,
        language=language,
        picks=ranked,
        others=[],
        summaries=summaries,
        notes=notes,
        repos=repos,
        reports=reports,
        window_start=paper.day or now().date(),
        window_end=paper.day or now().date(),
        mode="llm" if llm_used else "extractive",
        usage=usage,
        generated_at=now(),
    )
    sections: list[Section] = [s for s in brief.sections if s.kind in CARD_SECTIONS]
    for s in sections:
        if s.kind == "top_picks":
            s.title = bare
    return brief.model_copy(update={"title": paper.title, "sections": sections})
