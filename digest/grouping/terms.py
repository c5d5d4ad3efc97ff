"""A paper's terms: its words and two-word phrases (title, abstract, HF keywords, AI
summary), field terms in one form, weighted by where they occur; no stopword, generic
research verb or lone adjective."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from digest.cleaning import latex_to_text
from digest.keyphrases import GENERIC
from digest.models import Paper
from digest.ranking import STOPWORDS, tokenize

__all__ = ["ADJECTIVE_TAIL", "PaperTerms", "is_adjective", "paper_terms", "settle_strong"]

TITLE_WEIGHT: Final = 3.0
KEYWORD_WEIGHT: Final = 2.0
ABSTRACT_CAP: Final = 3  # occurrences of a term in the abstract that count
# Endings of adjectives and adverbs ("agentic", "adaptive"): a phrase does not end with
# one, and a lone one is not a term worth naming.
ADJECTIVE_TAIL = re.compile(r"(?:ic|ive|ous|ful|less|able|ible|ly)$")
# ... nor, alone, with these endings ("self-evolving", "conditioned", "general"), except
# the field's nouns that end so.
_ADJECTIVE_LOOSE = re.compile(r"(?:al|ed|ing|ent|ant)$")
_NOUN_TEXT: Final = """
    retrieval signal terminal goal potential interval trial proposal removal survival
    tutorial portal capital manual journal rival approval arrival animal material total
    learning training reasoning planning scaling thinking modeling modelling ranking
    embedding prompting tuning finetuning pretraining posttraining posttrain setting
    understanding grounding routing sampling decoding caching indexing parsing editing
    agent agents environment environments alignment judgment judgement assignment
    experiment deployment component gradient content intent student patient talent
    event percent element treatment statement assessment management improvement
    constant variant tenant assistant
