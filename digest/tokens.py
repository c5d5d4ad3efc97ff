"""Words as ranking and learning see them: lowercased, stopword-free, lightly stemmed,
with a few field terms made one form ("reinforcement learning" and "RL").

A paper's document is its title (twice), abstract, keywords and AI summary, without the
abstract's boilerplate ("Code is available at …", "We release our code and data"): such
sentences say nothing of the topic, and "code" in them must not tie a paper to code agents.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Final

from digest.models import Paper

__all__ = [
    "STOPWORDS",
    "canonical",
    "document_tokens",
    "is_boilerplate",
    "supports",
    "surface_forms",
    "tokenize",
    "without_boilerplate",
]

# Tokenised papers kept in memory (a day has a few hundred candidates; several days fit).
DOCUMENT_CACHE: Final = 4096
TITLE_REPEAT: Final = 2  # the title counts twice: it is the densest statement of the topic

# A compact English stopword list; idf already discounts common words, this removes the
# ones that would otherwise make phrases like "tool use and function calling" match noise.
_STOPWORD_TEXT: Final = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    either et etc few for from further had has have having he her here hers him his how i
    if in into is it its itself just may me might more most must my no nor not of off on
    once only or other our ours out over own per same she should so some such than that
    the their theirs them then there these they this those through thus to too under until
    up upon us very via was we were what when where which while who whom why will with
    within without would yet you your
"""
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"[^\W_]+")
_ACRONYM = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z0-9]s?")  # RLVR, LLMs, GPT4, A2C
# Field terms written several ways become one form before tokenising.
_CANONICAL: Final = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in [
        (r"\breinforcement[\s-]+learning\b", " RL "),
        (r"\blarge[\s-]+language[\s-]+models?\b", " LLM "),
        (r"\bvision[\s-]+language[\s-]+models?\b", " VLM "),
        (r"\bretrieval[\s-]+augmented[\s-]+generation\b", " RAG "),
        (r"\bmixture[\s-]+of[\s-]+experts\b", " MOE "),
        (r"\bchain[\s-]+of[\s-]+thoughts?\b", " COT "),
        (r"\b(pre|post)[\s-]+(train|tun)", r"\1\2"),  # pre-training -> pretraining
        (r"\bfine[\s-]+tun", "finetun"),
    ]
)


