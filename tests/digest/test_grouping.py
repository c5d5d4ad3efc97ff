"""Grouping related picks, lexically and deterministically; themes of the day."""

from __future__ import annotations

import datetime as dt

from digest.grouping.groups import MAX_GROUP, merge_groups, plan_picks
from digest.grouping.lexicon import Lexicon, lexicon_of
from digest.grouping.themes import short_name, themes
from digest.models import Paper, Ranked
from digest.sample import sample_candidates

DAY = dt.date(2026, 5, 28)

# Real-looking abstracts in the shape of the reference day: two video world models, three
# papers on rewards for RL post-training, and a few that answer other questions.
ABSTRACTS: dict[str, tuple[str, str]] = {
    "minwm": (
        "minWM: A Full-Stack Open-Source Framework for Real-Time Interactive Video World Models",
        "Interactive video world models promise action-conditioned simulation for agents. We "
        "present minWM, a full-stack open-source framework that turns a video diffusion "
        "foundation model into a real-time interactive world model, covering data "
        "construction, controllable fine-tuning, autoregressive training, few-step "
        "distillation and streaming inference. The interactive world model runs at 24 fps.",
    ),
    "yocausal": (
        "YoCausal: How Far is Video Generation from World Model? A Causality Perspective",
        "Video generation models are often described as world models. We ask whether video "
        "world models capture causality, using time-reversed videos as natural "
        "counterfactuals, and propose the Reverse Surprise Index. Current video world models "
        "fail to separate causal from anti-causal dynamics in most interactive scenes.",
    ),
    "corver": (
        "Verifiable Rewards Beyond Math and Code: Corpus-Grounded Process Supervision",
        "Reinforcement learning with verifiable rewards works for math and code. We propose "
        "CorVer, which replaces costly judges with corpus-grounded process rewards for factual "
        "question answering, giving sentence-level process rewards during RL post-training. "
        "CorVer improves factual accuracy by 6.1% with cheaper process rewards.",
    ),
    "rubric": (
        "RUBRIC-ARROW: Alternating Pointwise Rubric Reward Modeling for LLM Post-training",
        "Reward modeling for non-verifiable domains relies on rubrics. We alternate a rubric "
        "generator and a rubric-conditioned judge to train pointwise reward models for RL "
        "post-training, which reduces ties from hard boolean rubric aggregation and improves "
        "process rewards in open-ended tasks.",
    ),
    "lara": (
        "LaRA: Layer-wise Representation Analysis for Detecting Data Contamination in RL "
        "Post-Training",
        "RL post-training can memorise benchmarks. We detect data contamination in RL "
        "post-training with layer-wise representation analysis, measuring geometric shifts "
        "between layers instead of output likelihood, and show that rewards from contaminated "
        "data inflate benchmark gains.",
    ),
    "terminal": (
        "LiteCoder-Terminal: Scaling Long-Horizon Terminal Environments for Language Agents",
        "We introduce a zero-dependency pipeline that synthesises executable, verifiable "
        "terminal environments from domain specifications and trains long-horizon "
        "command-line agents with SFT and preference optimisation on expert trajectories.",
    ),
    "memory": (
        "WorldMemArena: Evaluating Multimodal Agent Memory Through Action-World Interaction",
        "Agent memory benchmarks mostly test static recall. We evaluate multimodal agent "
        "memory in action-world interaction, where memory must track an evolving world, "
        "update stale facts and retrieve evidence when acting.",
    ),
    "kv": (
        "CONF-KV: Confidence-Aware KV Cache Eviction with Mixed-Precision Storage",
        "We adjust the KV cache budget from the confidence of the next-token distribution, "
        "keeping more context when the model is uncertain, and store evicted entries in "
        "mixed precision to cut long-context inference cost.",
    ),
}
INTERESTS = {
    "minwm": ["model-based RL and world models"],
    "yocausal": ["model-based RL and world models"],
    "corver": ["RL post-training and verifiable rewards"],
    "rubric": ["RL post-training and verifiable rewards"],
    "lara": ["RL post-training and verifiable rewards"],
    "terminal": ["LLM agents", "code agents"],
    "memory": ["LLM agents", "agent memory"],
    "kv": ["long context"],
}


