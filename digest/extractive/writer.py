"""What the brief says without a model: the papers' own sentences, and the reader's own
reasons written by rules.

Two kinds of text, never mixed up:

- *Quoted*: a paper's contribution and key result are its abstract's (or Hugging Face AI
  summary's) own English sentences — LaTeX resolved, leading connectives dropped,
  shortened at a clause boundary — and marked as quotations (“…”), whatever the language.
- *Written*: why a paper was picked, how it relates to the reader, why to read it closely,
  the group headings, the theme counts, the overview and the conclusion. These are built
  from facts the code holds (the reader's matched interests and their labels, the paper's
  own distinctive terms from `digest.grouping.lexicon.Lexicon`, HF upvotes, a linked repo, the
  figures its abstract states, what kind of paper it is) in the reader's language, so a
  Chinese reader gets Chinese sentences wherever no model is needed.

The same `Writer` fills the gaps of an LLM brief (a missing relation or reason, the
why-picked line every pick gets, a group the LLM did not title). Themes and group
headings name topics by the day's key phrases (`digest.keyphrases`) and the reader's
interest labels, never by a loose word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from digest.cleaning import clean_sentence, clean_title, latex_to_text, quote, shorten, survey_topic
from digest.extractive.categories import category_label, topic_category
from digest.grouping.groups import Group, Plan
from digest.grouping.lexicon import lexicon_of
from digest.grouping.themes import Theme, interest_counts, short_name, themes
from digest.models import Language, Paper, PaperSummary, Ranked
from digest.notes import MustRead, ReaderNotes
from digest.profile import Profile
from digest.ranking import tokenize
from digest.sentences import split_sentences
from digest.tokens import canonical, is_boilerplate

__all__ = [
    "PaperText",
    "Writer",
    "extractive_summary",
    "paper_text",
    "reader_notes",
    "takeaway",
    "topic_category",
]

CONTRIBUTION_CHARS: Final = 260
KEY_CHARS: Final = 240
# A glance line, lead and quotation marks included: renderers keep up to 162 characters
# whole (bot.layout's one_line), so a sentence chosen to fit is never cut there.
TAKEAWAY_CHARS: Final = 160
MUST_READ: Final = 3
STRONG_MATCH: Final = 0.75  # a best-interest score this high is a close match
# Papers whose cleaned texts and category are kept (a day has ~50, a week of days fits).
TEXT_CACHE: Final = 4096

PaperKind = Literal["survey", "benchmark", "dataset", "analysis", "method"]

# --- the paper's own sentences ---------------------------------------------------------

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


def _contribution(text: PaperText, language: Language, limit: int) -> str:
    quoted = quote(shorten(text.contribution, limit), language)
    if text.survey is None:
        return quoted
    if language == "zh":
        return f"综述“{text.survey}”:{quoted}"
    return f"A survey of “{text.survey}”: {quoted}"


def takeaway(paper: Paper, language: Language, limit: int = TAKEAWAY_CHARS) -> str:
    """One line on the paper, at most about `limit` characters, quoted: the sentence of its
    AI summary or abstract that carries its finding and fits, rather than the first one
    cut short (only when none fits is the contribution shortened)."""
    text = paper_text(paper)
    if text.survey is not None:
        head = f"综述“{text.survey}”" if language == "zh" else f"A survey of “{text.survey}”"
        if len(head) + 8 < limit:
            rest = limit - len(head) - 3
            return f"{head}:{quote(_fitting(paper, text, rest), language)}"
        return head
    return quote(_fitting(paper, text, limit - 2), language)


def _fitting(paper: Paper, text: PaperText, limit: int) -> str:
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


# A title that says what the paper is: a benchmark, a dataset.
_NAMES_ITSELF = re.compile(r"\bbenchmark(?:s|ing)?\b|\bdataset\b", re.IGNORECASE)
# "Our central contribution, …", "We argue that …": the paper saying what it stands for.
_OWN_CLAIM = re.compile(r"\bour (?:central |main |key )?contribution\b|\bwe argue\b", re.I)


def extractive_summary(paper: Paper, language: Language) -> PaperSummary:
    """The paper's own words, cleaned and quoted, with a topical category (in the
    language's own words)."""
    text = paper_text(paper)
    return PaperSummary(
        contribution=_contribution(text, language, CONTRIBUTION_CHARS),
        why=_why(text, language),
        category=category_label(topic_category(paper), language),
        mode="extractive",
    )


