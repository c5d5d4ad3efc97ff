"""The reader's model: cold start, what it learns, its bounds, and whose votes it reads."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.authors import clean_author, followed_in, same_author
from digest.chatstate import Vote, record_brief, vote
from digest.evidence import MIN_POSITIVES, Evidence
from digest.learning import W_MODEL_MAX, explain, fit_reader, model_weight
from digest.models import Brief, Paper, PaperItem, PaperLinks, Ranked, Section
from digest.profile import Profile, example_profile
from digest.ranking import rank
from digest.reader import (
    forget_learning,
    get_reader,
    put_reader_papers,
    reader_papers,
    reader_profile,
    record_ask,
    save_reader,
)
from digest.sample import SAMPLE_DATE, sample_candidates
from digest.selection import select
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.collect import Candidates
from digest.sources.followed import with_followed
from digest.store.base import Store
from tests.fakes.arxiv_atom import AtomEntry
from tests.fakes.arxiv_server import ArxivServer
from tests.strategies import days, examples, readers

TODAY = dt.date(2026, 5, 8)
AT = dt.datetime(2026, 5, 8, 9, tzinfo=dt.UTC)
SAMPLE = {p.paper_id: p for p in sample_candidates("en").papers}
PROFILE = example_profile("en")


def paper(n: int, title: str, abstract: str = "", authors: list[str] | None = None) -> Paper:
    return Paper(
        paper_id=f"2605.{n:05d}",
        title=title,
        abstract=abstract or f"We study {title.lower()}.",
        authors=authors or [],
    )


# Two kinds of papers: the reader likes the memory ones and not the vision ones.
MEMORY = [
    paper(100 + i, f"Agent memory {w}", f"Long-term memory for LLM agents with {w} recall.")
    for i, w in enumerate(["banks", "graphs", "replay", "indexes", "summaries", "caches"])
]
VISION = [
    paper(200 + i, f"Image segmentation {w}", f"Pixel-level segmentation of images with {w}.")
    for i, w in enumerate(["masks", "priors", "boxes", "points"])
]
DAY = [
    paper(1, "Episodic memory for agents", "Agents recall long-term memory of past episodes."),
    paper(2, "Medical image segmentation", "Segmentation of CT images with pixel masks."),
    paper(3, "Protein folding at scale", "We fold proteins."),
]


def learned_on(evidence: Evidence, day: list[Paper] = DAY) -> Ranked | None:
    reader = {p.paper_id: p for p in (*MEMORY, *VISION)}
    learned = fit_reader(day, reader, evidence)
    return rank(day, PROFILE, today=TODAY, learned=learned)[0] if learned else None


LIKED = tuple(p.paper_id for p in MEMORY[:5])
DISLIKED = tuple(p.paper_id for p in VISION[:3])


# --- the model ---------------------------------------------------------------------------


def test_cold_start_leaves_the_interest_ranking_alone() -> None:
    reader = {p.paper_id: p for p in (*MEMORY, *VISION)}
    few = Evidence(liked=LIKED[: MIN_POSITIVES - 1], disliked=DISLIKED)
    assert not few.active and few.missing == 1 and model_weight(few) == 0.0
    # A 👎 takes back a 👍 of the same paper: one more positive is missing.
    taken_back = few.model_copy(update={"disliked": (*DISLIKED, LIKED[0])})
    assert taken_back.missing == 2
    assert Evidence(liked=LIKED).missing == 0
    assert fit_reader(DAY, reader, few) is None
    # Five positives whose texts are unknown are no evidence either.
    unknown = Evidence(liked=tuple(f"2604.{n:05d}" for n in range(1, 9)))
    assert unknown.active and fit_reader(DAY, reader, unknown) is None


def test_the_model_ranks_what_the_reader_liked_first() -> None:
    reader = {p.paper_id: p for p in (*MEMORY, *VISION)}
    learned = fit_reader(DAY, reader, Evidence(liked=LIKED, disliked=DISLIKED))
    assert learned is not None
    assert learned.scores["2605.00001"] == 1.0  # memory: first of the day
    assert learned.scores["2605.00002"] < learned.scores["2605.00003"]  # segmentation last
    assert 0 < learned.weight <= W_MODEL_MAX
    assert all(0.0 <= s <= 1.0 for s in learned.scores.values())
    like = learned.similar["2605.00001"]
    assert like.kind == "liked" and like.paper_id in LIKED
    # Two papers a profile likes about equally: the model opens the gap its way.
    both = Profile(name="x", interests=["segmentation", "memory of agents"])
    plain = {r.paper.paper_id: r for r in rank(DAY, both, today=TODAY)}
    taught = {r.paper.paper_id: r for r in rank(DAY, both, today=TODAY, learned=learned)}
    gap = plain["2605.00001"].score - plain["2605.00002"].score
    assert abs(gap) < 0.05
    assert taught["2605.00001"].score - taught["2605.00002"].score > gap + 0.2
    assert taught["2605.00001"].like == (like.paper_id, "liked")
    assert taught["2605.00001"].signals["model"] == 1.0


def test_the_models_weight_grows_with_evidence_and_is_bounded() -> None:
    weights = [
        model_weight(Evidence(liked=tuple(f"2605.{i:05d}" for i in range(1, n + 1))))
        for n in (5, 10, 20, 100, 10_000)
    ]
    assert weights == sorted(weights) and weights[0] > 0
    assert weights[-1] < W_MODEL_MAX


@pytest.mark.parametrize("votes", [0, 1, 10_000])
def test_the_model_never_crashes_whatever_the_number_of_votes(votes: int) -> None:
    reader = {
        f"2604.{i:05d}": paper(i, f"Paper {i % 7} on topic {i % 13}", f"Words {i % 11} here.")
        for i in range(votes)
    }
    for pid, p in list(reader.items()):
        reader[pid] = p.model_copy(update={"paper_id": pid})
    ids = list(reader)
    evidence = Evidence(liked=tuple(ids[::2]), disliked=tuple(ids[1::2]))
    learned = fit_reader(DAY, reader, evidence)
    ranked = rank(DAY, PROFILE, today=TODAY, learned=learned)
    assert len(ranked) == len(DAY)
    if votes >= 2 * MIN_POSITIVES:
        assert learned is not None and set(learned.scores) == {p.paper_id for p in DAY}
    else:
        assert learned is None
    explained = explain(reader, evidence)
    assert explained.positives == len(ids[::2])


def test_seed_papers_alone_train_a_model_against_the_days_papers() -> None:
    reader = {p.paper_id: p for p in MEMORY}
    learned = fit_reader(DAY, reader, Evidence(seeds=LIKED))
    assert learned is not None
    assert max(learned.scores, key=learned.scores.__getitem__) == "2605.00001"
    assert learned.similar["2605.00001"].kind == "seed"


def test_a_down_vote_overrides_every_positive_of_the_same_paper() -> None:
    both = Evidence(seeds=(LIKED[0],), liked=LIKED, asked=(LIKED[0],), disliked=(LIKED[0],))
    assert LIKED[0] not in both.positives and LIKED[0] in both.negatives
    assert both.votes == len(LIKED)


def test_explain_names_the_terms_for_and_against_in_words() -> None:
    reader = {p.paper_id: p for p in (*MEMORY, *VISION)}
    out = explain(reader, Evidence(liked=LIKED, disliked=DISLIKED))
    assert (out.positives, out.negatives) == (5, 3)
    assert any("memory" in t for t in out.terms_for)
    assert any("segmentation" in t or "image" in t for t in out.terms_against)
    assert not set(out.terms_for) & set(out.terms_against)
    # Stems are shown as words: "memory", not "memori".
    assert not any("memori" in t.split() for t in out.terms_for)


def test_evidence_changes_the_profile_key_only_once_the_model_weighs_in() -> None:
    cold = PROFILE.model_copy(update={"evidence": Evidence(liked=LIKED[:2])})
    warm = PROFILE.model_copy(update={"evidence": Evidence(liked=LIKED)})
    assert cold.key == PROFILE.key  # cold-start chats share a brief
    assert warm.key != PROFILE.key


# --- followed authors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Yoshua Bengio", "Bengio, Yoshua", True),
        ("Y. Bengio", "Yoshua Bengio", True),
        ("Samy Bengio", "Yoshua Bengio", False),
        ("José García", "Jose Garcia", True),
        ("Bengio", "Yoshua Bengio", True),
        ("", "Yoshua Bengio", False),
    ],
)
def test_author_names_match_as_people_write_them(a: str, b: str, same: bool) -> None:
    assert same_author(a, b) is same


def test_bibtex_names_are_cleaned() -> None:
    assert clean_author("Yann~LeCun") == "Yann LeCun"
    assert clean_author("{LeCun}, Yann") == "Yann LeCun"
    assert clean_author("Bengio, Yoshua") == "Yoshua Bengio"
    assert followed_in(["Y. LeCun", "G. Hinton"], ["Yann LeCun", "Yoshua Bengio"]) == ["Yann LeCun"]


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=days(), reader=readers(), which=st.integers(min_value=0, max_value=29))
def test_a_followed_authors_paper_is_always_shown(
    day: list[Paper], reader: Profile, which: int
) -> None:
    # An off-topic paper by the followed author, wherever it lands in the ranking.
    off = Paper(
        paper_id="2605.99999",
        title="Galaxy rotation curves",
        abstract="We measure stars and dust in galaxies.",
        authors=["Vera C. Rubin", "Someone Else"],
    )
    papers = [*day[: which % (len(day) + 1)], off, *day[which % (len(day) + 1) :]]
    profile = reader.model_copy(update={"authors": ["V. Rubin"]})
    picks, others = select(rank(papers, profile, today=TODAY), profile.top_picks)
    shown = {r.paper.paper_id: r for r in (*picks, *others)}
    assert "2605.99999" in shown
    assert shown["2605.99999"].followed == ["V. Rubin"]


# --- whose votes, kept where -------------------------------------------------------------


def _vote(pid: str, value: int) -> Vote:
    return Vote(paper_id=pid, value=1 if value > 0 else -1, at=AT)


async def _seed_texts(store: Store) -> None:
    await put_reader_papers(store, [*MEMORY, *VISION])


async def test_votes_are_idempotent_and_one_chats_votes_never_move_anothers(store: Store) -> None:
    await _seed_texts(store)
    for pid in LIKED:
        assert await vote(store, "telegram:1", _vote(pid, 1)) == "new"
    for pid in DISLIKED:
        await vote(store, "telegram:1", _vote(pid, -1))
    once = await reader_profile(store, "telegram:1", PROFILE)
    for pid in LIKED:  # the same votes again
        assert await vote(store, "telegram:1", _vote(pid, 1)) == "same"
    twice = await reader_profile(store, "telegram:1", PROFILE)
    assert once.evidence == twice.evidence and once.key == twice.key
    assert once.evidence.active

    other = await reader_profile(store, "slack:C9", PROFILE)
    assert other.evidence == Evidence() and other.key == PROFILE.key
    papers = await reader_papers(store, [*once.evidence.positives, *once.evidence.negatives])
    learned = fit_reader(DAY, papers, once.evidence)
    assert learned is not None
    # The other chat's ranking is what its own (empty) evidence gives.
    before = rank(DAY, other, today=TODAY)
    assert rank(DAY, other, today=TODAY, learned=None) == before


async def test_asks_are_weak_positives_and_reset_forgets_votes_and_asks(store: Store) -> None:
    await _seed_texts(store)
    for p in MEMORY[:3]:
        await record_ask(store, "feishu:G", p)
    await record_ask(store, "feishu:G", MEMORY[0])  # asking twice counts once
    for pid in LIKED[3:]:
        await vote(store, "feishu:G", _vote(pid, 1))
    state = await get_reader(store, "feishu:G")
    assert state.asked == [MEMORY[1].paper_id, MEMORY[2].paper_id, MEMORY[0].paper_id]
    profile = await reader_profile(store, "feishu:G", PROFILE)
    assert profile.evidence.active
    await save_reader(store, "feishu:G", state.model_copy(update={"papers": ["2501.12948"]}))
    await forget_learning(store, "feishu:G", AT + dt.timedelta(minutes=1))
    after = await reader_profile(store, "feishu:G", PROFILE)
    assert after.evidence.liked == () and after.evidence.asked == ()
    assert after.papers == ["2501.12948"]  # seeds are told, not learned: they stay


async def test_shown_and_ignored_papers_are_sampled_as_weak_negatives(store: Store) -> None:
    items = [
        PaperItem(paper_id=p.paper_id, title=p.title, links=PaperLinks(abs="a", pdf="p"))
        for p in SAMPLE.values()
    ]
    brief = Brief(
        date=SAMPLE_DATE,
        language="zh",
        reader="r",
        title="t",
        overview="",
        mode="extractive",
        generated_at=AT,
        window_start=SAMPLE_DATE,
        window_end=SAMPLE_DATE,
        sections=[Section(kind="others", title="", items=list(items))],
    )
    await record_brief(store, "telegram:7", brief)
    first = items[0].paper_id
    await vote(store, "telegram:7", _vote(first, 1))
    evidence = (await reader_profile(store, "telegram:7", PROFILE)).evidence
    assert first not in evidence.ignored
    assert 10 <= len(evidence.ignored) <= 40
    assert set(evidence.ignored) <= {i.paper_id for i in items}
    again = (await reader_profile(store, "telegram:7", PROFILE)).evidence
    assert again.ignored == evidence.ignored  # a deterministic sample: the same brief


# --- a followed author's papers, wherever arXiv filed them ------------------------------------


async def test_a_followed_authors_papers_are_looked_up_on_arxiv_whatever_their_category() -> None:
    when = dt.datetime(2026, 5, 7, 12, tzinfo=dt.UTC)
    theirs = AtomEntry(
        arxiv_id="2605.08888v1",
        title="Dust lanes in spiral galaxies",
        summary="We measure dust.",
        authors=["Vera C. Rubin", "Kent Ford"],
        published=when,
        primary_category="astro-ph.GA",
    )
    namesake = AtomEntry(
        arxiv_id="2605.08889v1",
        title="Another Rubin",
        summary="Not hers.",
        authors=["Robert Rubin"],
        published=when,
        primary_category="cs.LG",
    )
    async with ArxivServer([theirs, namesake]) as server:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            arxiv_api_url=server.url,
            arxiv_delay=0,
        )
        day = [paper(1, "Agents with memory")]
        base = Candidates(
            papers=day, window_start=TODAY, window_end=TODAY, reports=[], widened=False
        )
        profile = PROFILE.model_copy(update={"authors": ["Rubin, Vera C."]})
        out = await with_followed(base, profile, ArxivSource(settings), TODAY, settings, print)
        assert [p.paper_id for p in out.papers] == ["2605.00001", "2605.08888"]
        [query] = [r.params["search_query"] for r in server.requests]
        assert 'au:"Vera C Rubin"' in query and "submittedDate:[202605070000" in query
        # Nobody followed: no request.
        await with_followed(base, PROFILE, ArxivSource(settings), TODAY, settings, print)
        assert len(server.requests) == 1
