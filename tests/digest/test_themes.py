"""Themes a researcher would name: the overview's themes and the group headings name a
reader's interest label, an established acronym or a key phrase of two or more words the
day's papers share (hyphenated compounds whole); never a loose word cut out of a compound,
never a generic word. Checked as properties over the fixture days and synthetic days; and
the LLM's counts are checked against the papers."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.counts import Topics, check_counts
from digest.extractive import Writer
from digest.grouping.groups import Plan, plan_picks
from digest.keyphrases import ESTABLISHED, GENERIC
from digest.models import Paper
from digest.profile import Profile, example_profile
from digest.ranking import STOPWORDS, rank
from digest.sample import SAMPLE_DATE, sample_candidates
from digest.selection import select
from tests.digest.test_grouping import ABSTRACTS, DAY
from tests.strategies import days, examples, readers

PROPERTY = settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SAMPLE = sample_candidates("en").papers
# The reference-shaped day: its eight papers among the sample day's.
REFERENCE_DAY = [
    *SAMPLE,
    *(
        Paper(paper_id=f"2605.{30000 + i:05d}", title=t, abstract=a, listed=DAY)
        for i, (t, a) in enumerate(ABSTRACTS.values())
    ),
]
# Words the issue saw themes named by; none may ever be a theme on its own.
LOOSE = {"experience", "stage", "method", "model", "tool", "long", "horizon", "world", "skill"}
ACRONYMS = {*ESTABLISHED.values(), *(v.removesuffix("s") for v in ESTABLISHED.values())}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’-][A-Za-z0-9]+)*")
POOL = [
    "LLM agents", "agentic reinforcement learning", "world models", "tool use and function "
    "calling", "agent memory", "code generation", "reasoning", "multimodal search agents",
    "policy optimization", "diffusion language models", "verifiable rewards", "KV cache",
]  # fmt: skip


def texts_of(papers: Sequence[Paper]) -> list[str]:
    return [" ".join([p.title, p.abstract, p.ai_summary or "", *p.keywords]) for p in papers]


def whole(word: str, texts: Sequence[str]) -> bool:
    """`word` stands on its own in one of `texts`, not only inside a compound."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.IGNORECASE)
    return any(pattern.search(t) for t in texts)


def assert_names_a_topic(name: str, profile: Profile, papers: Sequence[Paper]) -> None:
    labels = {profile.label(i) for i in profile.interests} | set(profile.interests)
    if name in labels:
        return
    words = _WORD.findall(name)
    assert " ".join(words) == name, f"{name!r}: not a plain phrase"
    assert name.lower() not in LOOSE, name
    if len(words) == 1:
        assert name in ACRONYMS, f"{name!r}: one word that is no established acronym"
        return
    texts = texts_of(papers)
    for n, w in enumerate(words):
        low = w.lower()
        last_use = low == "use" and n == len(words) - 1  # "tool use", "computer use"
        generic = low in STOPWORDS or (low in GENERIC and not last_use)
        assert not generic, f"{name!r}: generic word {w!r}"
        # An acronym may stand for its spelled-out term ("RL" for reinforcement learning).
        assert w in ACRONYMS or whole(w, texts), f"{name!r}: {w!r} is cut out of a compound"


def brief_of(papers: list[Paper], profile: Profile) -> tuple[Plan, Writer]:
    ranked = rank(papers, profile, today=SAMPLE_DATE)
    picks, others = select(ranked, profile.top_picks)
    plan = plan_picks(picks, others, top_picks=profile.top_picks, corpus=papers)
    writer = Writer(
        profile=profile,
        language=profile.language,
        picks=plan.picks,
        others=plan.others,
        plan=plan,
        candidates=len(papers),
    )
    return plan, writer


def assert_themes_and_groups_name_topics(papers: list[Paper], profile: Profile) -> None:
    plan, writer = brief_of(papers, profile)
    by_id = {p.paper_id: p for p in papers}
    for theme in writer.themes():
        holders = [by_id[pid] for pid in theme.paper_ids]
        assert len(holders) >= 3
        assert_names_a_topic(theme.name, profile, holders)
    for group in plan.groups:
        members = [by_id[pid] for pid in group.paper_ids]
        for term in group.terms:
            assert_names_a_topic(term, profile, members)
        heading = writer.group_heading(group, [r for r in plan.picks if r.paper in members])
        assert group.terms or group.interest is None or profile.label(group.interest) in heading
        for term in group.terms:
            assert term in heading
    sentence = writer.theme_sentence()
    if profile.language == "zh" and sentence:
        # "今天的主题:RL(8 篇)、world models(3 篇)。": names, then counts in Chinese.
        parts = sentence.removeprefix("今天的主题:").removesuffix("。").split("、")
        names = [t.name for t in writer.themes()]
        assert [re.sub(r"\(\d+ 篇\)$", "", p) for p in parts] == names, sentence


