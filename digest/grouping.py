"""Which of the day's papers answer the same question: lexical, deterministic grouping.

A `Lexicon` is built over the day's candidates. Each paper's *terms* are its words and
two-word phrases (title, abstract, HF keywords and AI summary; stopwords and generic
research verbs left out), weighted by where they occur (a title term counts most) and by
how rare they are among the candidates (idf). Two papers are *related* when

- they share a matched interest of the reader (both matched one),
- the cosine of their term vectors is at least `RELATED_SIMILARITY`, and
- they share at least `MIN_SHARED_TERMS` distinctive terms (each in at most
  `DISTINCTIVE_DF` of the candidates), one of them a phrase or a word of both titles.

`plan_picks` walks the shown papers best first: each paper not yet placed opens a pick and
takes up to `MAX_GROUP - 1` later papers related to it (and to each other), until the
reader's number of picks is reached; the rest are worth a glance. Only word statistics of
the day decide: no paper id, no list of topics.

Groups and themes are *named* by the day's key phrases (`digest.keyphrases`): a group by
the phrases all its papers use ("skill library", "RL"), `themes` by a phrase or an
established acronym at least `MIN_THEME_PAPERS` shown papers use ("world models", "RL"),
for the overview and the conclusion. Never a loose word cut out of a compound.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from digest.cleaning import latex_to_text
from digest.keyphrases import GENERIC, DayPhrases, day_phrases, normal_words
from digest.models import Paper, Ranked
from digest.ranking import STOPWORDS, tokenize

__all__ = [
    "Group",
    "Lexicon",
    "Plan",
    "Theme",
    "lexicon_of",
    "merge_groups",
    "plan_picks",
    "short_name",
    "themes",
]

MAX_GROUP: Final = 3  # papers under one pick (the reference groups two and three)
RELATED_SIMILARITY: Final = 0.2
MIN_SHARED_TERMS: Final = 2
DISTINCTIVE_DF: Final = 0.25  # a term in more of the candidates says nothing specific
GENERIC_DF: Final = 0.5  # ... and one in half of them is left out entirely
MIN_THEME_PAPERS: Final = 3
MAX_THEMES: Final = 3
TITLE_WEIGHT: Final = 3.0
KEYWORD_WEIGHT: Final = 2.0
ABSTRACT_CAP: Final = 3  # occurrences of a term in the abstract that count
PHRASE_BONUS: Final = 1.3  # a two-word phrase is more specific than either word
THEME_WORD_BONUS: Final = 0.25  # each word beyond the first: a longer phrase says more
THEME_TITLE_BONUS: Final = 1.0  # ... and titles name what a paper is about
GROUP_TERMS: Final = 2  # phrases a group heading names
# Endings of adjectives and adverbs ("agentic", "adaptive"): a phrase does not end with
# one, and a lone one is not a term worth naming.
_ADJECTIVE_TAIL = re.compile(r"(?:ic|ive|ous|ful|less|able|ible|ly)$")
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


def _adjective(word: str) -> bool:
    """Whether a lone word (or hyphenated compound) reads as an adjective or adverb, not a
    topic. A phrase of several words is not."""
    if " " in word:
        return False
    low = word.lower()
    if word.isupper() or low in _NOUNS or low.split("-")[-1] in _NOUNS:
        return False
    return bool(_ADJECTIVE_TAIL.search(low) or _ADJECTIVE_LOOSE.search(low))


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
class _Doc:
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
            ends_as_noun = not _ADJECTIVE_TAIL.search(nshown.lower()) or nshown.isupper()
            if len(key.split()) + len(nkey.split()) <= 3 and key != nkey and ends_as_noun:
                yield f"{key} {nkey}", f"{shown} {nshown}"


def _document(paper: Paper) -> _Doc:
    doc = _Doc()
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


def _finish(docs: Mapping[str, _Doc], df: Counter[str]) -> None:
    """A phrase said once, and by no other paper, is prose ("agent selects"), not a term:
    it leaves the paper's strong terms."""
    for doc in docs.values():
        doc.strong = {
            k
            for k in doc.strong
            if " " not in k or k in doc.title or df.get(k, 0) >= 2 or doc.weights[k] >= 2.0
        }


