"""A model per reader: a class-balanced logistic regression over TF-IDF features.

    evidence (ids) + the reader's papers (texts) + the day's candidates
      → TF-IDF (unigrams and bigrams of ranking's tokens): the day's counts made once for
        every chat, the idf fitted on the candidates and the reader's papers
      → logistic regression: positives (seeds, 👍, weakly /paper asks) against negatives
        (👎, weakly shown-and-ignored; the day's other candidates stand in, faintly, for
        negatives the reader has not given)
      → Learned: each candidate's place in the model's order of the day (0 to 1), the
        model's weight, the closest liked or seed paper

Cheap enough to fit per chat and day (bench/ranking.py prints the time): the day's
candidates are a few hundred short texts at most. Fitted again whenever the evidence
changes, since the evidence is part of the profile's key (`digest.evidence`).

Cold start: below `MIN_POSITIVES` positives there is no model, and the interest ranking
decides alone. Above, its weight grows with the evidence, `W_MODEL_MAX * n / (n + HALF)`
where n counts labelled papers (weak ones at their weight), so a handful of votes nudge
and a few dozen steer.

scikit-learn is imported when a model is first fitted, not at import: an idle server
does not pay its memory.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from digest.evidence import MIN_NEGATIVES, MIN_POSITIVES, Evidence, Learned, Similar
from digest.models import Paper
from digest.ranking import document_tokens, surface_forms

__all__ = [
    "W_MODEL_MAX",
    "Explanation",
    "explain",
    "fit_reader",
    "model_weight",
]

# How much a well-evidenced model counts against the interest ranking (at most).
W_MODEL_MAX: Final = 0.6
# Labelled papers at which the model has half its maximum weight.
HALF: Final = 12.0
# Sample weights: strong evidence 1, weak evidence less.
W_SEED: Final = 1.0
W_LIKED: Final = 1.0
W_ASKED: Final = 0.5
W_DISLIKED: Final = 1.0
W_IGNORED: Final = 0.3
# The day's other candidates as negatives, while the reader has given few.
W_BACKGROUND: Final = 0.15
# L2 strength: few, high-dimensional examples need a firm prior.
C: Final = 1.0
# "like 2605.06614 you liked" only when the texts are this close (TF-IDF cosine over
# words and word pairs: two papers of one topic score about 0.06-0.1, unrelated ones 0.02).
SIMILAR_MIN: Final = 0.06
MAX_FEATURES: Final = 20_000
GRAMS_CACHE: Final = 4096  # papers whose n-grams are kept (a few days of candidates)
DAY_CACHE: Final = 4  # days whose candidate counts are kept


@dataclass(frozen=True)
class Explanation:
    """What a reader's model learned, for `/interests`: its strongest terms each way."""

    terms_for: list[str]
    terms_against: list[str]
    positives: int
    negatives: int


def model_weight(evidence: Evidence) -> float:
    """The model's weight for this evidence: 0 below the cold-start threshold."""
    if not evidence.active:
        return 0.0
    strong = len(set(evidence.seeds) | set(evidence.liked) | set(evidence.disliked))
    weak = W_ASKED * len(evidence.asked) + W_IGNORED * len(evidence.ignored)
    n = strong + weak
    return W_MODEL_MAX * n / (n + HALF)


@functools.lru_cache(maxsize=GRAMS_CACHE)
def _analyzer(tokens: tuple[str, ...]) -> tuple[str, ...]:
    # Every chat's model reads the same day's papers: their n-grams are made once.
    return (*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens)))


@dataclass(frozen=True)
class _Examples:
    papers: list[Paper]
    labels: list[int]
    weights: list[float]


def _examples(
    evidence: Evidence, reader: Mapping[str, Paper], background: Iterable[Paper]
) -> _Examples:
    kinds: dict[str, tuple[int, float]] = {}
    positives = set(evidence.positives)
    for ids, label, weight in (
        (evidence.ignored, 0, W_IGNORED),
        (evidence.disliked, 0, W_DISLIKED),
        (evidence.asked, 1, W_ASKED),
        (evidence.liked, 1, W_LIKED),
        (evidence.seeds, 1, W_SEED),
    ):
        for pid in ids:
            if label == 1 and pid not in positives:
                continue  # 👎 wins over every positive of the same paper
            if label == 0 and pid in positives:
                continue
            old = kinds.get(pid)
            if old is None or old[1] <= weight:
                kinds[pid] = (label, weight)
    papers: list[Paper] = []
    labels: list[int] = []
    weights: list[float] = []
    for pid, (label, weight) in kinds.items():
        paper = reader.get(pid)
        if paper is not None:
            papers.append(paper)
            labels.append(label)
            weights.append(weight)
    negatives = sum(1 for label in labels if label == 0)
    if negatives < MIN_NEGATIVES:
        for paper in background:
            if paper.paper_id not in kinds:
                papers.append(paper)
                labels.append(0)
                weights.append(W_BACKGROUND)
    # Class balance: each class carries the same total weight, half the examples' count
    # (so the regularisation weighs as it would on that many plain examples).
    pos = sum(w for w, y in zip(weights, labels, strict=True) if y == 1)
    neg = sum(w for w, y in zip(weights, labels, strict=True) if y == 0)
    if pos > 0 and neg > 0:
        half = len(labels) / 2
        weights = [
            w * half / (pos if y == 1 else neg) for w, y in zip(weights, labels, strict=True)
        ]
    return _Examples(papers, labels, weights)


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=_analyzer, sublinear_tf=True, max_features=MAX_FEATURES)