# A day's other candidates: what makes a term common or distinctive.
DAY_PAPERS = sample_candidates("en").papers


def ranked(order: list[str], ids: dict[str, str] | None = None) -> list[Ranked]:
    ids = ids or {k: f"2605.{30000 + i:05d}" for i, k in enumerate(sorted(ABSTRACTS))}
    out = []
    for n, key in enumerate(order):
        title, abstract = ABSTRACTS[key]
        paper = Paper(paper_id=ids[key], title=title, abstract=abstract, listed=DAY)
        out.append(Ranked(paper=paper, score=1.0 - n / 100, matched=INTERESTS[key]))
    return out


def names(rs: list[Ranked]) -> list[str]:
    return [short_name(r.paper.title) for r in rs]


def group_names(order: list[str], top: int, ids: dict[str, str] | None = None) -> list[list[str]]:
    rs = ranked(order, ids)
    plan = plan_picks(rs[:top], rs[top:], top_picks=top, corpus=DAY_PAPERS)
    by_id = {r.paper.paper_id: r for r in rs}
    return [names([by_id[p] for p in g.paper_ids]) for g in plan.groups]


ORDER = ["terminal", "minwm", "corver", "memory", "rubric", "yocausal", "lara", "kv"]


def test_papers_answering_the_same_question_share_one_pick() -> None:
    rs = ranked(ORDER)
    plan = plan_picks(rs[:4], rs[4:], top_picks=4, corpus=DAY_PAPERS)
    groups = [names([r for r in rs if r.paper.paper_id in g.paper_ids]) for g in plan.groups]
    # The two video world models; the two reward papers. LaRA shares only "RL
    # post-training" with them (it detects contamination): lexically it stays alone.
    assert groups == [
        ["minWM", "YoCausal"],
        ["Verifiable Rewards Beyond Math and Code", "RUBRIC-ARROW"],
    ]
    # Four picks, as the reader asked: the two groups, and two single papers.
    assert names(plan.picks) == [
        "LiteCoder-Terminal",
        "minWM",
        "YoCausal",
        "Verifiable Rewards Beyond Math and Code",
        "RUBRIC-ARROW",
        "WorldMemArena",
    ]
    assert names(plan.others) == ["LaRA", "CONF-KV"]
    # The shown papers are the same set; only their places changed.
    assert {r.paper.paper_id for r in (*plan.picks, *plan.others)} == {r.paper.paper_id for r in rs}
    world, rewards = plan.groups
    assert world.interest == "model-based RL and world models"
    # Named by the key phrases both papers use, whole: not "video" and "world".
    assert world.terms[0] == "video world models"
    assert "process rewards" in rewards.terms, rewards.terms


def test_grouping_does_not_depend_on_ids_or_input_order_of_the_corpus() -> None:
    first = group_names(ORDER, 4)
    shuffled_ids = {k: f"2512.{90000 - i:05d}" for i, k in enumerate(ABSTRACTS)}
    assert group_names(ORDER, 4, shuffled_ids) == first


def test_unrelated_papers_stay_alone() -> None:
    rs = ranked(["terminal", "memory", "kv", "minwm"])
    plan = plan_picks(rs, [], top_picks=4, corpus=DAY_PAPERS)
    assert plan.groups == [] and names(plan.picks) == names(rs)


def test_a_shared_interest_is_required() -> None:
    rs = ranked(["minwm", "yocausal"])
    rs[1] = rs[1].model_copy(update={"matched": ["something else"]})
    assert plan_picks(rs, [], top_picks=2, corpus=DAY_PAPERS).groups == []


def test_groups_hold_at_most_max_group_papers() -> None:
    rs = ranked(["corver", "rubric", "lara"])
    extra = rs[0].model_copy(
        update={"paper": rs[0].paper.model_copy(update={"paper_id": "2605.39999"})}
    )
    plan = plan_picks([*rs, extra], [], top_picks=4, corpus=DAY_PAPERS)
    assert all(len(g.paper_ids) <= MAX_GROUP for g in plan.groups)


