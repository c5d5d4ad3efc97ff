"""What every rule-written text of one brief draws on: the reader, the brief's papers and
their cleaned texts, the day's terms, groups and themes."""

from __future__ import annotations

from collections.abc import Sequence

from digest.extractive.papertext import PaperText, paper_text
from digest.extractive.phrasing import whole
from digest.grouping.groups import Group, Plan
from digest.grouping.lexicon import lexicon_of
from digest.grouping.themes import Theme, short_name, themes
from digest.models import Language, Paper, Ranked
from digest.profile import Profile
from digest.ranking import tokenize

__all__ = ["WriterBase"]


class WriterBase:
    """One brief as its writer sees it, for one reader; the writer's texts build on it.

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
        return [t for t in terms if whole(paper, t)][:n]

    def matched_phrases(self, r: Ranked, interest: str, n: int = 2) -> list[str]:
        """What in the paper matched `interest`: its own phrases holding the interest's words."""
        stems = tokenize(interest)
        # Words half the day's papers use ("agent", "LLM") match everything: the interest's
        # rarer words say what matched, when it has any.
        rare = [st for st in stems if not self.lexicon.common(st)]
        phrases = self.lexicon.phrases_with(r.paper, rare, n + 1) if rare else []
        if not phrases:
            phrases = self.lexicon.phrases_with(r.paper, stems, n + 1)
        phrases = [p for p in phrases if whole(r.paper, p)]
        own = [p for p in phrases if p.lower() != interest.lower()]
        return (own or phrases)[:n]

    def group(self, paper_id: str) -> Group | None:
        return self.plan.group_of(paper_id) if self.plan is not None else None

    def themes(self) -> list[Theme]:
        if self._themes is None:
            self._themes = themes(self._shown, self.lexicon, interests=self.profile.interests)
        return self._themes

    def _variant(self, family: str, options: Sequence[str]) -> str:
        """The next of `options` for this family in this brief: consecutive papers do not
        get the same sentence shape."""
        n = self._variants.get(family, 0)
        self._variants[family] = n + 1
        return options[n % len(options)]