@PROPERTY
@given(st.lists(st.sampled_from(POOL), min_size=1, max_size=6, unique=True), st.booleans())
def test_themes_of_the_fixture_days_name_topics(interests: list[str], zh: bool) -> None:
    profile = Profile(name="r", language="zh" if zh else "en", interests=interests)
    assert_themes_and_groups_name_topics(list(SAMPLE), profile)
    assert_themes_and_groups_name_topics(REFERENCE_DAY, profile)


@PROPERTY
@given(days(), readers())
def test_themes_of_synthetic_days_name_topics(papers: list[Paper], profile: Profile) -> None:
    assert_themes_and_groups_name_topics(papers, profile)


def test_the_example_readers_themes_on_the_sample_day() -> None:
    for language in ("zh", "en"):
        profile = example_profile(language)
        _, writer = brief_of(list(SAMPLE), profile)
        found = writer.themes()
        assert found and all(len(t.paper_ids) >= 3 for t in found)
        for t in found:
            assert_names_a_topic(t.name, profile, [p for p in SAMPLE if p.paper_id in t.paper_ids])


def test_a_compound_is_never_cut_into_a_theme() -> None:
    # Five papers on long-horizon agents and tool use, each saying "long" and "tool"
    # only inside those compounds and phrases.
    papers = [
        Paper(
            paper_id=f"2605.2000{n}",
            title=f"Agent{n}: Long-Horizon Agents with Tool Use",
            abstract="We train long-horizon agents for tool use. Tool-augmented planning "
            f"helps long-term credit assignment in setting {n}.",
        )
        for n in range(5)
    ]
    filler = [
        Paper(paper_id=f"2605.300{n:02d}", title=f"Other {n}", abstract=f"Image editing {n}.")
        for n in range(10)
    ]
    profile = Profile(name="r", interests=["agents"], top_picks=3)
    _, writer = brief_of([*papers, *filler], profile)
    names = [t.name for t in writer.themes()]
    # One theme for one set of papers: the phrase their titles say.
    assert names == ["long-horizon agents"]
    assert "long" not in names and "tool" not in names


# --- the LLM's counts ---------------------------------------------------------------------


@functools.cache
def _topics() -> tuple[Topics, dict[str, set[int]], int, int]:
    """The sample brief's topics, and for each theme or interest the counts that are true:
    among the papers shown or the picks (and for an interest, the papers that matched it
    at all or as their strongest match)."""
    profile = example_profile("en")
    plan, writer = brief_of(list(SAMPLE), profile)
    topics = Topics.of(
        picks=plan.picks,
        others=plan.others,
        profile=profile,
        phrases=writer.lexicon.phrases,
        units=len(writer.must_read()),
        candidates=len(SAMPLE),
    )
    shown = [*plan.picks, *plan.others]
    picked = {r.paper.paper_id for r in plan.picks}
    true: dict[str, set[int]] = {
        t.name: {len(t.paper_ids), len(set(t.paper_ids) & picked)} for t in writer.themes()
    }
    anyhow = {r.paper.paper_id for r in shown if "LLM agents" in r.matched}
    first = {r.paper.paper_id for r in shown if r.matched[:1] == ["LLM agents"]}
    true["LLM agents"] = {len(anyhow), len(anyhow & picked), len(first), len(first & picked)}
    return topics, true, len(plan.picks), len(plan.others)


@PROPERTY
@given(st.data())
def test_a_count_the_papers_do_not_bear_out_is_dropped(data: st.DataObject) -> None:
    topics, true, _, _ = _topics()
    name = data.draw(st.sampled_from(sorted(true)))
    claimed = data.draw(st.integers(min_value=1, max_value=40))
    form = data.draw(st.sampled_from(["{n} papers on {x}", "{x} ({n} papers)", "{x}({n} 篇)"]))
    text = "Today: " + form.format(n=claimed, x=name) + "."
    out = check_counts(text, topics)
    if claimed in true[name]:
        assert out == text
    else:
        assert str(claimed) not in out and name in out


def test_totals_without_a_topic_are_kept_when_true() -> None:
    topics, _, picks, others = _topics()
    text = f"Today's {picks} top picks; {others} more papers are worth a glance."
    assert check_counts(text, topics) == text
    assert check_counts(f"另有 {others} 篇值得扫一眼,{picks + 7} 篇重点。", topics) == (
        f"另有 {others} 篇值得扫一眼,重点。"
    )
