"""The paper as passages, and the passages that best answer a question.

A passage is a paragraph (long ones cut at sentence ends, short ones joined to the next
in the same section), a table (caption and cells) or a figure caption, with what cites
it: "§3.2 Main results", "Table 1", and for a PDF the page. Retrieval is lexical: BM25
(rank-bm25) over each passage's words plus its section title, stemmed (Snowball, English)
and without stop words. A question none of whose words occur in the paper matches
nothing: the answer then says so instead of guessing. Chinese questions are matched
through the English terms they contain and a small glossary of research words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from digest.fulltext.model import FullText, Section

if TYPE_CHECKING:
    import snowballstemmer

__all__ = [
    "Citation",
    "Index",
    "Passage",
    "estimate_tokens",
    "forget_indexes",
    "index_of",
    "passages_of",
    "tokens_of",
]

MAX_PASSAGE_WORDS = 160
MIN_PASSAGE_WORDS = 30
TABLE_ROWS = 20
TITLE_WEIGHT = 2  # a section's title words count this many times in each of its passages

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+(?:\.\d+)?")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_STOP = frozenset(
    [
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
        "do", "does", "done", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into",
        "is", "it", "its", "may", "might", "more", "most", "much", "no", "not", "of", "on", "or",
        "our", "over", "so", "such", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "about",
        "also", "any", "all", "each", "paper", "authors", "author", "work", "study", "show",
        "shows", "shown", "use", "used", "using", "uses", "does", "say", "said", "tell", "tells",
        "mention", "mentioned", "describe", "described", "explain", "explained",
    ]
)  # fmt: skip
# Research words a Chinese question uses, in the English a paper is written in.
_GLOSSARY = {
    "数据集": "dataset datasets data",
    "数据": "data",
    "训练": "training train",
    "预训练": "pretraining pretrain",
    "微调": "fine-tuning finetune",
    "结果": "results",
    "实验": "experiments experimental",
    "局限": "limitations limitation",
    "不足": "limitations",
    "方法": "method approach",
    "代码": "code",
    "开源": "code release released open",
    "基准": "benchmark benchmarks",
    "评测": "evaluation evaluate benchmark",
    "准确率": "accuracy",
    "参数": "parameters",
    "学习率": "learning rate",
    "消融": "ablation ablations",
    "基线": "baseline baselines",
    "对比": "baseline compared comparison",
    "性能": "performance",
    "效率": "efficiency efficient",
    "奖励": "reward",
    "损失": "loss",
    "超参数": "hyperparameters",
    "硬件": "gpu gpus hardware",
    "显卡": "gpu gpus",
    "规模": "scale size",
    "模型": "model",
    "专家": "experts expert",
    "推理": "inference reasoning",
}


@cache
def _stemmer() -> snowballstemmer.stemmer:
    # Imported on first use (with rank_bm25 below): both are slow to import, and most
    # commands read no paper.
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def tokens_of(text: str) -> list[str]:
    """Lower-cased, stop words out, stemmed; Chinese research words as their English."""
    extra = [en for zh, en in _GLOSSARY.items() if zh in text] if _CJK.search(text) else []
    words = [w.lower() for w in _WORD.findall(" ".join([text, *extra]))]
    kept = [w for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]
    return list(_stemmer().stemWords(kept))


@cache
def _generic() -> frozenset[str]:
    """Words every paper uses: matching only these does not mean the paper says what was
    asked (stemmed on first use, not at import)."""
    return frozenset(
        tokens_of(
            "model models method approach result results performance perform propose proposed "
            "technique system framework new good better work task tasks"
        )
    )


def estimate_tokens(text: str) -> int:
    """Roughly what an LLM tokenizer counts: ~4 characters a token, a CJK character each."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


@dataclass(frozen=True)
class Citation:
    label: str  # "§3 Experiments", "Table 1", "§2 Method (p. 4)"
    url: str | None


@dataclass(frozen=True)
class Passage:
    text: str
    section: str  # the label of its section
    cite: Citation
    kind: str = "text"  # "text" | "table" | "figure"
    order: int = 0  # position in the paper

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


def _section_cite(text: FullText, section: Section, page: int | None) -> Citation:
    if text.kind == "html":
        url = f"{text.url}#{section.anchor}" if section.anchor else text.url
        return Citation(section.label, url)
    shown = f"{section.label} (p. {page})" if page else section.label
    return Citation(shown, f"{text.url}#page={page}" if page else text.url)


