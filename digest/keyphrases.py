"""The day's key phrases: the topics several of the day's papers share, named as a
researcher names them ("world models", "tool use", "long-horizon agents", "KV cache").

A key phrase is

- an n-gram of two or three words of a title, abstract, Hugging Face AI summary or
  `ai_keywords` entry, inside one clause (punctuation, stopwords and generic research
  words such as "method" or "novel" end a phrase), whose last word is not an adjective,
  used by at least `MIN_PAPERS` of the day's papers and by at most `MAX_SHARE` of them
  (a phrase half the day uses names nothing in particular), and not a fragment that
  its papers only ever write inside one longer phrase ("video world" of "video world
  models"); or
- an established acronym of the field (`ESTABLISHED`: RL, RLVR, LLMs, MoE, ...) under the
  same counts; field terms written out become their acronym first ("reinforcement
  learning" is RL), so both spellings count as one.

A hyphenated compound is one word: "long-horizon agents" is a phrase of two words, and
neither "long" nor "horizon" is ever one on its own. Words are compared in a light
singular form ("world model" and "world models" are one phrase, shown as its papers most
often write it).

Why scikit-learn's `CountVectorizer`: what makes a phrase a theme is a statistic over the
day (how many papers use it), not its weight inside one abstract. The vectorizer is the
maintained, standard implementation of exactly that: word n-grams per document, binary
document frequencies, and the `min_df`/`max_df` pruning. Per-document extractors rank
phrases within one paper: YAKE's top phrases per paper of the sample day shared 11
phrases between papers, four of them fragments ("large language", "capability of
large"). Noun-phrase chunking needs a tagger model that a package cannot ship here. The
phrase rules (clauses, the stop list, whole compounds) are ours, in the tokens handed to
the vectorizer, so that no n-gram spans a removed word.

`day_phrases` is computed once per set of papers in a process and shared by every reader
of that day; a paper's tokens are computed once per text.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from digest.cleaning import latex_to_text
from digest.models import Paper
from digest.ranking import STOPWORDS

__all__ = [
    "ESTABLISHED",
    "GENERIC",
    "MAX_SHARE",
    "MIN_PAPERS",
    "DayPhrases",
    "adjective",
    "day_phrases",
    "normal_words",
]

MIN_PAPERS: Final = 2  # a key phrase is shared: at least two of the day's papers use it
MAX_SHARE: Final = 0.4  # ... and not so many that it names nothing in particular
MAX_WORDS: Final = 3
# Days kept in the process (a brief's day, the day before, /paper cards' days...).
DAY_CACHE: Final = 8
TEXT_CACHE: Final = 8192  # texts whose tokens are kept (a day has ~50 papers x 4 texts)

# Acronyms a researcher names a topic by, with how a sentence writes them.
ESTABLISHED: Final[Mapping[str, str]] = {
    "rl": "RL", "rlvr": "RLVR", "rlhf": "RLHF", "rlaif": "RLAIF", "llm": "LLMs",
    "vlm": "VLMs", "mllm": "MLLMs", "vla": "VLA", "rag": "RAG", "moe": "MoE", "cot": "CoT",
    "sft": "SFT", "dpo": "DPO", "grpo": "GRPO", "ppo": "PPO", "mcts": "MCTS",
    "lora": "LoRA", "mcp": "MCP", "gnn": "GNNs", "vit": "ViT", "asr": "ASR", "ocr": "OCR",
    "nerf": "NeRF", "prm": "PRMs", "kv": "KV",
}  # fmt: skip
# "KV" names a topic only with its cache.
_ONLY_IN_PHRASES: Final = frozenset({"kv"})

# Field terms written out become their acronym (longest first: RLVR before RL).
_EXPANSIONS: Final = tuple(
    (re.compile(pattern, re.IGNORECASE), acronym)
    for pattern, acronym in [
        (r"\b(?:reinforcement[\s-]+learning|RL)\s+(?:with|from)\s+verifiable\s+rewards?\b", "RLVR"),
        (r"\breinforcement[\s-]+learning\s+from\s+human\s+feedback\b", "RLHF"),
        (r"\breinforcement[\s-]+learning\b", "RL"),
        (r"\b(?:multimodal|multi-modal)\s+large[\s-]+language[\s-]+models?\b", "MLLM"),
        (r"\bvision[\s-]+language[\s-]+action\s+models?\b", "VLA"),
        (r"\bvision[\s-]+language[\s-]+models?\b", "VLM"),
        # In this field a language model is a large one: "language model agents" are
        # LLM agents, and a phrase this broad names nothing by itself.
        (r"\b(?:large[\s-]+)?language[\s-]+models?\b", "LLM"),
        (r"\bretrieval[\s-]+augmented[\s-]+generation\b", "RAG"),
        (r"\bmixture[\s-]+of[\s-]+experts\b", "MoE"),
        (r"\bchains?[\s-]+of[\s-]+thoughts?\b", "CoT"),
        (r"\bsupervised\s+fine[\s-]*tuning\b", "SFT"),
        (r"\bdirect\s+preference\s+optimi[sz]ation\b", "DPO"),
        (r"\bgroup\s+relative\s+policy\s+optimi[sz]ation\b", "GRPO"),
        (r"\bproximal\s+policy\s+optimi[sz]ation\b", "PPO"),
        (r"\bmonte[\s-]+carlo\s+tree\s+search\b", "MCTS"),
        (r"\blow[\s-]+rank\s+adaptation\b", "LoRA"),
        (r"\bkey[\s-]+value\s+cache", "KV cache"),
    ]
)

# Research prose that says nothing about a topic: never part of a key phrase.
_GENERIC_TEXT: Final = """
    propose proposes proposed present presents presented introduce introduces introduced
    show shows shown showing find finds found demonstrate demonstrates demonstrated achieve
    achieves achieved achieving improve improves improved improving improvement improvements
    outperform outperforms outperforming enable enables enabled enabling provide provides
    provided yield yields lead leads make makes made require requires remain remains
    paper work works study studies approach approaches method methods technique techniques
    result results performance experiment experiments experimental extensive novel new
    existing current prior previous recent recently simple effective effectively efficient
    efficiently significant significantly substantial substantially consistent consistently
    strong stronger strongly various diverse different multiple several many across wide
    range key crucial important challenge challenges challenging problem problems issue
    issues limitation limitations gap however often typically usually whether first second
    third one two three four five based using use uses used via toward towards including
    include includes large small high low better best good general specific particular
    overall average given able ability abilities well even still much less like across
    address addresses addressing propose designed design designs called named termed
    framework frameworks state art sota baseline baselines fail fails remain thereby
    respectively further furthermore moreover additionally also significantly notably
    task tasks setting settings despite due whereas while remains aim aims goal goals
    artificial intelligence paradigm paradigms way ways end comprehensive publicly
    available single success rate rates code github http https url www evaluate
    evaluated top
    wide-range state-of-the-art end-to-end real-world large-scale
    fine-grained open-source training-free plug-and-play model-agnostic lightweight
    unified holistic systematic thorough robust scalable practical principled standard
    evidence insight insights finding findings contribution contributions capability
    capabilities potential effectiveness outcome outcomes impact aspect aspects
    type types kind kinds form forms part parts number amount set sets variety series
    term terms case cases example examples instance instances point points step steps
    manner fashion scenario scenarios application applications domain domains area areas
    field fields line lines direction directions version versions time times order
    gain gains score scores ratio percent fact every six seven eight nine ten promising
    help helps helped allow allows allowed let lets
