"""A brief's repos section: the shown papers' repos known to exist, best first, with
GitHub's facts (stars, last push, stars gained since an earlier day) where it answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from digest.cleaning import clean_title, latex_to_text
from digest.compose.context import Context, full_name, prose, repo_key, section
from digest.models import Language, Ranked, RepoInfo, RepoItem, Section, SourceItem, SourceStatus
from digest.notes import ReaderNotes

__all__ = ["repos_section"]

MAX_REPOS: Final = 3
GITHUB_SOURCE: Final = "GitHub"

_REPO_INTRO: Final[dict[str, dict[Language, str]]] = {
    "skipped": {
        "zh": "未查询 GitHub:以下仓库的 star 数与最近更新未核实。",
        "en": "GitHub was not queried: stars and last push of these repos are not checked.",
    },
    "failed": {
        "zh": "GitHub 查询失败:以下仓库的 star 数与最近更新未核实(原因见来源说明)。",
        "en": "GitHub failed: stars and last push of these repos are not checked (see Sources).",
    },
    "partial": {
        "zh": "部分仓库未能从 GitHub 核实:没有 star 数的即未核实。",
        "en": "Some repos could not be checked with GitHub: those without stars are not checked.",
    },
}


def repos_section(
    ctx: Context,
    shown: Sequence[Ranked],
    notes: ReaderNotes,
    deltas: Mapping[str, tuple[int, int]],
    reports: Sequence[SourceItem],
) -> list[Section]:
    """The section (none without a repo); `deltas`: stars gained by repo URL, over days."""
    keyed_deltas = {repo_key(k): v for k, v in deltas.items()}
    repo_list = _repo_items(ctx, shown, notes, keyed_deltas)
    if not repo_list:
        return []
    status = _github_status(reports)
    intro = ""
    if any(i.stars is None for i in repo_list):
        intro = _REPO_INTRO.get(status or "skipped", _REPO_INTRO["skipped"])[ctx.language]
    return [section("repos", ctx.language, list(repo_list), intro)]


def _github_status(reports: Sequence[SourceItem]) -> SourceStatus | None:
    return next((r.status for r in reports if r.source == GITHUB_SOURCE), None)


def _repo_items(
    ctx: Context,
    shown: Sequence[Ranked],
    notes: ReaderNotes,
    deltas: Mapping[str, tuple[int, int]],
) -> list[RepoItem]:
    # Repos known to exist: with GitHub's facts, or (HF names it, GitHub not asked) without
    # stars. One GitHub says does not exist, or only the text announces, is not listed.
    ranked: list[tuple[tuple[bool, bool, float, int, int], RepoItem]] = []
    seen: set[str] = set()
    for order, r in enumerate(shown):
        url, _ = ctx.repo_links(r.paper)
        if not url:
            continue
        key = repo_key(url)
        if key in seen:
            continue
        item = _repo_item(r, url, ctx.verified.get(key), notes, deltas)
        seen.add(key)
        rank_key = (item.archived, item.stars is None, -r.score, -(item.stars or 0), order)
        ranked.append((rank_key, item))
    ranked.sort(key=lambda pair: pair[0])
    return [item for _, item in ranked[:MAX_REPOS]]


def _repo_item(
    r: Ranked,
    url: str,
    info: RepoInfo | None,
    notes: ReaderNotes,
    deltas: Mapping[str, tuple[int, int]],
) -> RepoItem:
    """One paper's repo: GitHub's facts when it answered, else the link alone."""
    note = prose(notes.repo_notes.get(r.paper.paper_id, ""))
    title = clean_title(r.paper.title)
    if info is None:
        return RepoItem(
            url=url,
            full_name=full_name(url),
            paper_id=r.paper.paper_id,
            paper_title=title,
            note=note,
        )
    delta = deltas.get(repo_key(info.url)) or deltas.get(repo_key(url))
    return RepoItem(
        url=info.url,
        full_name=info.full_name,
        stars=info.stars,
        pushed_at=info.pushed_at,
        description=latex_to_text(info.description) if info.description else None,
        archived=info.archived,
        paper_id=r.paper.paper_id,
        paper_title=title,
        note=note,
        stars_delta=delta[0] if delta else None,
        delta_days=delta[1] if delta else None,
    )
