"""The shown papers' repos as GitHub answers them, and GitHub's source note."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from digest.errors import SourceError
from digest.models import Language, Paper, RepoInfo, SourceItem, SourceStatus
from digest.sources.github import GitHubSource, normalize_repo_url

__all__ = ["fetch_repos"]


async def fetch_repos(
    github: GitHubSource | None, papers: Sequence[Paper], language: Language
) -> tuple[dict[str, RepoInfo | None], SourceItem]:
    """What GitHub says of the papers' repos, picks first (the ones HF names, and the ones
    only their text names), and the source note saying how that went.

    By normalised URL: the repo's facts; None when GitHub answered that there is no such
    repo (404), or only an archived, empty one; absent when it was not asked (offline, a
    rate limit, an error). Answers are cached in the Store (`GitHubSource`).
    """
    urls = list(dict.fromkeys(u for p in papers for u in (p.github_repo, p.repo_in_text) if u))
    if github is None:
        return {}, SourceItem(
            source="GitHub",
            status="skipped",
            detail={
                "zh": "离线样例未查询 GitHub:仓库的 star 数与最近更新未核实。",
                "en": "Not queried in the offline sample: repo stars and last push are "
                "not checked.",
            }[language],
        )
    if not urls:
        return {}, SourceItem(
            source="GitHub",
            status="ok",
            detail={"zh": "入选论文没有关联仓库。", "en": "No selected paper links a repo."}[
                language
            ],
        )
    try:
        found = await github.repos(urls)
    except SourceError as exc:
        return {}, SourceItem(
            source="GitHub",
            status="failed",
            detail={
                "zh": f"GitHub 查询失败({exc.reason}):仓库照常列出,star 数与活跃度未核实。",
                "en": f"GitHub failed ({exc.reason}): repos are listed without stars and activity.",
            }[language],
        )
    answers = _answers(github, urls, found)
    return answers, _checked_note(answers, len(urls), len(github.deltas), language)


def _answers(
    github: GitHubSource, urls: Sequence[str], found: Mapping[str, RepoInfo]
) -> dict[str, RepoInfo | None]:
    """GitHub's answer for each URL it was asked about, by normalised URL."""
    answers: dict[str, RepoInfo | None] = {}
    for url in urls:
        norm = normalize_repo_url(url)
        if norm is None or norm in github.failures:
            continue  # not asked: unverified
        info = found.get(norm)
        answers[norm] = None if info is None or (info.archived and info.empty) else info
    return answers


def _checked_note(
    answers: Mapping[str, RepoInfo | None], asked: int, deltas: int, language: Language
) -> SourceItem:
    """How many repos GitHub checked, how many do not exist, how many gained stars."""
    missing = sum(1 for v in answers.values() if v is None)
    checked = len(answers)
    status: SourceStatus = "ok" if checked == asked else "partial"
    detail = {
        "zh": f"已通过 GitHub API 验证 {checked}/{asked} 个仓库",
        "en": f"Checked {checked}/{asked} repos with the GitHub API",
    }[language]
    if missing:
        detail += (
            f",其中 {missing} 个不存在(或已归档且为空),不显示链接"
            if language == "zh"
            else f"; {missing} do not exist (or are archived and empty) and are not linked"
        )
    detail += "。" if language == "zh" else "."
    if deltas:
        detail += (
            f"{deltas} 个仓库与此前记录的 star 数比较。"
            if language == "zh"
            else f" {deltas} compared with the star counts kept from earlier days."
        )
    return SourceItem(source="GitHub", status=status, detail=detail)