def _stem(word: str) -> str:
    """Light, deterministic suffix stripping: agents/agent, learning/learn, policies/policy.

    Surface forms meet rather than produce real words: code/coding -> "cod".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    stem = word
    if stem.endswith("sses"):
        stem = stem[:-2]
    elif stem.endswith("s") and not stem.endswith(("ss", "us", "is")):
        stem = stem[:-1]
    suffix = 0
    if stem.endswith("ing") and len(stem) >= 6:
        suffix = 3
    elif stem.endswith("ed") and len(stem) >= 6:  # not "based", "embed", "speed"
        suffix = 2
    if suffix:
        stem = stem[:-suffix]
        # planning -> plan, embedding -> embed, modelling -> model; not skilled -> skil.
        if stem[-1] == stem[-2] and (stem[-1] not in "lsz" or (stem[-1] == "l" and len(stem) > 5)):
            stem = stem[:-1]
    if len(stem) > 3 and stem.endswith("e"):
        stem = stem[:-1]
    return stem


def _norm_token(raw: str) -> str | None:
    if _ACRONYM.fullmatch(raw) and sum(c.isupper() for c in raw) >= 2:
        token = raw.removesuffix("s").lower()  # acronyms are not stemmed: RLVR stays rlvr
    else:
        low = raw.lower()
        if low in STOPWORDS:
            return None
        token = _stem(low)
    if len(token) < 2 or token in STOPWORDS:
        return None
    return token


def canonical(text: str) -> str:
    """`text` with the field terms written one way ("reinforcement learning" -> "RL")."""
    for pattern, acronym in _CANONICAL:
        text = pattern.sub(acronym, text)
    return " ".join(text.split())


def tokenize(text: str) -> list[str]:
    """Lowercased, stopword-free, lightly stemmed tokens.

    A hyphenated compound yields its parts: "world-model" matches "world model". A few
    field terms are made one form first: "reinforcement learning" and "RL" are one token,
    "pre-training" and "pretraining" another.
    """
    for pattern, acronym in _CANONICAL:
        text = pattern.sub(acronym, text)
    out: list[str] = []
    for m in _WORD.finditer(text):
        tok = _norm_token(m.group())
        if tok is not None:
            out.append(tok)
    return out


def document_tokens(paper: Paper) -> tuple[str, ...]:
    """The paper's tokens as ranking sees it (title twice, abstract, keywords, AI summary);
    computed once per text in a process."""
    return _document_tokens(paper.title, paper.abstract, tuple(paper.keywords), paper.ai_summary)


def surface_forms(text: str) -> dict[str, str]:
    """Token -> the word it was most often written as in `text` (lowercase unless an
    acronym): how a learned term is shown to a reader ("memori" -> "memory")."""
    for pattern, acronym in _CANONICAL:
        text = pattern.sub(acronym, text)
    counts: dict[str, dict[str, int]] = {}
    for m in _WORD.finditer(text):
        raw = m.group()
        tok = _norm_token(raw)
        if tok is None:
            continue
        shown = raw if raw.isupper() and len(raw) > 1 else raw.lower()
        forms = counts.setdefault(tok, {})
        forms[shown] = forms.get(shown, 0) + 1
    return {tok: max(forms, key=lambda f: (forms[f], -len(f))) for tok, forms in counts.items()}


@functools.lru_cache(maxsize=DOCUMENT_CACHE)
def _document_tokens(
    title: str, abstract: str, keywords: tuple[str, ...], ai_summary: str | None
) -> tuple[str, ...]:
    # Every reader's ranking tokenises the same day's papers: do it once per text.
    fields = [title] * TITLE_REPEAT + [without_boilerplate(abstract), *keywords]
    if ai_summary:
        fields.append(without_boilerplate(ai_summary))
    return tuple(tok for f in fields for tok in tokenize(f))


# "Code is available at …", "We release our code and data", "Project page: …": what such
# a sentence says is where to find things, never what the paper is about.
_BOILERPLATE = re.compile(
    r"https?://|\bgithub\b|\bproject page\b|\bavailable (?:at|online|on)\b"
    r"|\b(?:code|codes|data|dataset|datasets|models?|weights|checkpoints|implementation|"
    r"benchmark|resources)\b[^.;]{0,60}\b(?:(?:is|are|will be|has been|have been) "
    r"(?:publicly |freely |openly )?(?:available|released|open[- ]?sourced)|released|"
    r"open[- ]?sourced)\b"
    r"|\bwe (?:will |also )?(?:publicly |openly )?(?:release|open[- ]?source|make)\b[^.;]{0,50}"
    r"\b(?:code|codes|data|dataset|datasets|models?|weights|checkpoints|implementation)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(])")


def is_boilerplate(sentence: str) -> bool:
    """A sentence about where the code or data is, not about the research."""
    return _BOILERPLATE.search(sentence) is not None


def without_boilerplate(text: str) -> str:
    """`text` without its boilerplate sentences (a text that is only boilerplate stays)."""
    sentences = _SENTENCE.split(text)
    kept = [s for s in sentences if not is_boilerplate(s)]
    return " ".join(kept) if kept else text


# --- does the text support an interest? --------------------------------------------------

_CONJUNCTS = re.compile(r"\s+(?:and|or)\s+|[,;/]")
_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
_PREFIX_MIN = 4  # "agent" supports "agentic" (and back), "rl" does not support "rlvr"
# The field's substrate, implied by every paper it ranks: "LLM agents" are borne out by
# a paper on agents that never writes "LLM".
_IMPLIED: Final = frozenset({"llm", "model"})


@functools.lru_cache(maxsize=DOCUMENT_CACHE)
def _words(doc: tuple[str, ...]) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    return frozenset(doc), frozenset(itertools.pairwise(doc))


@functools.lru_cache(maxsize=1024)
def _conjuncts(phrase: str) -> tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...]:
    """Each "A and B" part of an interest: its tokens, and its hyphenated compounds."""
    out = []
    for part in _CONJUNCTS.split(phrase):
        compounds = tuple(
            parts for m in _COMPOUND.finditer(part) if len(parts := tuple(tokenize(m.group()))) > 1
        )
        bound = {t for c in compounds for t in c}
        tokens = tuple(t for t in tokenize(part) if t not in _IMPLIED or t in bound)
        if tokens:
            out.append((tokens, compounds))
    return tuple(out)


def _has(words: frozenset[str], token: str) -> bool:
    if token in words:
        return True
    if len(token) < _PREFIX_MIN:
        return False
    return any(
        len(w) >= _PREFIX_MIN and (w.startswith(token) or token.startswith(w)) for w in words
    )


def supports(doc: tuple[str, ...], phrase: str) -> bool:
    """Whether a paper's tokens (`document_tokens`) bear out an interest: every word of one
    of its "A and B" parts is there, each hyphenated compound as neighbouring words.

    "model-based reinforcement learning and world models" is not borne out by a paper on
    group-based RL with no world in it; a BM25 score above the threshold alone, from the
    common words, would claim it.
    """
    words, pairs = _words(doc)
    for tokens, compounds in _conjuncts(phrase):
        if all(_has(words, t) for t in tokens) and all(
            all(pair in pairs for pair in itertools.pairwise(c)) for c in compounds
        ):
            return True
    return False