class Lexicon:
    """Term statistics of the day's candidates, and each paper's weighted terms.

    Build it with `lexicon_of`: one Lexicon per set of papers in a process, shared by
    every reader of the day. Its statistics never change once built; the vectors it
    computes on demand are cached in it.
    """

    def __init__(self, papers: Iterable[Paper]) -> None:
        self._docs: dict[str, _Doc] = {}
        corpus = list(papers)
        for p in corpus:
            self._docs.setdefault(p.paper_id, _document(p))
        self.phrases: DayPhrases = day_phrases(corpus)
        self.size = len(self._docs)
        df: Counter[str] = Counter()
        for doc in self._docs.values():
            df.update(doc.weights.keys())
        self._df = df
        _finish(self._docs, df)
        self._vectors: dict[str, dict[str, float]] = {}
        self._norms: dict[str, float] = {}
        self._outside: dict[str, _Doc] = {}
        # Per pair of the day's papers (every reader asks about the same pairs).
        self._similar: dict[tuple[str, str], float] = {}
        self._shared: dict[tuple[str, str], list[str]] = {}

    def _doc(self, paper: Paper) -> _Doc:
        doc = self._docs.get(paper.paper_id)
        if doc is None:  # a paper outside the corpus: its terms, the day's statistics
            doc = self._outside.get(paper.paper_id)
            if doc is None:
                doc = self._outside[paper.paper_id] = _document(paper)
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

    def _vector(self, doc: _Doc) -> dict[str, float]:
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
            if _adjective(shown) or _ADJECTIVE_TAIL.search(shown.lower()):
                continue  # "self-evolving", "incentivizing agentic": not a topic
            # A word inside a chosen phrase, or a phrase around a chosen word, adds little.
            if any(words <= set(c.split()) or set(c.split()) <= words for c in keys):
                continue
            keys.append(k)
            out.append(shown)
            if len(out) >= n:
                break
        return out

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


# --- groups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Papers under one pick, best first, with what they share."""

    paper_ids: tuple[str, ...]
    terms: tuple[str, ...] = ()  # shared distinctive terms, as shown in the texts
    interest: str | None = None  # the matched interest they share (the profile's phrase)
    title: str = ""  # a heading written by the LLM that proposed the group
    proposed_by_llm: bool = False


@dataclass(frozen=True)
class Plan:
    picks: list[Ranked]  # every pick, groups' members together, best group first
    others: list[Ranked]
    groups: list[Group]  # groups of two or more papers only
    lexicon: Lexicon

    def group_of(self, paper_id: str) -> Group | None:
        return next((g for g in self.groups if paper_id in g.paper_ids), None)


def _bare(paper_id: str) -> str:
    return re.sub(r"v\d+$", "", paper_id.strip().lower().removeprefix("arxiv:"))


def _shared_interest(a: Ranked, b: Ranked) -> str | None:
    common = [m for m in a.matched if m in b.matched]
    return common[0] if common else None


def _related(lex: Lexicon, a: Ranked, b: Ranked) -> bool:
    if _shared_interest(a, b) is None:
        return False
    if lex.similarity(a.paper, b.paper) < RELATED_SIMILARITY:
        return False
    shared = lex.shared(a.paper, b.paper)
    if len(shared) < MIN_SHARED_TERMS:
        return False
    va, vb = lex._doc(a.paper), lex._doc(b.paper)
    return any(" " in k or (k in va.title and k in vb.title) for k in shared)


def _describe(lex: Lexicon, members: Sequence[Ranked]) -> Group:
    """The group with what all its papers share: the day's key phrases each of them uses
    (said in a title first, then the most specific), not the words of the interest they
    share (the heading names that interest already)."""
    first = members[0]
    interest = first.matched[0] if first.matched else None
    for m in first.matched:
        if all(m in r.matched for r in members[1:]):
            interest = m
            break
    day = lex.phrases
    ids = [r.paper.paper_id for r in members]
    shared = set.intersection(*(set(day.keys_of(pid)) for pid in ids))
    said = set(normal_words(interest)) if interest else set()

    def order(key: str) -> tuple[int, int, int, str]:
        titled = sum(key in day.in_title.get(pid, ()) for pid in ids)
        return (-titled, day.df(key), -len(key.split()), key)

    terms: list[str] = []
    used: list[set[str]] = []
    for key in sorted(shared, key=order):
        words = set(key.split())
        if words <= said or any(words & u for u in used):
            continue  # the interest's own words; or a word a chosen phrase already says
        terms.append(day.name(key))
        used.append(words)
        if len(terms) >= GROUP_TERMS:
            break
    return Group(paper_ids=tuple(ids), terms=tuple(terms), interest=interest)