_COMPARES = re.compile(r"\b(?:outperform|surpass|beats?\b|better than|state-of-the-art)", re.I)
_FINDS = re.compile(r"\b(?:we (?:find|show|observe|reveal)|results? (?:show|reveal|suggest))", re.I)


def _why(text: PaperText, language: Language) -> str:
    """The key sentence, quoted; a Chinese brief says first, in Chinese, what kind of
    statement it is (the figures it reports, a comparison, a finding)."""
    if not text.key:
        return ""
    quoted = quote(shorten(text.key, KEY_CHARS), language)
    if language != "zh":
        return quoted
    if text.figures:
        lead = f"摘要报告的关键数字是 {'、'.join(text.figures[:2])}"
    elif _COMPARES.search(text.key):
        lead = _pick(text.key, ["作者报告它优于已有方法", "与基线对比的结论", "实验对比给出的结果"])
    elif _FINDS.search(text.key):
        lead = _pick(text.key, ["作者的主要发现", "实验得出的结论"])
    else:
        lead = _pick(text.key, ["摘要中最能说明效果的一句", "作者对效果的描述"])
    return f"{lead}:{quoted}"


def _pick(key: str, options: Sequence[str]) -> str:
    """One of `options`, fixed by the text (papers of one brief differ, a paper's
    summary is the same for every reader)."""
    return options[sum(map(ord, key)) % len(options)]


# --- the reader's own texts ------------------------------------------------------------


def _whole(paper: Paper, term: str) -> bool:
    """Whether `term` stands in the paper's text on its own, not only as a piece of a
    hyphenated compound ("InterLV" of "InterLV-Search", "self" of "self-evolving")."""
    text = f"{paper.title} {paper.abstract} {paper.ai_summary or ''} {' '.join(paper.keywords)}"
    alone = re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w]|-\w)", re.IGNORECASE)
    return alone.search(text) is not None or alone.search(canonical(text)) is not None


def _join(items: Sequence[str], language: Language) -> str:
    if language == "zh":
        return "、".join(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def _sentence(text: str, language: Language) -> str:
    text = text.strip()
    if not text:
        return ""
    if language == "zh":
        return text if text.endswith(("。", "！", "？", "”")) else text + "。"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "”")) else text + "."


