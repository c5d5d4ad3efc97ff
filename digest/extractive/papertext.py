"""A paper's own sentences, chosen by rules: what it contributes, its strongest other
sentence, the figures it states, what kind of paper it is, and the most telling sentence
that fits a line."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal

from digest.cleaning import clean_sentence, clean_title, latex_to_text, shorten, survey_topic
from digest.models import Paper
from digest.sentences import split_sentences
from digest.tokens import is_boilerplate

__all__ = ["PaperKind", "PaperText", "fitting_sentence", "paper_text"]

# Papers whose cleaned texts are kept (a day has ~50, a week of days fits).
TEXT_CACHE: Final = 4096

PaperKind = Literal["survey", "benchmark", "dataset", "analysis", "method"]

_CONTRIBUTION_CUE = re.compile(
    r"\b(?:we|this (?:paper|work|survey|review|study)|our (?:work|paper|survey))\s+"
    r"(?:\w+ly\s+)?(?:propose|introduce|present|develop|design|formali[sz]e|build|release|"
    r"construct|offer|provide|survey|review|summari[sz]e|categori[sz]e|organi[sz]e|study|"
    r"establish|derive|identify|curate|collect|create)",
    re.IGNORECASE,
)
_RESULT_CUES: Final = (
    "outperform", "achiev", "improv", "state-of-the-art", "surpass", "reduc", "gains ",
    "speedup", "faster", "accuracy", "success rate", "results show", "experiments",
    "we show", "we find", "we demonstrate", "demonstrate", "consistently", "generaliz",
)  # fmt: skip
_FIGURE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:%|×|x\b|-fold\b|pp\b|points?\b)")
_LINK_CUE = re.compile(r"https?://|github|available at|project page|code (?:is|and)", re.I)
_MIN_SENTENCE: Final = 40

_BENCHMARK = re.compile(r"\bbenchmark(?:s|ing)?\b|\barena\b|\bleaderboard\b", re.IGNORECASE)
_DATASET = re.compile(r"\bdataset\b|\bcorpus\b", re.IGNORECASE)
_ANALYSIS_TITLE = re.compile(
    r"^(?:how|why|when|what|can|do|does|is|are|should|understanding|rethinking|on the|"
    r"towards understanding|revisiting|who)\b|\?",
    re.IGNORECASE,
)
_ANALYSIS_CUE = re.compile(
    r"\bwe (?:study|analy[sz]e|investigate|examine|characteri[sz]e|argue|find|show that)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PaperText:
    """A paper's own words, cleaned: the contribution and a key sentence (unquoted)."""

    contribution: str
    key: str
    figures: tuple[str, ...]  # figures its abstract states ("20.9%"), for "read closely"
    kind: PaperKind
    survey: str | None  # what a survey surveys


_RESULT = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in _RESULT_CUES) + ")", re.I)


def _score(sentence: str) -> float:
    score = 2.0 * len({m.group().lower() for m in _RESULT.finditer(sentence)})
    score += 1.5 * min(2, len(_FIGURE.findall(sentence)))
    if len(sentence) < _MIN_SENTENCE:
        score -= 2
    if _LINK_CUE.search(sentence):
        score -= 4  # "Code is available at <url>" says nothing once the URL is gone
    return score


def _kind(raw_title: str, contribution: str, survey: str | None) -> PaperKind:
    title = clean_title(raw_title)
    if survey is not None:
        return "survey"
    head = title.split(":", 1)[-1] if ":" in title else title
    if _BENCHMARK.search(head) or re.search(r"\ba (?:new )?benchmark\b", contribution, re.I):
        return "benchmark"
    if _DATASET.search(head):
        return "dataset"
    if _ANALYSIS_TITLE.search(title) or (
        _ANALYSIS_CUE.search(contribution) and not _CONTRIBUTION_CUE.search(contribution)
    ):
        return "analysis"
    return "method"


def paper_text(paper: Paper) -> PaperText:
    """The contribution (HF AI summary, else the sentence saying what the paper proposes,
    else its first sentence) and the strongest other sentence (a result, preferably).
    Computed once per paper's text in a process: every reader of the day shares it."""
    return _paper_text(paper.title, paper.abstract, paper.ai_summary or "")


@functools.lru_cache(maxsize=TEXT_CACHE)
def _paper_text(title: str, abstract: str, ai_summary: str) -> PaperText:
    sentences = [clean_sentence(s) for s in split_sentences(latex_to_text(abstract))]
    sentences = [s for s in sentences if s]
    survey = survey_topic(title, abstract)
    ai = clean_sentence(ai_summary)
    cue = next((s for s in sentences if _CONTRIBUTION_CUE.search(s)), None)
    if survey is not None and cue is not None:
        contribution = cue  # what the survey does, in its own words
    elif ai:
        contribution = ai
    elif cue is not None:
        contribution = cue
    elif sentences:
        contribution = sentences[0]
    else:
        contribution = clean_title(title)
    # Results come after what the paper proposes; what comes before is background.
    at = sentences.index(contribution) if contribution in sentences else 0
    pool = [(i, s) for i, s in enumerate(sentences) if i > at and s != contribution]
    best = sorted(pool, key=lambda item: (-_score(item[1]), item[0]))
    key = best[0][1] if best and _score(best[0][1]) > 0 else ""
    figures = tuple(dict.fromkeys(m.group().replace(" ", "") for m in _FIGURE.finditer(key)))
    return PaperText(
        contribution=contribution,
        key=key,
        figures=figures[:3],
        kind=_kind(title, contribution, survey),
        survey=survey,
    )


# "Our central contribution, …", "We argue that …": the paper saying what it stands for.
_OWN_CLAIM = re.compile(r"\bour (?:central |main |key )?contribution\b|\bwe argue\b", re.I)


def fitting_sentence(paper: Paper, text: PaperText, limit: int) -> str:
    """The most telling sentence within `limit` characters: what the paper does or finds,
    with a figure if it has one; the contribution shortened when no sentence fits."""
    if len(text.contribution) <= limit:
        return text.contribution
    pool = [clean_sentence(s) for s in split_sentences(latex_to_text(paper.ai_summary or ""))]
    pool += [clean_sentence(s) for s in split_sentences(latex_to_text(paper.abstract))]
    best: tuple[float, int, str] | None = None
    for order, sentence in enumerate(dict.fromkeys(s for s in pool if s)):
        if len(sentence) > limit or len(sentence) < _MIN_SENTENCE or is_boilerplate(sentence):
            continue
        score = _score(sentence)
        if _CONTRIBUTION_CUE.search(sentence) or _OWN_CLAIM.search(sentence):
            score += 3.0
        if best is None or (score, -order) > (best[0], -best[1]):
            best = (score, order, sentence)
    if best is not None and best[0] > 0:
        return best[2]
    return shorten(text.contribution, limit)