def plan_picks(
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    *,
    top_picks: int,
    corpus: Iterable[Paper] = (),
) -> Plan:
    """The picks as groups: related papers (among picks and others) under one pick, as
    many picks as the reader asked for, the rest worth a glance (in their order)."""
    pool = [*picks, *others]
    papers = {p.paper_id: p for p in corpus}
    for r in pool:
        papers.setdefault(r.paper.paper_id, r.paper)
    lex = lexicon_of(papers.values())
    placed: set[str] = set()
    units: list[list[Ranked]] = []
    for i, anchor in enumerate(pool):
        if len(units) >= top_picks:
            break
        pid = anchor.paper.paper_id
        if pid in placed:
            continue
        members = [anchor]
        placed.add(pid)
        # The most similar related papers join first, each related to every member.
        later = [c for c in pool[i + 1 :] if c.paper.paper_id not in placed]
        later.sort(key=lambda c: -lex.similarity(anchor.paper, c.paper))
        for cand in later:
            if len(members) >= MAX_GROUP:
                break
            if all(_related(lex, m, cand) for m in members):
                members.append(cand)
                placed.add(cand.paper.paper_id)
        # Members keep the ranking's order under the pick.
        rank_of = {r.paper.paper_id: n for n, r in enumerate(pool)}
        members.sort(key=lambda r: rank_of[r.paper.paper_id])
        units.append(members)
    flat = [r for unit in units for r in unit]
    rest = [r for r in pool if r.paper.paper_id not in placed]
    groups = [_describe(lex, unit) for unit in units if len(unit) > 1]
    return Plan(picks=flat, others=rest, groups=groups, lexicon=lex)


def merge_groups(plan: Plan, proposed: Sequence[tuple[Sequence[str], str]]) -> Plan:
    """The plan with groups an LLM proposed among the picks: (pick ids, heading) pairs,
    each of 2-MAX_GROUP picks, disjoint from each other; lexical groups they overlap are
    dissolved. Unknown ids and malformed groups are ignored."""
    by_id = {r.paper.paper_id: r for r in plan.picks}
    bare = {_bare(pid): pid for pid in by_id}
    taken: set[str] = set()
    llm_groups: list[tuple[tuple[str, ...], str]] = []
    for ids, title in proposed:
        known = (bare.get(_bare(i)) for i in ids)
        clean = tuple(dict.fromkeys(i for i in known if i is not None))
        if 2 <= len(clean) <= MAX_GROUP and not taken & set(clean):
            llm_groups.append((clean, " ".join(title.split())))
            taken |= set(clean)
    if not llm_groups:
        return plan
    kept = [g for g in plan.groups if not taken & set(g.paper_ids)]
    order = {r.paper.paper_id: i for i, r in enumerate(plan.picks)}
    described: list[Group] = []
    for ids, title in llm_groups:
        members = sorted((by_id[i] for i in ids), key=lambda r: order[r.paper.paper_id])
        g = _describe(plan.lexicon, members)
        described.append(
            Group(
                g.paper_ids,
                terms=g.terms,
                interest=g.interest,
                title=title,
                proposed_by_llm=True,
            )
        )
    groups = kept + described
    # Re-order the picks: each unit at its best member's place, members together.
    unit_of: dict[str, tuple[str, ...]] = {}
    for g in groups:
        for pid in g.paper_ids:
            unit_of[pid] = g.paper_ids
    seen: set[str] = set()
    picks: list[Ranked] = []
    for r in plan.picks:
        pid = r.paper.paper_id
        if pid in seen:
            continue
        unit = unit_of.get(pid, (pid,))
        for member in sorted(unit, key=lambda x: order[x]):
            picks.append(by_id[member])
            seen.add(member)
    groups.sort(key=lambda g: min(order[p] for p in g.paper_ids))
    return Plan(picks=picks, others=plan.others, groups=groups, lexicon=plan.lexicon)


# --- themes ----------------------------------------------------------------------------


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