"""
GENERIC: Final = frozenset(_GENERIC_TEXT.split())

# Endings of adjectives and adverbs: a phrase does not end with one ("agentic", "robust").
_ADJECTIVE_TAIL: Final = re.compile(r"(?:ic|ive|ous|ful|less|able|ible|ly)$")
# ... except the field's nouns that end so.
_NOUN_TEXT: Final = """
    retrieval signal terminal goal potential interval trial proposal removal survival
    tutorial portal manual journal rival approval arrival animal material total topic
    logic clinic graphic mechanic heuristic metric arithmetic objective alternative
    narrative directive primitive representative executive table label model kernel
    channel panel level tool
"""
_NOUNS: Final = frozenset(_NOUN_TEXT.split())

_BREAK: Final = "|"  # a token no phrase may span
# Generic words that end a topic's name ("tool use", "computer use"), never start one.
_LAST_ONLY: Final = frozenset({"use"})
_CLAUSE = re.compile(r"[,.;:!?()\[\]{}\"“”‘’/|+=<>]+|\s[-–—]+\s|[–—]")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|org|io|ai|net)/\S*", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’-][A-Za-z0-9]+)*")
_ACRONYM = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*[A-Z0-9](?:s)?")


def adjective(word: str) -> bool:
    """Whether a word (a hyphenated compound by its last part) reads as an adjective or
    adverb: not the end of a topic's name. Acronyms and the field's nouns do not."""
    if _ACRONYM.fullmatch(word) and sum(c.isupper() for c in word) >= 2:
        return False
    last = word.lower().split("-")[-1]
    if last in _NOUNS or _singular(last) in _NOUNS:
        return False
    return bool(_ADJECTIVE_TAIL.search(last))


def _singular(word: str) -> str:
    if len(word) <= 3 or not word[-1:].isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ics")):
        return word[:-1]
    return word


def _normal(word: str) -> str | None:
    """A word's comparable form; None when it may not be part of a key phrase."""
    if _ACRONYM.fullmatch(word) and sum(c.isupper() for c in word) >= 2:
        return word.removesuffix("s").lower()  # RL, LLMs -> llm; never stemmed
    low = word.lower().replace("’", "'")
    if low in _LAST_ONLY:
        return low
    if len(low) < 2 or low in STOPWORDS or low in GENERIC or low.endswith("'s"):
        return None
    head, _, last = low.rpartition("-")
    norm = f"{head}-{_singular(last)}" if head else _singular(low)
    if norm in GENERIC or norm in STOPWORDS:
        return None
    return norm


