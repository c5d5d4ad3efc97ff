"""The LLM's counts checked against the papers: a number of papers it states that the
brief's papers do not bear out is dropped from its prose.

A *count* is a number followed by a word for papers ("4 papers", "5 top picks",
"3 篇"). Its topic is the first topic name the brief knows (an interest's phrase or
label, a key phrase or acronym of the day) in its clause: after it ("4 papers on world
models", "3 篇关于「Agent 长期记忆」"), or before it for a parenthesis ("world models (4
papers)", "RL(8 篇)"). A count with a topic must equal how many of the shown papers (or
of the picks) the topic holds: the papers using the phrase, or the papers that matched
the interest. A count without one must be one of the brief's totals (picks, pick units,
papers worth a glance, papers shown, candidates). Anything else is dropped: the
parenthesis whole, else the number ("4 papers on X" -> "papers on X").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from digest.keyphrases import DayPhrases, normal_words
from digest.models import Ranked
from digest.profile import Profile

__all__ = ["Topics", "check_counts"]

_EN_COUNT: Final = re.compile(
    r"\b(\d{1,4})\s+(?:(?:more|new|other|top|selected|shown)\s+)?(papers?|picks?|works)\b",
    re.IGNORECASE,
)
_ZH_COUNT: Final = re.compile(r"\s*(\d{1,4})\s*篇")
_PAREN: Final = re.compile(r"\s*[(（]\s*(\d{1,4})\s*(?:篇|papers?)\s*[)）]", re.IGNORECASE)
_CLAUSE_END: Final = re.compile(r"[,.;:!?,。;:!?、(（]|\band\b|\bwhile\b|[和与及]")
_PICK_WORDS: Final = re.compile(r"^(?:\s*个?重点|\s*篇重点)")


@dataclass(frozen=True)
class Topics:
    """What the brief can count: topic names with the papers each holds, and totals."""

    counts: Mapping[str, frozenset[int]]  # topic name (lowercase) -> its true counts
    totals: frozenset[int]

    @classmethod
    def of(
        cls,
        *,
        picks: Sequence[Ranked],
        others: Sequence[Ranked],
        profile: Profile,
        phrases: DayPhrases,
        units: int,
        candidates: int | None,
    ) -> Topics:
        shown = [*picks, *others]
        pick_ids = {r.paper.paper_id for r in picks}
        counts: dict[str, frozenset[int]] = {}

        def both(ids: set[str]) -> set[int]:  # among the papers shown, and the picks
            return {len(ids), len(ids & pick_ids)}

        for interest in profile.interests:
            # Papers that matched it, and those it is the strongest match of.
            anyhow = {r.paper.paper_id for r in shown if interest in r.matched}
            first = {r.paper.paper_id for r in shown if r.matched[:1] == [interest]}
            true = frozenset(both(anyhow) | both(first))
            for name in (interest, profile.label(interest), profile.labels.get(interest, "")):
                if name:
                    counts[name.lower()] = true
        shown_ids = {r.paper.paper_id for r in shown}
        for key, who in phrases.holders.items():
            ids = set(who) & shown_ids
            if ids:
                counts.setdefault(phrases.name(key).lower(), frozenset(both(ids)))
                counts.setdefault(key, frozenset(both(ids)))
        totals = {len(picks), units, len(others), len(shown)}
        if candidates:
            totals.add(candidates)
        return cls(counts=counts, totals=frozenset(totals))

    def counts_of(self, clause: str) -> Collection[int] | None:
        """The true counts of the first topic named in `clause`; None: it names none."""
        low = clause.lower()
        best: tuple[int, int, str] | None = None
        for name in self.counts:
            at = _find(low, name)
            if at >= 0 and (best is None or (at, -len(name)) < best[:2]):
                best = (at, -len(name), name)
        if best is not None:
            return self.counts[best[2]]
        # Its words in the key phrases' form ("world models research" holds "world model").
        words = normal_words(clause)
        for n in range(len(words), 0, -1):
            for i in range(len(words) - n + 1):
                found = self.counts.get(" ".join(words[i : i + n]))
                if found is not None:
                    return found
        return None


def _find(text: str, name: str) -> int:
    """Where `name` stands in `text` as whole words (or anywhere, for Chinese)."""
    if not name.isascii():
        return text.find(name)
    m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
    return m.start() if m else -1


def _clause_after(text: str, start: int) -> str:
    rest = text[start:]
    m = _CLAUSE_END.search(rest)
    return rest[: m.start()] if m else rest


def _clause_before(text: str, end: int) -> str:
    head = text[:end]
    cut = max((m.end() for m in _CLAUSE_END.finditer(head)), default=0)
    return head[cut:]


def check_counts(text: str, topics: Topics) -> str:
    """`text` with every count the papers do not bear out dropped."""
    out = text
    # Parentheses first: "world models (4 papers)", "RL(8 篇)".
    for m in reversed(list(_PAREN.finditer(out))):
        n = int(m.group(1))
        true = topics.counts_of(_clause_before(out, m.start()))
        if true is None or n not in true:
            out = out[: m.start()] + out[m.end() :]
    for pattern in (_EN_COUNT, _ZH_COUNT):
        checked = [k.span() for k in _PAREN.finditer(out)]  # the parentheses kept above
        for m in reversed(list(pattern.finditer(out))):
            if any(a <= m.start(1) < b for a, b in checked):
                continue
            n = int(m.group(1))
            noun = m.group(2).lower() if pattern is _EN_COUNT else ""
            picks = noun.startswith("pick") or bool(_PICK_WORDS.match(out[m.end() :]))
            true = None if picks else topics.counts_of(_clause_after(out, m.end()))
            allowed = topics.totals if true is None else true
            if n not in allowed:
                # Drop the number ("4 papers on X" -> "papers on X"); "3 篇" as a whole.
                cut = m.end() if pattern is _ZH_COUNT else m.start(2)
                out = out[: m.start()] + out[cut:]
    return " ".join(out.split()) if out != text else out