def _chunks(paragraphs: Sequence[tuple[str, int | None]]) -> list[tuple[str, int | None]]:
    """Long paragraphs cut at sentence ends; short ones joined to the next."""
    out: list[tuple[str, int | None]] = []
    pending = ""
    pending_page: int | None = None
    for text, page in paragraphs:
        if pending:
            text, page = f"{pending} {text}", pending_page
            pending = ""
        words = text.split()
        if len(words) < MIN_PASSAGE_WORDS:
            pending, pending_page = text, page
            continue
        if len(words) <= MAX_PASSAGE_WORDS:
            out.append((text, page))
            continue
        current: list[str] = []
        for sentence in _SENTENCE.split(text):
            if (
                current
                and len(" ".join(current).split()) + len(sentence.split()) > MAX_PASSAGE_WORDS
            ):
                out.append((" ".join(current), page))
                current = []
            current.append(sentence)
        if current:
            out.append((" ".join(current), page))
    if pending:
        out.append((pending, pending_page))
    return out


def passages_of(text: FullText) -> list[Passage]:
    out: list[Passage] = []
    by_anchor = {s.anchor: s for s in text.sections if s.anchor}
    by_number = {s.number: s for s in text.sections if s.number}
    for section in text.sections:
        for chunk, page in _chunks([(p.text, p.page) for p in section.paragraphs]):
            cite = _section_cite(text, section, page)
            out.append(Passage(chunk, section.label, cite, "text", len(out)))
    for table in text.tables:
        home = by_anchor.get(table.section) or by_number.get(table.section)
        where = home.label if home is not None else ""
        body = f"{table.label}: {table.caption}\n{table.cells_text(TABLE_ROWS)}".strip()
        if text.kind == "html":
            url = f"{text.url}#{table.anchor}" if table.anchor else text.url
            cite = Citation(table.label, url)
        else:
            label = f"{table.label} (p. {table.page})" if table.page else table.label
            cite = Citation(label, f"{text.url}#page={table.page}" if table.page else text.url)
        out.append(Passage(body, where, cite, "table", len(out)))
    for figure in text.figures:
        if not figure.caption:
            continue
        home = by_anchor.get(figure.section) or by_number.get(figure.section)
        url = f"{text.url}#{figure.anchor}" if text.kind == "html" and figure.anchor else text.url
        out.append(
            Passage(
                f"{figure.label}: {figure.caption}",
                home.label if home is not None else "",
                Citation(figure.label, url),
                "figure",
                len(out),
            )
        )
    return out


class Index:
    """BM25 over a paper's passages."""

    def __init__(self, text: FullText) -> None:
        self.passages = passages_of(text)
        docs = [
            tokens_of(p.text) + tokens_of(_bare_title(p.section)) * TITLE_WEIGHT
            for p in self.passages
        ]
        self._df: dict[str, int] = {}
        for d in docs:
            for t in set(d):
                self._df[t] = self._df.get(t, 0) + 1
        from rank_bm25 import BM25Okapi

        self._bm25 = BM25Okapi(docs) if docs else None

    def search(self, query: str, k: int = 5) -> list[tuple[Passage, float]]:
        """The `k` best passages, best first. [] when no word of the query is in the
        paper, or when it has only the generic words of the question and lacks the others
        ("does it use RLHF with a reward model?": only "model" is in it)."""
        asked = tokens_of(query)
        terms = [t for t in asked if t in self._df]
        if not terms or self._bm25 is None:
            return []
        if len(terms) < len(asked) and all(t in _generic() for t in terms):
            return []

        scores = self._bm25.get_scores(terms)
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [(self.passages[i], float(scores[i])) for i in ranked[:k] if scores[i] > 0]


def _bare_title(label: str) -> str:
    return re.sub(r"^§[\w.]+\s+", "", label)


_INDEXES: dict[tuple[str, str, str], Index] = {}
MAX_INDEXES = 32  # papers whose index this process keeps (a thread asks several times)


def index_of(text: FullText) -> Index:
    """The paper's index, built once per process for the papers asked about lately."""
    key = (text.paper_id, text.url, text.fetched_at.isoformat())
    found = _INDEXES.pop(key, None) or Index(text)
    _INDEXES[key] = found  # most recent last
    while len(_INDEXES) > MAX_INDEXES:
        del _INDEXES[next(iter(_INDEXES))]
    return found


def forget_indexes() -> None:
    """Drop the indexes kept in this process (a benchmark's cold start)."""
    _INDEXES.clear()