def test_llm_groups_replace_the_lexical_ones_they_overlap() -> None:
    rs = ranked(ORDER)
    plan = plan_picks(rs[:4], rs[4:], top_picks=4, corpus=DAY_PAPERS)
    ids = {short_name(r.paper.title): r.paper.paper_id for r in rs}
    merged = merge_groups(
        plan,
        [
            ([ids["LiteCoder-Terminal"], ids["WorldMemArena"] + "v2"], "Agent environments"),
            (["9999.99999", ids["minWM"]], "one known id only: ignored"),
        ],
    )
    titles = [g.title for g in merged.groups]
    assert "Agent environments" in titles
    llm = next(g for g in merged.groups if g.proposed_by_llm)
    assert set(llm.paper_ids) == {ids["LiteCoder-Terminal"], ids["WorldMemArena"]}
    # Members of a group are shown together, at the place of the best one.
    picks = names(merged.picks)
    assert picks[:2] == ["LiteCoder-Terminal", "WorldMemArena"]
    assert merge_groups(plan, []) is plan


def test_themes_are_counted_and_named() -> None:
    rs = ranked(ORDER)
    lex = Lexicon([*DAY_PAPERS, *(r.paper for r in rs)])
    # A key phrase, whole ("RL post-training"), never a word cut out of it ("world").
    assert [(t.name, len(t.paper_ids)) for t in themes(rs, lex)] == [("RL post-training", 3)]
    found = themes(rs, lex, min_papers=2)
    assert [(t.name, len(t.paper_ids)) for t in found] == [
        ("RL post-training", 3),
        ("world models", 2),
    ]
    # Themes do not repeat each other's words.
    words = [w for t in found for w in t.name.lower().split()]
    assert len(words) == len(set(words))
    # A phrase that is one of the reader's interests is left to the interest counts.
    named = [t.name for t in themes(rs, lex, min_papers=2, interests=["world models"])]
    assert "world models" not in named and "RL post-training" in named


def test_on_the_sample_day_the_two_skill_papers_are_one_pick() -> None:
    papers = {p.paper_id: p for p in sample_candidates("en").papers}
    chosen = ["2605.06614", "2605.06642", "2605.06702", "2605.06623", "2605.06130"]
    rs = [
        Ranked(paper=papers[pid], score=1.0 - n / 10, matched=["LLM agents"])
        for n, pid in enumerate(chosen)
    ]
    plan = plan_picks(rs[:3], rs[3:], top_picks=3, corpus=papers.values())
    pairs = [set(g.paper_ids) for g in plan.groups]
    assert {"2605.06614", "2605.06130"} in pairs  # SkillOS + Skill1
    assert all(len(p) <= MAX_GROUP for p in pairs)


def test_short_names() -> None:
    assert short_name("SkillOS: Learning Skill Curation for Self-Evolving Agents") == "SkillOS"
    assert short_name("Continuous Latent Diffusion Language Model") == (
        "Continuous Latent Diffusion Language Model"
    )
    assert short_name("A" * 80).endswith("…")


def test_the_days_lexicon_is_built_once_and_shared_by_every_reader() -> None:
    papers = list(sample_candidates("en").papers)
    first = lexicon_of(papers)
    # Another reader of the same day, the papers in another order: the same Lexicon.
    assert lexicon_of(reversed(papers)) is first
    rs = [Ranked(paper=p, score=1.0, matched=["LLM agents"]) for p in papers[:6]]
    plan = plan_picks(rs[:3], rs[3:], top_picks=3, corpus=papers)
    assert plan.lexicon is first
    # A paper outside the day is described with the day's statistics; they do not change.
    size, df = first.size, first.df("agent")
    outsider = Paper(paper_id="2605.99999", title="Agent Memory", abstract="Agents remember.")
    assert first.vector(outsider)
    assert (first.size, first.df("agent")) == (size, df)