"""
_NOUNS: Final = frozenset(_NOUN_TEXT.split())


def is_adjective(word: str) -> bool:
    """Whether a lone word (or hyphenated compound) reads as an adjective or adverb, not a
    topic. A phrase of several words is not."""
    if " " in word:
        return False
    low = word.lower()
    if word.isupper() or low in _NOUNS or low.split("-")[-1] in _NOUNS:
        return False
    return bool(ADJECTIVE_TAIL.search(low) or _ADJECTIVE_LOOSE.search(low))


# Field terms written several ways become one form (shown as the short form).
_CANONICAL: Final = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in [
        (r"\breinforcement[\s-]+learning\b", "RL"),
        (r"\blarge[\s-]+language[\s-]+models?\b", "LLMs"),
        (r"\bvision[\s-]+language[\s-]+models?\b", "VLMs"),
        (r"\bretrieval[\s-]+augmented[\s-]+generation\b", "RAG"),
        (r"\bmixture[\s-]+of[\s-]+experts\b", "MoE"),
        (r"\bchains?[\s-]+of[\s-]+thoughts?\b", "CoT"),
    ]
)
_CHUNK = re.compile(r"[,.;:!?()\[\]{}\"“”‘’/|]+|\s[-–—]+\s")
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’\-][A-Za-z0-9]+)*")
_ACRONYM = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z0-9]s?")


def _word_key(word: str) -> str | None:
    low = word.lower()
    if low in STOPWORDS or low in GENERIC or len(word) < 2:
        return None
    if _ACRONYM.fullmatch(word) and sum(c.isupper() for c in word) >= 2:
        return word.removesuffix("s").lower()
    stems = tokenize(word)
    if not stems or any(s in GENERIC for s in stems):
        return None
    return " ".join(stems)


def _display(word: str, in_title: bool) -> str:
    """How a word is shown: title case of a title is undone ("Skill Curation" -> "skill
    curation"); acronyms and names ("RL", "SkillOS") stay as written."""
    if in_title and word[:1].isupper() and word[1:].islower():
        return word.lower()
    return word


@dataclass
class PaperTerms:
    """A paper's term keys with their weights, how each is written, and which are strong."""

    weights: dict[str, float] = field(default_factory=dict)  # raw, before idf
    title: set[str] = field(default_factory=set)
    phrases: set[str] = field(default_factory=set)  # keys of multi-word terms
    surfaces: dict[str, Counter[str]] = field(default_factory=dict)
    strong: set[str] = field(default_factory=set)  # in the title or keywords, or repeated


def _units(text: str, in_title: bool) -> Iterable[list[tuple[str, str]]]:
    """Runs of consecutive topic words (key, shown form) in `text`, split at punctuation,
    stopwords and generic words. A title's opening verb ("Learning Skill Curation …",
    "Rethinking Retrieval …") is not a topic word."""
    for pattern, replacement in _CANONICAL:
        text = pattern.sub(replacement, text)
    for chunk in _CHUNK.split(text):
        run: list[tuple[str, str]] = []
        for n, m in enumerate(_WORDS.finditer(chunk)):
            word = m.group()
            key = _word_key(word)
            opening_verb = in_title and n == 0 and word.lower().endswith("ing")
            if key is None or opening_verb:
                if run:
                    yield run
                run = []
                continue
            run.append((key, _display(word, in_title)))
        if run:
            yield run


def _grams(run: list[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    for i, (key, shown) in enumerate(run):
        yield key, shown
        if " " in key and "-" in shown:  # "skill-augmented": also "skill", "augment"
            for part_key, part in zip(key.split(), shown.split("-"), strict=False):
                if part_key not in GENERIC:
                    yield part_key, part
        if i + 1 < len(run):
            nkey, nshown = run[i + 1]
            # A noun phrase ends with a noun: "agentic RL", not "incentivizing agentic".
            ends_as_noun = not ADJECTIVE_TAIL.search(nshown.lower()) or nshown.isupper()
            if len(key.split()) + len(nkey.split()) <= 3 and key != nkey and ends_as_noun:
                yield f"{key} {nkey}", f"{shown} {nshown}"


def paper_terms(paper: Paper) -> PaperTerms:
    """The paper's terms, weighted by where they occur (a title term counts most)."""
    doc = PaperTerms()
    counts: Counter[str] = Counter()

    def add(text: str, *, weight: float, in_title: bool, cap: bool) -> None:
        seen_here: Counter[str] = Counter()
        for run in _units(latex_to_text(text), in_title):
            for key, shown in _grams(run):
                seen_here[key] += 1
                doc.surfaces.setdefault(key, Counter())[shown] += 1
                if " " in key:
                    doc.phrases.add(key)
                if in_title:
                    doc.title.add(key)
        for key, n in seen_here.items():
            counts[key] += n
            doc.weights[key] = doc.weights.get(key, 0.0) + weight * (
                min(n, ABSTRACT_CAP) if cap else 1.0
            )

    add(paper.title, weight=TITLE_WEIGHT, in_title=True, cap=False)
    add(paper.abstract, weight=1.0, in_title=False, cap=True)
    if paper.ai_summary:
        add(paper.ai_summary, weight=0.5, in_title=False, cap=True)
    for kw in paper.keywords:
        add(kw, weight=KEYWORD_WEIGHT, in_title=False, cap=False)
    keywords = {k for kw in paper.keywords for run in _units(kw, False) for k, _ in _grams(run)}
    doc.strong = doc.title | keywords | {k for k, n in counts.items() if n >= 2}
    return doc


def settle_strong(docs: Mapping[str, PaperTerms], df: Counter[str]) -> None:
    """A phrase said once, and by no other paper, is prose ("agent selects"), not a term:
    it leaves the paper's strong terms."""
    for doc in docs.values():
        doc.strong = {
            k
            for k in doc.strong
            if " " not in k or k in doc.title or df.get(k, 0) >= 2 or doc.weights[k] >= 2.0
        }