def normal_words(text: str) -> list[str]:
    """The comparable forms of the words of `text` (stopwords and generic words left out),
    as key phrases hold them: "World Models" -> ["world", "model"]."""
    return [n for n, _ in _tokens(_expand(text), False) if n != _BREAK]


def _expand(text: str) -> str:
    for pattern, acronym in _EXPANSIONS:
        text = pattern.sub(acronym, text)
    return text


@functools.lru_cache(maxsize=TEXT_CACHE)
def _tokens(text: str, title: bool) -> tuple[tuple[str, str], ...]:
    """(comparable form, as written) of each word of `text`, with a break token wherever
    a phrase may not continue (punctuation, stopwords, generic words). A title's opening
    verb ("Learning Skill Curation …") is a break too."""
    out: list[tuple[str, str]] = []
    for chunk in _CLAUSE.split(_URL.sub(" | ", text)):
        for n, m in enumerate(_WORD.finditer(chunk)):
            word = m.group()
            norm = _normal(word)
            if norm is None or (title and n == 0 and word.lower().endswith("ing")):
                out.append((_BREAK, ""))
            else:
                out.append((norm, word))
        out.append((_BREAK, ""))
    return tuple(out)


@functools.lru_cache(maxsize=TEXT_CACHE)
def _paper_tokens(
    title: str, abstract: str, summary: str, keywords: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """A paper's words in order: title first (its words end at `title_end`)."""
    parts = [_tokens(_expand(latex_to_text(title)), True)]
    for text in (abstract, summary, *keywords):
        if text:
            parts.append(_tokens(_expand(latex_to_text(text)), False))
    return tuple(t for part in parts for t in part)


Row = tuple[str, str, str, str, tuple[str, ...]]  # id, title, abstract, summary, keywords


def _row(paper: Paper) -> Row:
    return (
        paper.paper_id,
        paper.title,
        paper.abstract,
        paper.ai_summary or "",
        tuple(paper.keywords),
    )


def _title_len(title: str) -> int:
    return len(_tokens(_expand(latex_to_text(title)), True))


def _kept(key: str) -> bool:
    """Whether an n-gram of comparable forms may name a topic."""
    words = key.split(" ")
    if _BREAK in words:
        return False
    if len(words) == 1:
        return key in ESTABLISHED and key not in _ONLY_IN_PHRASES
    last = words[-1]
    if last not in ESTABLISHED and (_ADJECTIVE_TAIL.search(last) and last not in _NOUNS):
        return False
    if any(w in _LAST_ONLY for w in words[:-1]):
        return False
    # "agentic RL" ends with a noun; "RL agentic" does not; no phrase of one word twice.
    return not words[0].endswith("ly") and len(set(words)) == len(words)


def _drop_fragments(holders: dict[str, frozenset[str]], docs: Sequence[Sequence[str]]) -> None:
    """Leave out of `holders` the phrases that only ever occur as part of a longer one:
    one always followed by the same word is the head of a longer phrase ("long-term
    credit" of "long-term credit assignment"), and one every occurrence of which sits
    inside a kept longer phrase is its fragment ("video world" of "video world models")."""
    following: dict[str, set[str]] = {}
    seen: Counter[str] = Counter()
    for norms in docs:
        for n in range(1, MAX_WORDS + 1):
            for i, gram in enumerate(_windows(norms, n)):
                if gram in holders:
                    seen[gram] += 1
                    nxt = norms[i + n] if i + n < len(norms) else _BREAK
                    following.setdefault(gram, set()).add(nxt)
    for key, nexts in following.items():
        if len(nexts) == 1 and _BREAK not in nexts:
            del holders[key]
    for key in sorted(holders, key=lambda k: -len(k.split())):
        for shorter in {key.rsplit(" ", 1)[0], key.split(" ", 1)[-1]} - {key}:
            if key in holders and shorter in holders and seen[shorter] == seen[key]:
                del holders[shorter]


def _display(word: str) -> str:
    """A word as a sentence shows it: title case undone ("Skill" -> "skill"), acronyms
    and names ("RL", "SkillOS") as written."""
    if word[:1].isupper() and word[1:].islower() and "-" not in word:
        return word.lower()
    if "-" in word and all(p[:1].isupper() and p[1:].islower() for p in word.split("-") if p):
        return word.lower()  # "Long-Horizon" -> "long-horizon"
    return word


@dataclass
class DayPhrases:
    """The key phrases of one day's papers: who uses each, and how to name it."""

    size: int
    holders: dict[str, frozenset[str]]  # key -> ids of the papers using it
    by_paper: dict[str, frozenset[str]]  # paper id -> its keys
    in_title: dict[str, frozenset[str]]  # paper id -> its keys said in its title
    _words: dict[str, tuple[tuple[str, str], ...]] = field(repr=False)
    _names: dict[str, str] = field(default_factory=dict, repr=False)

    def keys_of(self, paper_id: str) -> frozenset[str]:
        return self.by_paper.get(paper_id, frozenset())

    def df(self, key: str) -> int:
        return len(self.holders.get(key, ()))

    def idf(self, key: str) -> float:
        return math.log(1.0 + self.size / (self.df(key) + 0.5))

    def name(self, key: str) -> str:
        """How the day's papers write the phrase, most often (an abstract's lowercase
        form before a title's capitals); an acronym as the field writes it."""
        found = self._names.get(key)
        if found is not None:
            return found
        words = key.split(" ")
        if len(words) == 1 and key in ESTABLISHED:
            found = ESTABLISHED[key]
        else:
            forms: Counter[str] = Counter()
            for pid in sorted(self.holders.get(key, ())):
                seq = self._words[pid]
                for i in range(len(seq) - len(words) + 1):
                    if all(seq[i + j][0] == w for j, w in enumerate(words)):
                        forms[" ".join(_display(s) for _, s in seq[i : i + len(words)])] += 1
            best = max(forms.items(), key=lambda kv: (kv[1], kv[0].islower(), kv[0]), default=None)
            found = best[0] if best is not None else key
        self._names[key] = found
        return found


def _windows(words: Sequence[str], n: int) -> Iterable[str]:
    for i in range(len(words) - n + 1):
        yield " ".join(words[i : i + n])


@functools.lru_cache(maxsize=DAY_CACHE)
def _fit(rows: tuple[Row, ...]) -> DayPhrases:
    # scikit-learn costs ~70 MiB and a second or two to import: only a process that
    # builds a brief pays for it, not an idle server.
    from sklearn.feature_extraction.text import CountVectorizer

    words = {row[0]: _paper_tokens(*row[1:]) for row in rows}
    ids = list(words)
    docs = [" ".join(n for n, _ in words[pid]) for pid in ids]
    empty = DayPhrases(len(ids), {}, {}, {}, words)
    if len(ids) < MIN_PAPERS:
        return empty
    vectorizer = CountVectorizer(
        tokenizer=str.split,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, MAX_WORDS),
        binary=True,
        min_df=MIN_PAPERS,
        # A handful of papers: every shared phrase counts.
        max_df=MAX_SHARE if len(ids) * MAX_SHARE >= MIN_PAPERS + 1 else 1.0,
    )
    try:
        matrix = vectorizer.fit_transform(docs).tocsc()
    except ValueError:  # no phrase at all survives the counts
        return empty
    holders: dict[str, frozenset[str]] = {}
    for column, feature in enumerate(vectorizer.get_feature_names_out()):
        key = str(feature)
        if _kept(key):
            rows_of = matrix.indices[matrix.indptr[column] : matrix.indptr[column + 1]]
            holders[key] = frozenset(ids[int(r)] for r in rows_of)
    _drop_fragments(holders, [[n for n, _ in words[pid]] for pid in ids])
    by_paper: dict[str, set[str]] = {pid: set() for pid in ids}
    for key, who in holders.items():
        for pid in who:
            by_paper[pid].add(key)
    in_title: dict[str, frozenset[str]] = {}
    for pid, title, *_ in rows:
        head = [n for n, _ in words[pid][: _title_len(title)]]
        grams = {g for n in range(1, MAX_WORDS + 1) for g in _windows(head, n)}
        in_title[pid] = frozenset(grams & by_paper[pid])
    return DayPhrases(
        len(ids), holders, {k: frozenset(v) for k, v in by_paper.items()}, in_title, words
    )


def day_phrases(papers: Iterable[Paper]) -> DayPhrases:
    """The key phrases of `papers` (one per id, the first wins), computed once per set of
    papers in this process and shared by every reader of the day."""
    unique: dict[str, Paper] = {}
    for p in papers:
        unique.setdefault(p.paper_id, p)
    return _fit(tuple(sorted(_row(p) for p in unique.values())))
