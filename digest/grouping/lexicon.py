"""Term statistics of the day's candidates (`Lexicon`): how rare each term is, each
paper's weighted term vector, how alike two papers are, and a paper's most distinctive
terms as its text writes them. One per set of papers in a process (`lexicon_of`)."""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from typing import Final

from digest.grouping.terms import (
    ADJECTIVE_TAIL,
    PaperTerms,
    is_adjective,
    paper_terms,
    settle_strong,
)
from digest.keyphrases import DayPhrases, day_phrases
from digest.models import Paper

__all__ = ["Lexicon", "lexicon_of"]

DISTINCTIVE_DF: Final = 0.25  # a term in more of the candidates says nothing specific
GENERIC_DF: Final = 0.5  # ... and one in half of them is left out entirely
PHRASE_BONUS: Final = 1.3  # a two-word phrase is more specific than either word


class Lexicon:
    """Term statistics of the day's candidates, and each paper's weighted terms.

    Build it with `lexicon_of`: one Lexicon per set of papers in a process, shared by
    every reader of the day. Its statistics never change once built; the vectors it
    computes on demand are cached in it.
    """

    def __init__(self, papers: Iterable[Paper]) -> None:
        self._docs: dict[str, PaperTerms] = {}
        corpus = list(papers)
        for p in corpus:
            self._docs.setdefault(p.paper_id, paper_terms(p))
        self.phrases: DayPhrases = day_phrases(corpus)
        self.size = len(self._docs)
        df: Counter[str] = Counter()
        for doc in self._docs.values():
            df.update(doc.weights.keys())
        self._df = df
        settle_strong(self._docs, df)
        self._vectors: dict[str, dict[str, float]] = {}
        self._norms: dict[str, float] = {}
        self._outside: dict[str, PaperTerms] = {}
        # Per pair of the day's papers (every reader asks about the same pairs).
        self._similar: dict[tuple[str, str], float] = {}
        self._shared: dict[tuple[str, str], list[str]] = {}

    def _doc(self, paper: Paper) -> PaperTerms:
        doc = self._docs.get(paper.paper_id)
        if doc is None:  # a paper outside the corpus: its terms, the day's statistics
            doc = self._outside.get(paper.paper_id)
            if doc is None:
                doc = self._outside[paper.paper_id] = paper_terms(paper)
        return doc

    def df(self, key: str) -> int:
        return self._df.get(key, 0)

    def idf(self, key: str) -> float:
        return math.log(1.0 + self.size / (self.df(key) + 0.5))

    def distinctive(self, key: str) -> bool:
        return self.df(key) <= max(2.0, DISTINCTIVE_DF * self.size)

    def common(self, key: str) -> bool:
        """Whether at least a third of the candidates use the term."""
        return self.size >= 6 and self.df(key) * 3 >= self.size

    def _generic(self, key: str) -> bool:
        return self.size >= 8 and self.df(key) > GENERIC_DF * self.size

    def vector(self, paper: Paper) -> dict[str, float]:
        cached = self._vectors.get(paper.paper_id)
        if cached is not None:
            return cached
        doc = self._doc(paper)
        if paper.paper_id not in self._docs:  # outside the corpus: not kept
            return self._vector(doc)
        vec = self._vectors[paper.paper_id] = self._vector(doc)
        return vec

    def _vector(self, doc: PaperTerms) -> dict[str, float]:
        return {
            k: w * self.idf(k) * (PHRASE_BONUS if k in doc.phrases else 1.0)
            for k, w in doc.weights.items()
            if not self._generic(k)
        }

    def surface(self, paper: Paper, key: str) -> str:
        counts = self._doc(paper).surfaces.get(key)
        if not counts:
            return key
        # The most frequent form; among equals the lowercase one (the abstract's).
        return max(counts.items(), key=lambda kv: (kv[1], kv[0].islower(), kv[0]))[0]

    def _pair(self, a: Paper, b: Paper) -> tuple[str, str] | None:
        """The cache key of two of the day's papers (None when one is outside the corpus)."""
        if a.paper_id in self._docs and b.paper_id in self._docs:
            return (a.paper_id, b.paper_id)
        return None

    def similarity(self, a: Paper, b: Paper) -> float:
        """Cosine of the two papers' vectors over the terms another candidate shares (a
        paper's one-off words, its name among them, cannot be shared by anyone)."""
        pair = self._pair(a, b)
        if pair is None:
            return self._similarity(a, b)
        found = self._similar.get(pair)
        if found is None:
            found = self._similar[pair] = self._similarity(a, b)
        return found

    def _similarity(self, a: Paper, b: Paper) -> float:
        va, vb = self.vector(a), self.vector(b)
        dot = sum(w * vb[k] for k, w in va.items() if k in vb)
        if dot <= 0:
            return 0.0
        return dot / (self._norm(a, va) * self._norm(b, vb))

    def _norm(self, paper: Paper, vec: Mapping[str, float]) -> float:
        """The length of the paper's vector over the terms another candidate shares."""
        found = self._norms.get(paper.paper_id)
        if found is None:
            found = math.sqrt(sum(w * w for k, w in vec.items() if self.df(k) >= 2))
            if paper.paper_id in self._docs:
                self._norms[paper.paper_id] = found
        return found

    def shared(self, a: Paper, b: Paper) -> list[str]:
        """Distinctive term keys the two papers share, strongest first."""
        pair = self._pair(a, b)
        if pair is None:
            return self._shared_terms(a, b)
        found = self._shared.get(pair)
        if found is None:
            found = self._shared[pair] = self._shared_terms(a, b)
        return list(found)

    def _shared_terms(self, a: Paper, b: Paper) -> list[str]:
        va, vb = self.vector(a), self.vector(b)
        keys = [k for k in va if k in vb and self.distinctive(k)]
        return sorted(keys, key=lambda k: (-min(va[k], vb[k]), k))

    def top_terms(
        self,
        paper: Paper,
        n: int,
        *,
        exclude: Iterable[str] = (),
        known: Iterable[str] = (),
    ) -> list[str]:
        """The paper's `n` most distinctive terms as shown in its text (phrases preferred
        over the words inside them; no lone adjective); `exclude` are shown forms to leave
        out (its name), `known` stems the reader's text already says (an interest's)."""
        vec = self.vector(paper)
        doc = self._doc(paper)
        banned = {e.lower() for e in exclude}
        said = set(known)
        ranked = sorted(
            (k for k in vec if k in doc.strong),
            key=lambda k: (-vec[k], k),
        )
        out: list[str] = []
        keys: list[str] = []
        for k in ranked:
            shown = self.surface(paper, k)
            if shown.lower() in banned or any(b in shown.lower().split() for b in banned):
                continue
            words = set(k.split())
            if said and words <= said:
                continue
            if is_adjective(shown) or ADJECTIVE_TAIL.search(shown.lower()):
                continue  # "self-evolving", "incentivizing agentic": not a topic
            # A word inside a chosen phrase, or a phrase around a chosen word, adds little.
            if any(words <= set(c.split()) or set(c.split()) <= words for c in keys):
                continue
            keys.append(k)
            out.append(shown)
            if len(out) >= n:
                break
        return out

    def title_keys(self, paper: Paper) -> set[str]:
        """The term keys of the paper's title."""
        return self._doc(paper).title

    def in_title(self, paper: Paper, shown: str) -> bool:
        """Whether a term (as `surface` shows it) is in the paper's title."""
        doc = self._doc(paper)
        return any(self.surface(paper, k) == shown for k in doc.title)

    def phrases_with(self, paper: Paper, stems: Iterable[str], n: int = 2) -> list[str]:
        """The paper's own phrases that contain any of `stems` (an interest's words), most
        distinctive first: what in the abstract matched that interest."""
        wanted = set(stems)
        vec = self.vector(paper)
        doc = self._doc(paper)
        hits = [k for k in doc.strong if wanted & set(k.split())]
        hits.sort(key=lambda k: (-(k in doc.phrases), -vec.get(k, 0.0), k))
        out: list[str] = []
        chosen: list[set[str]] = []
        for k in hits:
            words = set(k.split())
            if any(words <= c or c <= words for c in chosen):
                continue  # "agents" beside "agent memory" adds nothing
            chosen.append(words)
            out.append(self.surface(paper, k))
            if len(out) >= n:
                break
        return out


# Days whose Lexicon is kept (a brief's day, its neighbours, /paper cards' days).
LEXICON_CACHE: Final = 8
_Key = tuple[tuple[str, str, str, str, tuple[str, ...]], ...]
_lexicons: OrderedDict[_Key, Lexicon] = OrderedDict()


def lexicon_of(papers: Iterable[Paper]) -> Lexicon:
    """The Lexicon of `papers` (one per id, the first wins): built once per set of papers
    in this process and shared by every reader of that day (the most recent
    `LEXICON_CACHE` sets are kept)."""
    unique: dict[str, Paper] = {}
    for p in papers:
        unique.setdefault(p.paper_id, p)
    key = tuple(
        sorted(
            (p.paper_id, p.title, p.abstract, p.ai_summary or "", tuple(p.keywords))
            for p in unique.values()
        )
    )
    found = _lexicons.get(key)
    if found is None:
        found = _lexicons[key] = Lexicon(unique.values())
        while len(_lexicons) > LEXICON_CACHE:
            _lexicons.popitem(last=False)
    _lexicons.move_to_end(key)
    return found
