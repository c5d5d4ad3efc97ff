"""What every section of a brief is made with: cleaned prose, repo keys, paper cards."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from digest.cleaning import clean_title, latex_to_text
from digest.errors import InvalidPaperId
from digest.extractive import Writer, extractive_summary
from digest.i18n import label
from digest.ids import parse_arxiv_id
from digest.models import (
    Item,
    Language,
    Paper,
    PaperItem,
    PaperSummary,
    Ranked,
    RepoInfo,
    Section,
    SectionKind,
)
from digest.sentences import strip_urls

__all__ = ["Context", "bare", "full_name", "prose", "repo_key", "section", "verified_repos"]

# Cleaned texts kept (a day's summaries and notes, in each language, and then some).
PROSE_CACHE: Final = 8192

_GITHUB = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/([^/\s]+)/([^/\s#?]+)", re.IGNORECASE)


def repo_key(url: str) -> str:
    """`https://github.com/Owner/Name.git/` -> `github.com/owner/name` (for lookups only)."""
    m = _GITHUB.match(url.strip())
    if not m:
        return url.strip().rstrip("/").lower()
    name = m.group(2).removesuffix(".git")
    return f"github.com/{m.group(1)}/{name}".lower()


def full_name(url: str) -> str:
    m = _GITHUB.match(url.strip())
    return f"{m.group(1)}/{m.group(2).removesuffix('.git')}" if m else url.strip()


def verified_repos(repos: Mapping[str, RepoInfo | None]) -> dict[str, RepoInfo | None]:
    """GitHub's answers by repo_key, under GitHub's own spelling too (a renamed repo)."""
    verified: dict[str, RepoInfo | None] = {}
    for url, info in repos.items():
        verified.setdefault(repo_key(url), info)
        if info is not None:
            verified.setdefault(repo_key(info.url), info)
    return verified


def bare(paper_id: str) -> str:
    try:
        return parse_arxiv_id(paper_id)
    except InvalidPaperId:
        return paper_id.strip()


@functools.lru_cache(maxsize=PROSE_CACHE)
def prose(text: str) -> str:
    """Model or source prose for display: no URLs, no LaTeX. Cached: the day's summaries
    are shown to every reader of the day."""
    return strip_urls(latex_to_text(text))


def section(kind: SectionKind, language: Language, items: list[Item], intro: str = "") -> Section:
    """A section under its localised title (the label of its kind)."""
    return Section(kind=kind, title=label(kind, language), intro=intro, items=items)


@dataclass(frozen=True)
class Context:
    language: Language
    summaries: Mapping[str, PaperSummary]
    # GitHub's answers by repo_key: the facts, or None when there is no such repo.
    verified: Mapping[str, RepoInfo | None]
    writer: Writer

    def summary(self, r: Ranked) -> PaperSummary:
        s = self.summaries.get(r.paper.paper_id)
        if s is None or s.mode == "extractive":
            # The cleaned, quoted extractive texts (summaries made elsewhere may predate them).
            return extractive_summary(r.paper, self.language)
        return s

    def repo_links(self, p: Paper) -> tuple[str | None, str | None]:
        """(a repo known to exist, a repo announced but not verified) of the paper.

        HF's githubRepo names a repo that exists, and so does a GitHub answer (this run's
        or the Store's cache). A repo only the text names is announced until GitHub
        answers; one it answered holds nothing yet ("coming soon" and empty) stays
        announced; a 404 (or an archived, empty repo) is no link at all."""
        for url, named_by_hf in ((p.github_repo, True), (p.repo_in_text, False)):
            if not url:
                continue
            key = repo_key(url)
            if key in self.verified:
                info = self.verified[key]
                if info is None:
                    continue
                if not named_by_hf and p.repo_promised and info.empty:
                    return None, url
                return info.url, None
            return (url, None) if named_by_hf else (None, url)
        return None, None

    def paper_item(
        self, r: Ranked, *, contribution: bool = True, why: bool = False, note: str = ""
    ) -> PaperItem:
        p = r.paper
        s = self.summary(r)
        return PaperItem(
            paper_id=p.paper_id,
            title=clean_title(p.title),
            authors=list(p.authors),
            links=p.links().model_copy(
                update=dict(zip(("repo", "announced"), self.repo_links(p), strict=True))
            ),
            date=p.day,
            category=prose(s.category),
            arxiv_category=p.primary_category,
            upvotes=p.upvotes,
            contribution=prose(s.contribution) if contribution else "",
            why=prose(s.why) if why else "",
            matched=list(r.matched),
            matched_labels=[self.writer.label(m) for m in r.matched],
            note=prose(note),
        )