@functools.lru_cache(maxsize=DAY_CACHE)
def _day_counts(docs: tuple[tuple[str, ...], ...]) -> tuple[Any, Any]:
    """The day's n-gram counts and vocabulary: counted once, shared by every chat."""
    from sklearn.feature_extraction.text import CountVectorizer

    counter = CountVectorizer(analyzer=_analyzer, max_features=MAX_FEATURES)
    return counter.fit_transform(docs), counter


def _features(day: tuple[tuple[str, ...], ...], reader: Sequence[tuple[str, ...]]) -> Any:
    """TF-IDF rows of the day's candidates, then of the reader's papers. The idf is fitted
    on both; the terms are the day's (a term no candidate has cannot rank one)."""
    from scipy.sparse import vstack
    from sklearn.feature_extraction.text import TfidfTransformer

    counts, counter = _day_counts(day)
    mine = counter.transform(reader) if reader else counts[:0]
    return TfidfTransformer(sublinear_tf=True).fit_transform(vstack([counts, mine]).tocsr())


def _regression() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=200, solver="liblinear")


def fit_reader(
    candidates: Sequence[Paper], reader: Mapping[str, Paper], evidence: Evidence
) -> Learned | None:
    """The reader's model applied to the day's candidates; None in the cold start (fewer
    than `MIN_POSITIVES` positives whose texts are known)."""
    known = [pid for pid in evidence.positives if pid in reader]
    if not evidence.active or len(known) < MIN_POSITIVES or not candidates:
        return None
    examples = _examples(evidence, reader, candidates)
    if len(set(examples.labels)) < 2:
        return None
    matrix = _features(
        tuple(document_tokens(p) for p in candidates),
        [document_tokens(p) for p in examples.papers],
    )
    day = matrix[: len(candidates)]
    train = matrix[len(candidates) :]
    model = _regression()
    model.fit(train, examples.labels, sample_weight=examples.weights)
    scores = _percentiles(candidates, model.decision_function(day))
    return Learned(
        scores=scores,
        weight=model_weight(evidence),
        similar=_similar(candidates, day, examples, train, evidence),
    )


def _percentiles(candidates: Sequence[Paper], decision: Any) -> dict[str, float]:
    """Each candidate's place in the model's order of the day, 0 (last) to 1 (first).

    On a few dozen examples the regression's probabilities bunch around one half; its
    order is what it knows, and a percentile puts it on the interest scores' scale.
    """
    from scipy.stats import rankdata

    n = len(candidates)
    if n == 1:
        return {candidates[0].paper_id: 0.5}
    ranks = rankdata(decision, method="average")
    return {p.paper_id: float(r - 1) / (n - 1) for p, r in zip(candidates, ranks, strict=True)}


def _similar(
    candidates: Sequence[Paper],
    day: Any,
    examples: _Examples,
    train: Any,
    evidence: Evidence,
) -> dict[str, Similar]:
    """For each candidate, the seed or liked paper it is closest to, when close enough."""
    seeds, liked = set(evidence.seeds), set(evidence.liked)
    rows = [
        i
        for i, p in enumerate(examples.papers)
        if examples.labels[i] == 1 and (p.paper_id in liked or p.paper_id in seeds)
    ]
    if not rows:
        return {}
    # TF-IDF rows are L2-normalised: the dot product is the cosine.
    sims = (day @ train[rows].T).toarray()
    ids = [examples.papers[r].paper_id for r in rows]
    out: dict[str, Similar] = {}
    for i, paper in enumerate(candidates):
        if paper.paper_id in seeds or paper.paper_id in liked:  # the reader's own paper
            kind: Literal["seed", "liked"] = "liked" if paper.paper_id in liked else "seed"
            out[paper.paper_id] = Similar(paper_id=paper.paper_id, kind=kind, similarity=1.0)
            continue
        row = [
            -1.0 if pid == paper.paper_id else float(v) for pid, v in zip(ids, sims[i], strict=True)
        ]
        j = max(range(len(row)), key=row.__getitem__)
        best, other = row[j], ids[j]
        if best >= SIMILAR_MIN:
            out[paper.paper_id] = Similar(
                paper_id=other, kind="liked" if other in liked else "seed", similarity=best
            )
    return out


def explain(reader: Mapping[str, Paper], evidence: Evidence, n: int = 6) -> Explanation:
    """The terms the reader's own papers weigh most for and against (fitted on those papers
    alone: no day is needed), and the counts of positives and negatives known."""
    examples = _examples(evidence, reader, ())
    positives = sum(examples.labels)
    negatives = len(examples.labels) - positives
    if positives == 0:
        return Explanation([], [], positives, negatives)
    vectorizer = _vectorizer()
    matrix = vectorizer.fit_transform([document_tokens(p) for p in examples.papers])
    names = vectorizer.get_feature_names_out()
    surfaces: dict[str, str] = {}
    for p in examples.papers:
        for tok, word in surface_forms(f"{p.title}. {p.abstract}").items():
            surfaces.setdefault(tok, word)
    if negatives == 0:  # seed papers only: what they have most in common
        coef = matrix.mean(axis=0).A1
    else:
        model = _regression()
        model.fit(matrix, examples.labels, sample_weight=examples.weights)
        coef = model.coef_[0]
    order = sorted(range(len(names)), key=lambda i: -coef[i])

    def shown(i: int) -> str:
        return " ".join(surfaces.get(t, t) for t in str(names[i]).split())

    terms_for = [shown(i) for i in order if coef[i] > 0][:n]
    terms_against = [shown(i) for i in reversed(order) if coef[i] < 0][:n]
    return Explanation(_distinct(terms_for), _distinct(terms_against), positives, negatives)


def _distinct(terms: list[str]) -> list[str]:
    """Terms without one that a longer kept term already says ("memory", "agent memory")."""
    out: list[str] = []
    for t in terms:
        if any(t in kept.split() or kept in t.split() for kept in out):
            continue
        out.append(t)
    return out