class Writer:
    """The rule-written texts of one brief, for one reader.

    `picks` and `others` are the brief's papers (after grouping, when `plan` is given);
    `candidates` is how many papers the day offered.
    """

    def __init__(
        self,
        *,
        profile: Profile,
        language: Language,
        picks: Sequence[Ranked],
        others: Sequence[Ranked],
        plan: Plan | None = None,
        candidates: int | None = None,
    ) -> None:
        self.profile = profile
        self.language = language
        self.picks = list(picks)
        self.others = list(others)
        self.plan = plan
        self.lexicon = plan.lexicon if plan is not None else lexicon_of(self._papers())
        self.candidates = candidates
        self._texts: dict[str, PaperText] = {}
        shown = [*self.picks, *self.others]
        self._max_upvotes = max((r.paper.upvotes or 0 for r in self.picks), default=0)
        self._with_code = sum(1 for r in self.picks if r.paper.github_repo)
        self._themes: list[Theme] | None = None
        self._shown = shown
        self._leads_used: set[str] = set()
        self._variants: dict[str, int] = {}

    def _papers(self) -> list[Paper]:
        return [r.paper for r in (*self.picks, *self.others)]

    # helpers ---------------------------------------------------------------------------

    @property
    def zh(self) -> bool:
        return self.language == "zh"

    def text(self, paper: Paper) -> PaperText:
        found = self._texts.get(paper.paper_id)
        if found is None:
            found = self._texts[paper.paper_id] = paper_text(paper)
        return found

    def label(self, interest: str) -> str:
        return self.profile.label(interest)

    def quoted_label(self, interest: str) -> str:
        """An interest as a sentence names it: 「智能体强化学习」, ‘agentic RL’ (the marks
        keep a label holding "and" apart from the sentence's own "and")."""
        shown = self.label(interest)
        return f"「{shown}」" if self.zh else f"‘{shown}’"

    def name(self, paper: Paper) -> str:
        return short_name(paper.title)

    def own_terms(self, paper: Paper, n: int = 2, *, interests: Sequence[str] = ()) -> list[str]:
        """The paper's most distinctive terms, its own name (and what `interests` already
        say) left out."""
        known = [st for i in interests for st in tokenize(i)]
        terms = self.lexicon.top_terms(paper, n + 2, exclude=[self.name(paper)], known=known)
        terms = terms or self.lexicon.top_terms(paper, n + 2, exclude=[self.name(paper)])
        return [t for t in terms if _whole(paper, t)][:n]

    def matched_phrases(self, r: Ranked, interest: str, n: int = 2) -> list[str]:
        """What in the paper matched `interest`: its own phrases holding the interest's words."""
        stems = tokenize(interest)
        # Words half the day's papers use ("agent", "LLM") match everything: the interest's
        # rarer words say what matched, when it has any.
        rare = [st for st in stems if not self.lexicon.common(st)]
        phrases = self.lexicon.phrases_with(r.paper, rare, n + 1) if rare else []
        if not phrases:
            phrases = self.lexicon.phrases_with(r.paper, stems, n + 1)
        phrases = [p for p in phrases if _whole(r.paper, p)]
        own = [p for p in phrases if p.lower() != interest.lower()]
        return (own or phrases)[:n]

    def group(self, paper_id: str) -> Group | None:
        return self.plan.group_of(paper_id) if self.plan is not None else None

    def themes(self) -> list[Theme]:
        if self._themes is None:
            self._themes = themes(self._shown, self.lexicon, interests=self.profile.interests)
        return self._themes

    # why picked ------------------------------------------------------------------------

    def _variant(self, family: str, options: Sequence[str]) -> str:
        """The next of `options` for this family in this brief: consecutive papers do not
        get the same sentence shape."""
        n = self._variants.get(family, 0)
        self._variants[family] = n + 1
        return options[n % len(options)]

    def evidence(self, r: Ranked) -> list[str]:
        """What the reader told us that picked this paper: a followed author, a paper
        they liked (or one of their own) that it is most like."""
        zh = self.zh
        out: list[str] = []
        if r.followed:
            names = _join(r.followed, self.language)
            out.append(f"来自你关注的作者 {names}" if zh else f"by {names}, whom you follow")
        if r.like is not None:
            pid, kind = r.like
            if pid == r.paper.paper_id:
                out.append(
                    ("这是你的论文之一" if zh else "one of your own papers")
                    if kind == "seed"
                    else ("你已为它点过 👍" if zh else "you liked it already")
                )
            elif kind == "liked":
                out.append(f"与你点过 👍 的 {pid} 相近" if zh else f"like {pid} you liked")
            else:
                out.append(f"与你的论文 {pid} 相近" if zh else f"like your paper {pid}")
        return out

    def _interest_reason(self, r: Ranked) -> str:
        """Which interest the paper serves and what in its text says so, in a shape that
        follows what kind of paper it is and varies from paper to paper."""
        p = r.paper
        zh = self.zh
        top = r.matched[0]
        lab = self.quoted_label(top)
        phrases = self.matched_phrases(r, top)
        titled = [ph for ph in phrases if self.lexicon.in_title(p, ph)]
        said = _join(titled or phrases, self.language) if (titled or phrases) else ""
        kind = self.text(p).kind
        if kind != "method" and said:
            if zh:
                return {
                    "survey": f"一篇综述,系统梳理你关注的{lab}中的 {said}",
                    "benchmark": f"为你关注的{lab}提供新的评测,考察 {said}",
                    "dataset": f"为你关注的{lab}提供新数据,围绕 {said}",
                    "analysis": f"一项分析:它追问你关注的{lab}里关于 {said} 的问题",
                }[kind]
            return {
                "survey": f"a survey that maps {said} within your interest in {lab}",
                "benchmark": f"a new evaluation for your interest in {lab}, testing {said}",
                "dataset": f"new data for your interest in {lab}, built around {said}",
                "analysis": f"an analysis that asks what holds for {said}, within {lab}",
            }[kind]
        close = r.signals.get("bm25", 0.0) >= STRONG_MATCH
        if titled:
            options = (
                [
                    f"标题就点明了 {said},正是你关注的{lab}",
                    f"{said} 写在标题里,属于你关注的{lab}",
                    f"题目直接讲 {said},落在你关注的{lab}上",
                ]
                if zh
                else [
                    f"its title names {said}: squarely your interest in {lab}",
                    f"{said} is in its title, which puts it in {lab}",
                    f"it is about {said} by its very title, your interest in {lab}",
                ]
            )
            return self._variant("titled", options)
        if phrases:
            verb = ("紧扣" if close else "对应") if zh else ("squarely" if close else "close to")
            options = (
                [
                    f"摘要的主线是 {said},{verb}你关注的{lab}",
                    f"正文围绕 {said} 展开,{verb}你关注的{lab}",
                ]
                if zh
                else [
                    f"its abstract turns on {said}, {verb} your interest in {lab}",
                    f"the work centres on {said}, {verb} your interest in {lab}",
                ]
            )
            return self._variant("abstract", options)
        return f"最贴近你关注的{lab}" if zh else f"closest to your interest in {lab}"

    def _also(self, r: Ranked) -> str:
        """Further interests the paper serves (each borne out by its text)."""
        more = [self.quoted_label(m) for m in r.matched[1:3]]
        if not more:
            return ""
        if self.zh:
            return f"也涉及{''.join(more)}"
        return f"it also touches {_join(more, 'en')}"

    def why_picked(self, r: Ranked) -> str:
        """One specific sentence on why this paper is a pick: what the reader told us
        (a followed author, a liked paper it resembles), the interest it serves and what
        in its text says so, further interests, community signal, code."""
        p = r.paper
        zh = self.zh
        parts = self.evidence(r)
        upvotes = p.upvotes or 0
        most_upvoted = upvotes >= 5 and upvotes == self._max_upvotes and len(self.picks) > 1
        if most_upvoted:
            parts.append(
                f"今天入选论文中 HF 点赞最多({upvotes} 赞)"
                if zh
                else f"the most upvoted of today's picks on Hugging Face ({upvotes})"
            )
        if r.matched:
            parts.append(self._interest_reason(r))
            if also := self._also(r):
                parts.append(also)
        elif not parts:
            terms = self.own_terms(p)
            parts.append(
                f"与你的兴趣没有直接的词面匹配,按整体相关度入选(关键词:{_join(terms, 'zh')})"
                if zh
                else "no interest of yours matches it word for word; it was picked for "
                f"overall relevance (its terms: {_join(terms, 'en')})"
            )
        if upvotes and not most_upvoted:
            parts.append(f"HF 上有 {upvotes} 个赞" if zh else f"{upvotes} upvotes on Hugging Face")
        if p.github_repo:
            only = self._with_code == 1 and len(self.picks) > 1
            if zh:
                parts.append("是今天唯一附代码的重点" if only else "附代码仓库")
            else:
                parts.append("the only pick with code today" if only else "code is linked")
        return _sentence((",".join(parts)) if zh else "; ".join(parts), self.language)

    def glance(self, r: Ranked, line: str | None = None) -> str:
        """An other's one line: what the reader told us that put it here (or, in Chinese,
        that it is a benchmark or a dataset), then its telling sentence."""
        lead = self.evidence(r)
        title = clean_title(r.paper.title)
        if self.zh and not lead and line is None and (m := _NAMES_ITSELF.search(title)):
            lead = ["新评测" if m.group().lower().startswith("bench") else "新数据集"]
        head = ""
        if lead:
            head = f"{','.join(lead)}:" if self.zh else f"{_sentence('; '.join(lead), 'en')} "
        limit = TAKEAWAY_CHARS - len(head)
        if line is not None:  # an LLM's sentence
            return head + shorten(line, limit)
        return head + takeaway(r.paper, self.language, limit)

    # relation --------------------------------------------------------------------------

    def relation(self, r: Ranked) -> str:
        """How the paper relates to the reader: the matched interests and the paper's own
        terms, framed by what kind of paper it is."""
        p = r.paper
        zh = self.zh
        name = self.name(p)
        text = self.text(p)
        terms = self.own_terms(p, 2, interests=r.matched[:2])
        t = _join(terms, self.language) if terms else name
        if not r.matched:
            return _sentence(
                f"{name} 与你的兴趣没有明确的交集;它讨论的是 {t},可按需略读"
                if zh
                else f"{name} has no clear overlap with your interests; it is about {t}, "
                "worth a skim if that is close to your work",
                self.language,
            )
        lab = self.quoted_label(r.matched[0])
        second = self.quoted_label(r.matched[1]) if len(r.matched) > 1 else ""
        kind = text.kind
        if not terms and kind == "method":
            head = (
                f"{name} 与你关注的{lab}直接相关"
                if zh
                else f"{name} bears directly on your work on {lab}"
            )
            tail = (
                (f";它也连到{second}" if zh else f"; it also connects to {second}")
                if second
                else ""
            )
            return _sentence(head + tail, self.language)
        if zh:
            head = {
                "survey": f"这是一篇关于“{text.survey}”的综述,可作为你在{lab}方向的地图,"
                f"重点梳理了 {t}",
                "benchmark": f"{name} 提供的是评测:可以用它检验你在{lab}方向的系统,"
                f"关注它如何考察 {t}",
                "dataset": f"{name} 提供的是数据:可用于你在{lab}方向的训练或评测,核心是 {t}",
                "analysis": f"{name} 是分析型工作:它对 {t} 的结论"
                f"可能直接影响你在{lab}方向的设计选择",
                "method": "",
            }[kind] or self._variant(
                "relation",
                [
                    f"在你关注的{lab}上,{name} 的切入点是 {t}",
                    f"如果你在做{lab},{name} 值得借鉴的是 {t}",
                    f"{name} 为{lab}带来的是 {t},可以对照你自己的做法",
                    f"{name} 用 {t} 处理{lab}中的问题",
                ],
            )
            tail = f";它也连到{second}" if second else ""
        else:
            head = {
                "survey": f"a survey of “{text.survey}”: a map for your work on {lab}, "
                f"organised around {t}",
                "benchmark": f"{name} is an evaluation: a way to test your systems for {lab}, "
                f"looking at {t}",
                "dataset": f"{name} is data: usable for training or evaluating {lab}, built "
                f"around {t}",
                "analysis": f"{name} is an analysis: what it finds about {t} bears on design "
                f"choices in {lab}",
                "method": "",
            }[kind] or self._variant(
                "relation",
                [
                    f"for your work on {lab}, {name} comes at it through {t}",
                    f"if you work on {lab}, the part of {name} to borrow is {t}",
                    f"what {name} brings to {lab} is {t}: worth setting against your own approach",
                    f"{name} tackles {lab} with {t}",
                ],
            )
            tail = f"; it also connects to {second}" if second else ""
        out = _sentence(head + tail, self.language)
        group = self.group(p.paper_id)
        if group is not None and group.terms:
            mates = [
                self.name(m.paper)
                for m in (*self.picks, *self.others)
                if m.paper.paper_id in group.paper_ids and m.paper.paper_id != p.paper_id
            ]
            if mates:
                shared = _join(list(group.terms[:2]), self.language)
                out += (
                    f"与同组的 {'、'.join(mates)} 都讨论 {shared},适合对照阅读。"
                    if zh
                    else f" Read it against {_join(mates, 'en')}: both deal with {shared}."
                )
        return out

    # read closely ----------------------------------------------------------------------

    def read_reason(self, r: Ranked) -> str:
        """Why to read this pick closely, in other words than its why-picked line and its
        relation: what to look at. The lead differs from paper to paper: the figures its
        abstract reports, a group mate to read it against, its kind (survey, benchmark,
        analysis), its code, else its method; a lead already used by an earlier reason of
        this brief is passed over when another applies."""
        p = r.paper
        zh = self.zh
        text = self.text(p)
        terms = self.own_terms(p, 1)
        focus = terms[0] if terms else self.name(p)
        leads: list[tuple[str, str]] = []
        if text.kind == "survey":
            leads.append(
                (
                    "survey",
                    f"一次补齐“{text.survey}”的全貌,先读它的分类框架,再挑与你相关的分支"
                    if zh
                    else f"it fills in the whole of “{text.survey}” at once: read its "
                    "taxonomy first, then the branches closest to your work",
                )
            )
        if text.kind == "benchmark":
            leads.append(
                (
                    "benchmark",
                    "看它的任务构造与评测指标,判断能否直接拿来评测你的系统"
                    if zh
                    else "read how its tasks and metrics are built, to judge whether it can "
                    "evaluate your own system",
                )
            )
        if text.figures:
            nums = _join(list(text.figures[:2]), self.language)
            leads.append(
                (
                    "figures",
                    f"摘要报告了 {nums} 这样的具体结果,精读实验部分,核对 baseline 与设置"
                    if zh
                    else f"the abstract reports {nums}: read the experiments and check the "
                    "baselines and settings behind them",
                )
            )
        group = self.group(p.paper_id)
        mates = [
            self.name(m.paper)
            for m in self.picks
            if group is not None
            and m.paper.paper_id in group.paper_ids
            and m.paper.paper_id != p.paper_id
        ]
        if mates:
            leads.append(
                (
                    "group",
                    f"和 {'、'.join(mates)} 对照着读,看两者在 {focus} 上的做法有何不同"
                    if zh
                    else f"read it side by side with {_join(mates, 'en')} and compare how "
                    f"each handles {focus}",
                )
            )
        if text.kind == "analysis":
            leads.append(
                (
                    "analysis",
                    f"它的结论关于 {focus},精读实验设计,看结论在什么条件下成立"
                    if zh
                    else f"its findings concern {focus}: read the experimental design to see "
                    "when they hold",
                )
            )
        if p.github_repo:
            leads.append(
                (
                    "code",
                    f"代码已公开,可以边读边跑,直接检验 {focus} 的效果"
                    if zh
                    else f"the code is public: run it while reading to test {focus} yourself",
                )
            )
        leads.append(
            (
                "method",
                f"精读方法部分:{focus} 具体怎么做、依赖哪些假设"
                if zh
                else f"read the method: how {focus} works and what it assumes",
            )
        )
        fresh = [lead for lead in leads if lead[0] not in self._leads_used]
        kind, text_out = (fresh or leads)[0]
        self._leads_used.add(kind)
        return _sentence(text_out, self.language)

    # groups and themes -----------------------------------------------------------------

    def group_heading(self, group: Group, members: Sequence[Ranked]) -> str:
        """The heading of a pick holding several papers: their names, then what they all
        share (the day's key phrases they use), else the interest they share."""
        names = [self.name(m.paper) for m in members]
        joined = " + ".join(names)
        terms = list(group.terms)
        lab = self.quoted_label(group.interest) if group.interest else ""
        n = len(members)
        if self.zh:
            count = {2: "两", 3: "三"}.get(n, str(n))
            if terms:
                under = f"(同属你关注的{lab})" if lab else ""
                return f"{joined} —— {count}篇都涉及 {'、'.join(terms)}{under}"
            if lab:
                return f"{joined} —— {count}篇同属你关注的{lab}"
            return f"{joined} —— {count}篇回答同一个问题"
        every = "both" if n == 2 else f"all {({3: 'three'}).get(n, str(n))}"
        if terms:
            under = f" (under your interest in {lab})" if lab else ""
            return f"{joined} — {every} on {_join(terms, 'en')}{under}"
        if lab:
            return f"{joined} — {every} under your interest in {lab}"
        return f"{joined} — {every} answer one question"

    def theme_sentence(self) -> str:
        """The day's themes, counted and named: "Today's themes: 8 papers on RL, 3 on
        world models." (zh: "今天的主题:RL(8 篇)、world models(3 篇)。")."""
        found = self.themes()
        if not found:
            return ""
        if self.zh:
            parts = [f"{t.name}({len(t.paper_ids)} 篇)" for t in found]
            return f"今天的主题:{'、'.join(parts)}。"
        parts = [
            f"{len(t.paper_ids)} {'papers ' if i == 0 else ''}on {t.name}"
            for i, t in enumerate(found)
        ]
        return f"Today's {'themes' if len(parts) > 1 else 'theme'}: {_join(parts, 'en')}."

    def _units(self) -> list[list[Ranked]]:
        """The picks as the brief shows them: each group together, singles alone."""
        units: list[list[Ranked]] = []
        done: set[str] = set()
        for r in self.picks:
            pid = r.paper.paper_id
            if pid in done:
                continue
            group = self.group(pid)
            if group is None:
                units.append([r])
                done.add(pid)
                continue
            members = [m for m in self.picks if m.paper.paper_id in group.paper_ids]
            units.append(members)
            done.update(m.paper.paper_id for m in members)
        return units

    def must_read(self) -> list[Ranked]:
        """Three picks to read closely: the first paper of each of the first picks."""
        return [unit[0] for unit in self._units()][:MUST_READ]

    # overview and conclusion -----------------------------------------------------------

    def overview(self) -> str:
        zh = self.zh
        units = self._units()
        n_papers = len(self.picks)
        grouped = [u for u in units if len(u) > 1]
        if zh:
            pool = f"从 {self.candidates} 篇候选中" if self.candidates else ""
            head = (
                f"今天{pool}为你选出 {len(units)} 个重点"
                + (f"(共 {n_papers} 篇论文)" if n_papers != len(units) else "")
                + f",另有 {len(self.others)} 篇值得扫一眼。"
            )
        else:
            pool = f" from {self.candidates} candidates" if self.candidates else ""
            head = (
                f"Today{pool}: {len(units)} top picks"
                + (f" ({n_papers} papers)" if n_papers != len(units) else "")
                + f" and {len(self.others)} more worth a glance."
            )
        out = [head, self.theme_sentence()]
        if grouped:
            names = [" + ".join(self.name(m.paper) for m in u) for u in grouped]
            out.append(
                f"相关论文合并成组推荐:{';'.join(names)}。"
                if zh
                else f"Related papers are grouped into one pick: {'; '.join(names)}."
            )
        counts = list(interest_counts([*self.picks, *self.others]).items())[:3]
        if counts:
            if zh:
                parts = [f"{n} 篇最贴近{self.quoted_label(i)}" for i, n in counts]
                out.append(f"按你的兴趣看,{'、'.join(parts)}。")
            else:
                parts = [f"{n} closest to {self.label(i)}" for i, n in counts]
                out.append(f"By your interests: {_join(parts, 'en')}.")
        else:
            out.append(
                "今天没有论文明确匹配你的兴趣,以下按整体相关度排序。"
                if zh
                else "No paper clearly matches your interests today; they are ordered by "
                "overall relevance."
            )
        return (" " if not zh else "").join(s for s in out if s)

    def conclusion(self) -> str:
        zh = self.zh
        must = self.must_read()
        if not must:
            return "今日没有入选论文。" if zh else "No papers were selected today."
        first = must[0]
        reason = (
            f"它最贴近{self.quoted_label(first.matched[0])}"
            if first.matched and zh
            else f"it is closest to your interest in {self.label(first.matched[0])}"
            if first.matched
            else ("它的整体相关度最高" if zh else "it ranks highest overall")
        )
        names = [self.name(r.paper) for r in must[1:]]
        out: list[str] = []
        if zh:
            out.append(f"建议先读 {self.name(first.paper)}:{reason}。")
            if names:
                out.append(f"接着读 {'、'.join(names)}。")
        else:
            out.append(f"Start with {self.name(first.paper)}: {reason}.")
            if names:
                out.append(f"Then read {_join(names, 'en')}.")
        found = self.themes()[:2]
        if found:
            if zh:
                parts = [f"{t.name}({len(t.paper_ids)} 篇)" for t in found]
                out.append(f"今天的主线是 {'与 '.join(parts)}。")
            else:
                parts = [f"{t.name} ({len(t.paper_ids)} papers)" for t in found]
                lines = "main lines are" if len(parts) > 1 else "main line is"
                out.append(f"The day's {lines} {_join(parts, 'en')}.")
        if self._with_code:
            out.append(
                f"{len(self.picks)} 篇重点论文中有 {self._with_code} 篇附代码,可以直接上手复现。"
                if zh
                else f"{self._with_code} of the {len(self.picks)} top-pick papers link code "
                "you can run."
            )
        return (" " if not zh else "").join(out)

    def notes(self) -> ReaderNotes:
        """The per-reader notes of an extractive brief."""
        return ReaderNotes(
            overview=self.overview(),
            relations={r.paper.paper_id: self.relation(r) for r in self.picks},
            must_read=[
                MustRead(paper_id=r.paper.paper_id, reason=self.read_reason(r))
                for r in self.must_read()
            ],
            ideas=[],
            conclusion=self.conclusion(),
        )


def reader_notes(
    picks: Sequence[Ranked],
    others: Sequence[Ranked],
    summaries: Mapping[str, PaperSummary],
    profile: Profile,
    language: Language,
    *,
    plan: Plan | None = None,
    candidates: int | None = None,
) -> ReaderNotes:
    """Notes without an LLM, from the papers' terms, the reader's interests and counts."""
    del summaries  # the rules need no prose
    writer = Writer(
        profile=profile,
        language=language,
        picks=picks,
        others=others,
        plan=plan,
        candidates=candidates,
    )
    return writer.notes()
