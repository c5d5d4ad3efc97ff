"""What several of the shown papers are about (`themes`, named by the day's key phrases),
how many papers each interest leads, and a paper's short name."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from digest.cleaning import latex_to_text
from digest.grouping.lexicon import Lexicon
from digest.keyphrases import normal_words
from digest.models import Ranked

__all__ = ["Theme", "interest_counts", "short_name", "themes"]

MIN_THEME_PAPERS: Final = 3
MAX_THEMES: Final = 3
THEME_WORD_BONUS: Final = 0.25  # each word beyond the first: a longer phrase says more
THEME_TITLE_BONUS: Final = 1.0  # ... and titles name what a paper is about


@dataclass(frozen=True)
class Theme:
    """A term several shown papers share, and those papers (best first)."""

    name: str
    paper_ids: tuple[str, ...]


def themes(
    papers: Sequence[Ranked],
    lexicon: Lexicon,
    *,
    interests: Sequence[str] = (),
    min_papers: int = MIN_THEME_PAPERS,
    limit: int = MAX_THEMES,
) -> list[Theme]:
    """What several of the shown papers are about, most papers first: the day's key
    phrases and established acronyms (`digest.keyphrases`) at least `min_papers` of them
    use, the rarer over the day, the longer and the more often in their titles first. A
    phrase that is one of
    the reader's `interests` is left to the interest counts; themes do not repeat each
    other's words, nor the same papers."""
    day = lexicon.phrases
    holders: dict[str, list[str]] = {}
    for r in papers:
        pid = r.paper.paper_id
        for key in day.keys_of(pid):
            if pid not in holders.setdefault(key, []):
                holders[key].append(pid)
    said = [set(normal_words(i)) for i in interests]
    scored: list[tuple[float, str, list[str]]] = []
    for key, ids in holders.items():
        words = set(key.split())
        if len(ids) < min_papers or words in said:
            continue
        bonus = 1.0 + THEME_WORD_BONUS * (len(key.split()) - 1)
        titled = sum(key in day.in_title.get(pid, ()) for pid in ids) / len(ids)
        bonus *= 1.0 + THEME_TITLE_BONUS * titled
        scored.append((-len(ids) * day.idf(key) * bonus, key, ids))
    scored.sort()
    out: list[Theme] = []
    used_words: set[str] = set()
    used_sets: list[set[str]] = []
    for _, key, ids in scored:
        words = set(key.split())
        if words & used_words or any(set(ids) <= s for s in used_sets):
            continue
        out.append(Theme(name=day.name(key), paper_ids=tuple(ids)))
        used_words |= words
        used_sets.append(set(ids))
        if len(out) >= limit:
            break
    return sorted(out, key=lambda t: -len(t.paper_ids))


_NAME_HEAD = re.compile(r"^([^:]{2,40}):\s")


def short_name(title: str, limit: int = 48) -> str:
    """A paper's short name: the part before the colon ("SkillOS"), else its title's head."""
    clean = latex_to_text(title)
    m = _NAME_HEAD.match(clean)
    if m is not None:
        return m.group(1).strip()
    if len(clean) <= limit:
        return clean
    cut = clean[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def interest_counts(papers: Sequence[Ranked]) -> Mapping[str, int]:
    """How many papers have each interest as their strongest match, most first."""
    counts = Counter(r.matched[0] for r in papers if r.matched)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
