"""compose_brief: sections, honest links and numbers, extractive mode, JSON round trip;
the header, groups, why-picked lines, reasons to read closely, repo velocity, the
rule-written Chinese of an extractive brief, and papers the avoid list hid."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import pytest

from digest.compose.brief import compose_brief
from digest.compose.context import repo_key
from digest.compose.header import BriefFacts
from digest.evidence import Learned
from digest.extractive import TAKEAWAY_CHARS, Writer, takeaway
from digest.extractive import reader_notes as extractive_notes
from digest.grouping.groups import Plan, plan_picks
from digest.grouping.themes import short_name
from digest.i18n import label
from digest.learning import W_MODEL_MAX
from digest.models import (
    Brief,
    IdeaItem,
    LLMUsage,
    Paper,
    PaperItem,
    PaperSummary,
    Ranked,
    RepoInfo,
    RepoItem,
    Section,
    SectionKind,
    SourceItem,
    TextItem,
)
from digest.notes import Group, Idea, MustRead, ReaderNotes
from digest.pipeline import _with_llm_groups, build_brief
from digest.profile import Profile, example_profile
from digest.ranking import rank
from digest.readernotes import matched_sentence
from digest.sample import sample_candidates
from digest.selection import hidden_counts, select
from digest.settings import Settings
from digest.store.base import Store
from digest.tokens import canonical

DAY = dt.date(2026, 5, 8)
NOW = dt.datetime(2026, 5, 8, 0, 5, tzinfo=dt.UTC)
FETCHED = dt.datetime(2026, 5, 8, 0, 1, tzinfo=dt.UTC)
URL = re.compile(r"https?://|www\.|\w+\.(?:com|org|io)/", re.IGNORECASE)
ORDER = ["overview", "top_picks", "others", "must_read", "repos", "ideas", "conclusion", "sources"]


def paper(n: int, *, repo: str | None = None, **extra: Any) -> Paper:
    return Paper(
        paper_id=f"2605.{n:05d}",
        title=f"Paper number {n}",
        abstract=f"We propose method {n}. It improves results by {n}.5% on benchmarks.",
        authors=[f"Author {n}"],
        listed=DAY - dt.timedelta(days=n % 3),
        upvotes=n * 3,
        github_repo=repo,
        on_hf=n % 2 == 0,
        primary_category="cs.CL",
        **extra,
    )


PICK_PAPERS = [
    paper(1, repo="https://github.com/org/one"),
    paper(2, repo="https://github.com/Org/Two"),
    paper(3, repo="https://github.com/org/three"),
    paper(4, project_page="https://four.example.org"),
    paper(5, repo="https://github.com/org/five"),
]
OTHER_PAPERS = [paper(6, repo="https://github.com/org/six"), paper(7), paper(8)]
PICKS = [
    Ranked(paper=p, score=1.0 - i / 10, matched=["LLM agents"] if i < 2 else [])
    for i, p in enumerate(PICK_PAPERS)
]
OTHERS = [Ranked(paper=p, score=0.3 - i / 100) for i, p in enumerate(OTHER_PAPERS)]
ALL = [*PICKS, *OTHERS]
SUMMARIES = {
    r.paper.paper_id: PaperSummary(
        contribution=f"Contribution {r.paper.paper_id}, see https://evil.example/c.",
        why=f"Why {r.paper.paper_id} (https://evil.example/w) matters.",
        category="LLM Agent / RL",
        mode="llm",
    )
    for r in ALL
}


def repo_info(name: str, stars: int, *, archived: bool = False) -> RepoInfo:
    return RepoInfo(
        full_name=name,
        url=f"https://github.com/{name}",
        stars=stars,
        pushed_at=FETCHED - dt.timedelta(days=1),
        description=f"{name} repo",
        archived=archived,
        fetched_at=FETCHED,
    )


# What GitHub answered: facts, or None (404: no such repo).
REPOS: dict[str, RepoInfo | None] = {
    "https://github.com/org/one": repo_info("org/one", 10, archived=True),
    "https://github.com/org/two": repo_info("Org/Two", 500),
    "https://github.com/org/three": repo_info("org/three", 50),
    "https://github.com/org/five": None,
    "https://github.com/org/six": repo_info("org/six", 9000),
}
P = [r.paper.paper_id for r in PICKS]
OT = [r.paper.paper_id for r in OTHERS]
NOTES = ReaderNotes(
    overview="Agents everywhere today (https://spam.example).",
    relations={P[0]: "Directly useful: [see](https://evil.example/r) its setup."},
    must_read=[
        MustRead(paper_id="2605.99999", reason="not in the brief"),
        MustRead(paper_id=OT[0], reason="an other, not a pick"),
        MustRead(paper_id=P[2], reason="Closest to your work, www.evil.example/m."),
    ],
    ideas=[
        Idea(title="Combine", body="Use 1 with 2.", paper_ids=[P[0], P[1]]),
        Idea(title="Grounded in others", body="Use 6.", paper_ids=[OT[0]]),
        Idea(title="Invented", body="Uses an unknown paper.", paper_ids=[P[0], "2605.99999"]),
    ],
    conclusion="Read the picks.",
    repo_notes={P[1]: "Follow the trainer (https://evil.example/t)."},
    others_comments={OT[0]: "Skim it."},
)
GITHUB_OK = SourceItem(source="GitHub", status="ok", detail="verified")


def build(
    *,
    mode: Literal["llm", "extractive"] = "llm",
    notes: ReaderNotes = NOTES,
    repos: dict[str, RepoInfo | None] | None = None,
    reports: Sequence[SourceItem] = (GITHUB_OK,),
    summaries: dict[str, PaperSummary] | None = None,
    usage: LLMUsage | None = None,
    language: Literal["zh", "en"] = "en",
    picks: Sequence[Ranked] = PICKS,
    others: Sequence[Ranked] = OTHERS,
    plan: Plan | None = None,
    facts: BriefFacts | None = None,
    deltas: dict[str, tuple[int, int]] | None = None,
    now: dt.datetime = NOW,
) -> Brief:
    return compose_brief(
        day=DAY,
        profile=example_profile(language),
        language=language,
        picks=plan.picks if plan else picks,
        others=plan.others if plan else others,
        summaries=SUMMARIES if summaries is None else summaries,
        notes=notes,
        repos=REPOS if repos is None else repos,
        reports=list(reports),
        window_start=DAY - dt.timedelta(days=2),
        window_end=DAY,
        mode=mode,
        usage=usage or LLMUsage(calls=9, prompt_tokens=900, completion_tokens=300),
        generated_at=now,
        plan=plan,
        facts=facts,
        deltas=deltas,
    )


def section(brief: Brief, kind: SectionKind) -> Section:
    found = brief.section(kind)
    assert found is not None, kind
    return found


def llm_reports(brief: Brief) -> list[SourceItem]:
    items = section(brief, "sources").items
    return [i for i in items if isinstance(i, SourceItem) and i.source == "LLM"]


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a dumped model, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")


def test_sections_in_order_with_titles() -> None:
    brief = build()
    assert [s.kind for s in brief.sections] == ORDER
    assert [s.title for s in brief.sections] == [label(k, "en") for k in ORDER]
    assert brief.title == label("brief_title", "en", date="2026-05-08", reader="wenjun")
    assert brief.mode == "llm"
    assert section(brief, "top_picks").intro == ""


def test_every_link_and_number_comes_from_paper_or_repo() -> None:
    brief = build()
    papers = {r.paper.paper_id: r.paper for r in ALL}
    infos = {repo_key(k): v for k, v in REPOS.items()}
    for section in brief.sections:
        for item in section.items:
            if isinstance(item, PaperItem):
                p = papers[item.paper_id]
                key = repo_key(p.github_repo) if p.github_repo else ""
                info = infos.get(key)
                # HF's repo, as GitHub spells it when it answered; none when it said 404.
                repo = info.url if info else None if key in infos else p.github_repo
                assert item.links == p.links().model_copy(update={"repo": repo})
                assert (item.date, item.upvotes, item.arxiv_category) == (
                    p.day,
                    p.upvotes,
                    p.primary_category,
                )
                assert item.title == p.title and item.authors == p.authors
                assert item.upvotes == p.upvotes
            elif isinstance(item, RepoItem):
                info = infos[repo_key(item.url)]
                assert info is not None
                assert (item.url, item.full_name, item.stars) == (
                    info.url,
                    info.full_name,
                    info.stars,
                )
                assert item.pushed_at == info.pushed_at
    # The only URLs anywhere are in link fields, and each is a source URL.
    allowed = {u for r in ALL for u in r.paper.links().model_dump().values() if u is not None} | {
        i.url for i in REPOS.values() if i is not None
    }
    for path, text in strings(brief.model_dump(mode="json")):
        if path.endswith((".abs", ".pdf", ".hf", ".repo", ".project", ".url")):
            assert text in allowed, path
        else:
            assert not URL.search(text), (path, text)


def test_llm_prose_is_kept_without_urls() -> None:
    brief = build()
    first = brief.find_paper(P[0])
    assert first is not None
    assert first.relation == "Directly useful: see its setup."
    assert first.contribution == f"Contribution {P[0]}, see."
    assert first.why == f"Why {P[0]} matters."
    assert brief.overview == "Agents everywhere today."
    # A pick the notes said nothing about gets a relation written from its interests.
    second = brief.find_paper(P[1])
    assert second is not None and "LLM agents" in second.relation
    assert second.relation != matched_sentence(["LLM agents"], "en")


def test_must_read_only_from_picks_and_completed() -> None:
    brief = build()
    must = brief.section("must_read")
    assert must is not None
    items = [i for i in must.items if isinstance(i, PaperItem)]
    assert [i.paper_id for i in items] == [P[2], P[0], P[1]]
    assert items[0].note == "Closest to your work."
    # Completed with reasons of their own: each different, none a relation.
    notes = [i.note for i in items]
    assert len(set(notes)) == 3
    relations = {i.relation for i in brief.sections[1].items if isinstance(i, PaperItem)}
    assert not set(notes) & relations


def test_ideas_must_cite_papers_in_the_brief() -> None:
    ideas = build().section("ideas")
    assert ideas is not None
    assert [i.title for i in ideas.items if isinstance(i, IdeaItem)] == [
        "Combine",
        "Grounded in others",
    ]


def test_repos_verified_best_first_archived_last() -> None:
    items = [i for i in section(build(), "repos").items if isinstance(i, RepoItem)]
    # Two (pick 2), three (pick 3), six (an other); the archived one (pick 1) ranks last
    # and falls off; five does not exist (GitHub said 404), so it is left out.
    assert [i.full_name for i in items] == ["Org/Two", "org/three", "org/six"]
    assert items[0].note == "Follow the trainer."
    assert items[0].paper_id == P[1] and items[0].paper_title == PICK_PAPERS[1].title

    fewer = {**REPOS, "https://github.com/org/six": None}
    items = [i for i in section(build(repos=fewer), "repos").items if isinstance(i, RepoItem)]
    assert [i.full_name for i in items] == ["Org/Two", "org/three", "org/one"]
    assert [i.archived for i in items] == [False, False, True]


def test_repos_unverified_when_github_failed() -> None:
    failed = SourceItem(source="GitHub", status="failed", detail="timeout")
    brief = build(repos={}, reports=[failed])
    repos = brief.section("repos")
    assert repos is not None
    items = [i for i in repos.items if isinstance(i, RepoItem)]
    assert [i.url for i in items] == [
        "https://github.com/org/one",
        "https://github.com/Org/Two",
        "https://github.com/org/three",
    ]
    assert all(i.stars is None for i in items)
    assert items[1].full_name == "Org/Two"
    assert failed in section(brief, "sources").items


def test_extractive_mode_has_no_ideas_section_and_no_configuration_hint() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("en"), "en")
    brief = build(mode="extractive", notes=notes, usage=LLMUsage())
    assert brief.section("ideas") is None
    assert section(brief, "top_picks").intro == label("extractive_note_not_configured", "en")
    (llm,) = llm_reports(brief)
    assert llm.status == "not_configured" and llm.detail.startswith("LLM not configured")
    # Configuration hints belong on the CLI's stderr, never in the brief.
    assert "PAPERDROP_" not in brief.model_dump_json()
    assert "LLM (not configured)" in brief.header


def test_the_header_and_the_source_note_use_the_same_words() -> None:
    """The header's "LLM(未配置)" and the source note's status agree (it said 未查询)."""
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("zh"), "zh")
    brief = build(mode="extractive", notes=notes, usage=LLMUsage(), language="zh")
    (llm,) = llm_reports(brief)
    word = label(f"status_{llm.status}", "zh")
    assert word == "未配置" and f"LLM({word})" in brief.header
    for report in section(brief, "sources").items:
        assert isinstance(report, SourceItem)
        shown = label(f"status_{report.status}", "zh")
        if report.source != "LLM" and report.source in brief.header and report.status != "ok":
            assert shown in brief.header, (report.source, shown, brief.header)


def test_an_llm_switched_off_says_so() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("en"), "en")
    brief = build(mode="extractive", notes=notes, usage=LLMUsage(), facts=BriefFacts(llm_off=True))
    (llm,) = llm_reports(brief)
    assert llm.detail.startswith("LLM switched off")
    assert "LLM (switched off)" in brief.header
    assert "not configured" not in brief.model_dump_json()


def test_extractive_after_failure_is_named_as_failure() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("zh"), "zh")
    brief = build(mode="extractive", notes=notes, usage=LLMUsage(calls=3), language="zh")
    intro = section(brief, "top_picks").intro
    assert "失败" in intro and intro != label("extractive_note_not_configured", "zh")
    (llm,) = llm_reports(brief)
    assert llm.status == "failed"
    # One line for the reader on why there are no ideas today.
    ideas = section(brief, "ideas")
    assert ideas.items == [TextItem(text=label("ideas_failed", "zh"))]


def test_llm_source_counts_usage_and_fallbacks() -> None:
    summaries = dict(SUMMARIES)
    summaries[P[4]] = summaries[P[4]].model_copy(update={"mode": "extractive"})
    brief = build(
        summaries=summaries, usage=LLMUsage(calls=7, prompt_tokens=60, cached_summaries=2)
    )
    (llm,) = llm_reports(brief)
    assert llm.status == "partial"
    assert "7 calls" in llm.detail and "60 tokens" in llm.detail and "2 summaries" in llm.detail
    assert "1 summaries fell back" in llm.detail


def test_a_given_llm_report_is_not_duplicated() -> None:
    given = SourceItem(source="LLM", status="failed", detail="HTTP 401")
    brief = build(mode="extractive", reports=[GITHUB_OK, given])
    assert llm_reports(brief) == [given]


def test_missing_summary_uses_the_papers_own_words() -> None:
    summaries = {k: v for k, v in SUMMARIES.items() if k != P[3]}
    brief = build(summaries=summaries)
    item = brief.find_paper(P[3])
    assert item is not None
    assert item.contribution == "“We propose method 4.”"  # quoted: the paper's own words
    assert item.links.project == "https://four.example.org"


def test_others_carry_contribution_and_comment() -> None:
    others = build().section("others")
    assert others is not None
    first = others.items[0]
    assert isinstance(first, PaperItem)
    assert first.paper_id == OT[0]
    assert first.note == "Skim it."
    assert first.contribution == f"Contribution {OT[0]}, see."
    assert first.why == ""


def test_json_round_trip() -> None:
    for brief in (
        build(),
        build(
            mode="extractive",
            notes=extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("zh"), "zh"),
            language="zh",
        ),
    ):
        again = Brief.model_validate_json(brief.model_dump_json())
        assert again == brief


# --- the header -------------------------------------------------------------------------

REPORTS = [
    SourceItem(source="Hugging Face", status="ok", detail="Daily Papers: 44 papers."),
    SourceItem(source="arXiv", status="partial", detail="one day failed"),
    GITHUB_OK,
]
WIDENED = BriefFacts(
    candidates=150,
    counts={"Hugging Face": 44, "arXiv": 120},
    widened="Hugging Face 2026-05-08 只列出 3 篇,放宽到最近 3 天,共 150 篇候选",
    hidden_avoid=3,
)
STATUS_CODES = re.compile(r"\b(ok|partial|failed|skipped)\b")


def test_header_says_when_over_which_window_and_which_sources_answered_in_chinese() -> None:
    brief = build(language="zh", reports=REPORTS, facts=WIDENED)
    # 00:05 UTC is 08:05 for the example reader in Asia/Shanghai.
    assert brief.header.startswith("检索时间:2026-05-08 08:05(Asia/Shanghai)。")
    assert "时间范围:2026-05-06 至 2026-05-08(Hugging Face 2026-05-08 只列出 3 篇" in brief.header
    assert "Hugging Face(44 篇)" in brief.header and "arXiv(120 篇,部分失败)" in brief.header
    assert "GitHub(正常)" in brief.header and "LLM(已使用)" in brief.header
    assert "另有 3 篇因你的 avoid 列表未显示" in brief.header
    assert not STATUS_CODES.search(brief.header)  # no English "(ok)" in a zh brief


def test_header_in_english_and_in_another_time_zone() -> None:
    brief = build(
        reports=REPORTS, facts=WIDENED, now=dt.datetime(2026, 5, 7, 23, 30, tzinfo=dt.UTC)
    )
    assert brief.header.startswith("Retrieved 2026-05-08 07:30 (Asia/Shanghai).")
    assert "Hugging Face (44 papers)" in brief.header
    assert "3 papers hidden by your avoid list" in brief.header
    zoned = example_profile("en").model_copy(update={"timezone": "America/New_York"})
    again = compose_brief(
        day=DAY,
        profile=zoned,
        language="en",
        picks=PICKS,
        others=OTHERS,
        summaries=SUMMARIES,
        notes=NOTES,
        repos=REPOS,
        reports=REPORTS,
        window_start=DAY,
        window_end=DAY,
        mode="llm",
        usage=LLMUsage(calls=1),
        generated_at=NOW,
    )
    assert again.header.startswith(
        "Retrieved 2026-05-07 20:05 (America/New_York). Window: 2026-05-08."
    )


def test_the_window_report_is_the_headers_not_a_source() -> None:
    window = SourceItem(source="Window", status="ok", detail="widened")
    brief = build(reports=[*REPORTS, window])
    assert window not in section(brief, "sources").items


# --- a day like the sample: groups, reasons, Chinese without an LLM -----------------------

SAMPLE_PAPERS = {p.paper_id: p for p in sample_candidates("zh").papers}
SAMPLE_DAY = dt.date(2026, 5, 8)


def sample_day(language: Literal["zh", "en"]) -> tuple[Plan, ReaderNotes, Profile]:
    profile = example_profile(language)
    ranked = rank(list(SAMPLE_PAPERS.values()), profile, today=SAMPLE_DAY)
    picks, others = select(ranked, profile.top_picks)
    plan = plan_picks(picks, others, top_picks=profile.top_picks, corpus=SAMPLE_PAPERS.values())
    notes = extractive_notes(
        plan.picks, plan.others, {}, profile, language, plan=plan, candidates=len(SAMPLE_PAPERS)
    )
    return plan, notes, profile


def sample_brief(language: Literal["zh", "en"]) -> Brief:
    plan, notes, profile = sample_day(language)
    return compose_brief(
        day=SAMPLE_DAY,
        profile=profile,
        language=language,
        picks=plan.picks,
        others=plan.others,
        summaries={},
        notes=notes,
        repos={},
        reports=[
            SourceItem(source="Hugging Face", status="ok", detail="sample"),
            SourceItem(source="GitHub", status="skipped", detail="not asked"),
        ],
        window_start=SAMPLE_DAY,
        window_end=SAMPLE_DAY,
        mode="extractive",
        usage=LLMUsage(),
        generated_at=NOW,
        plan=plan,
        facts=BriefFacts(sample=True, candidates=len(SAMPLE_PAPERS)),
    )


_QUOTED = re.compile(r"“[^”]*”")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def written_texts(brief: Brief) -> list[str]:
    """What the rules wrote: every text but titles and quoted source sentences."""
    out = [brief.header, brief.overview]
    for s in brief.sections:
        if s.intro:
            out.append(s.intro)
        for item in s.items:
            if isinstance(item, TextItem):
                out.append(item.text)
            elif isinstance(item, PaperItem) and s.kind in ("top_picks", "must_read"):
                out += [item.relation, item.note]
    return [t for t in out if t]


def test_related_picks_share_one_heading() -> None:
    brief = sample_brief("zh")
    plan, _, _ = sample_day("zh")
    items = section(brief, "top_picks").items
    assert plan.groups, "the sample day has related picks"
    for group in plan.groups:
        first = next(
            i
            for i, it in enumerate(items)
            if isinstance(it, PaperItem) and it.paper_id == group.paper_ids[0]
        )
        heading = items[first - 1]
        assert isinstance(heading, TextItem)
        members = items[first : first + len(group.paper_ids)]
        assert [m.paper_id for m in members if isinstance(m, PaperItem)] == list(group.paper_ids)
        assert " + " in heading.text and "——" in heading.text
    # As many picks as the reader asked for, a group counting once.
    singles = [
        it for it in items if isinstance(it, PaperItem) and plan.group_of(it.paper_id) is None
    ]
    assert len(singles) + len(plan.groups) == example_profile().top_picks


def test_every_pick_says_why_it_was_picked_in_its_own_words() -> None:
    brief = sample_brief("zh")
    picks = [i for i in section(brief, "top_picks").items if isinstance(i, PaperItem)]
    notes = [p.note for p in picks]
    assert len(set(notes)) == len(notes)
    profile = example_profile("zh")
    for p in picks:
        assert profile.label(p.matched[0]) in p.note  # its strongest interest, by its label
        paper = SAMPLE_PAPERS[p.paper_id]
        if paper.github_repo:
            assert "代码" in p.note
        if paper.upvotes:
            assert str(paper.upvotes) in p.note
        # The relation: the interest and the paper's own terms, not a list of interests.
        assert profile.label(p.matched[0]) in p.relation
        assert not p.relation.startswith("匹配你的兴趣")
    relations = [p.relation for p in picks]
    assert len(set(relations)) == len(relations)


def test_read_closely_gives_each_paper_a_reason_of_its_own() -> None:
    brief = sample_brief("zh")
    must = [i for i in section(brief, "must_read").items if isinstance(i, PaperItem)]
    assert len(must) == 3
    reasons = [m.note for m in must]
    assert len(set(reasons)) == 3
    picks = {i.paper_id: i for i in section(brief, "top_picks").items if isinstance(i, PaperItem)}
    for m in must:
        assert m.note not in (picks[m.paper_id].note, picks[m.paper_id].relation)
    # One per pick: a group's papers are not all read closely.
    plan, _, _ = sample_day("zh")
    for group in plan.groups:
        assert sum(m.paper_id in group.paper_ids for m in must) <= 1


_FUNCTION_WORDS = re.compile(r"\b(?:the|of|is|are|and|for|with|this|that|from|your)\b", re.I)


def test_a_chinese_brief_without_an_llm_reads_chinese_outside_quotes_and_titles() -> None:
    brief = sample_brief("zh")
    names = sorted(
        {short_name(p.title) for p in SAMPLE_PAPERS.values()} | set(SAMPLE_PAPERS),
        key=len,
        reverse=True,
    )
    texts = written_texts(brief)
    for text in texts:
        assert _CJK.search(text), text
        # Outside quotations and paper names, no English sentence: terms, labels and names
        # stay Latin, the sentences around them are Chinese.
        rest = _QUOTED.sub("", text)
        for name in names:
            rest = rest.replace(name, "")
        assert not _FUNCTION_WORDS.search(rest), (rest, text)
    unquoted = _QUOTED.sub("", " ".join(texts))
    cjk, words = len(_CJK.findall(unquoted)), len(re.findall(r"[A-Za-z][\w\-^²]*", unquoted))
    assert cjk > 2 * words, (cjk, words)
    # Abstract sentences stay English, shortened, marked as quotations.
    for item in section(brief, "top_picks").items:
        if isinstance(item, PaperItem):
            assert "“" in item.contribution and item.contribution.endswith("”")
            assert len(item.contribution) <= 300
    # Themes are named by key phrases or acronyms and counted: "RL(8 篇)".
    assert re.search(r"今天的主题:[^。]*\(\d+ 篇\)", brief.overview), brief.overview
    conclusion = section(brief, "conclusion").items[0]
    assert isinstance(conclusion, TextItem) and conclusion.text.startswith("建议先读")


def test_an_english_brief_without_an_llm_has_no_chinese() -> None:
    brief = sample_brief("en")
    assert not _CJK.search(brief.model_dump_json())
    assert re.search(r"Today's themes?: \d+ papers on ", brief.overview), brief.overview


def test_glance_rows_have_topical_categories_and_one_line_takeaways() -> None:
    brief = sample_brief("zh")
    others = [i for i in section(brief, "others").items if isinstance(i, PaperItem)]
    assert others
    categories = {o.category for o in others}
    assert "AI" not in categories and len(categories) >= len(others) // 2
    for o in others:
        assert o.note and len(o.note) <= TAKEAWAY_CHARS, o.note
        assert o.note.startswith(("“", "综述", "新评测:“", "新数据集:“"))
    # A whole sentence that fits is chosen over the first one cut short: most are whole.
    cut = sum(1 for o in others if o.note.endswith("…”"))
    assert cut <= len(others) // 2 + 1


def test_a_glance_line_is_the_telling_sentence_that_fits_not_the_first_cut_short() -> None:
    long_first = (
        "Large language models have recently shown remarkable abilities across a wide range "
        "of complex tasks that require planning, memory and the use of external tools."
    )
    paper = Paper(
        paper_id="2605.00077",
        title="Plan2: Planning with memories",
        abstract=f"{long_first} We propose Plan2, a planner that keeps memories of past "
        "episodes and retrieves the relevant ones at every step of a long-horizon task. "
        "Plan2 improves success rate by 12.5% over ReAct on ALFWorld.",
    )
    line = takeaway(paper, "en", 100)
    assert line == "“Plan2 improves success rate by 12.5% over ReAct on ALFWorld.”"
    assert len(takeaway(paper, "en", 40)) <= 40  # nothing fits: shortened, marked


def test_source_text_is_cleaned_of_latex() -> None:
    paper = Paper(
        paper_id="2605.00042",
        title=r"A$^2$TGPO: Turn-level Credit",
        abstract=(
            r"In this paper, we show that compute follows $T \propto D^{\gamma}$. "
            r"It reduces loss by $0.81\%$ on \textbf{all} tasks."
        ),
        listed=DAY,
    )
    r = Ranked(paper=paper, score=1.0, matched=["agentic reinforcement learning"])
    brief = build(picks=[r], others=[], mode="extractive", summaries={}, usage=LLMUsage())
    item = brief.find_paper("2605.00042")
    assert item is not None
    assert item.title == "A²TGPO: Turn-level Credit"
    assert item.contribution == "“We show that compute follows T ∝ D^γ.”"
    assert item.why == "“It reduces loss by 0.81% on all tasks.”"


def llm_brief(overview: str, language: Literal["zh", "en"] = "en") -> Brief:
    plan, _, profile = sample_day(language)
    summaries = {
        r.paper.paper_id: PaperSummary(
            contribution="It does X.", why="It matters.", category="LLM Agent", mode="llm"
        )
        for r in (*plan.picks, *plan.others)
    }
    return compose_brief(
        day=SAMPLE_DAY,
        profile=profile,
        language=language,
        picks=plan.picks,
        others=plan.others,
        summaries=summaries,
        notes=ReaderNotes(overview=overview, conclusion="Read SkillOS."),
        repos={},
        reports=[],
        window_start=SAMPLE_DAY,
        window_end=SAMPLE_DAY,
        mode="llm",
        usage=LLMUsage(calls=2),
        generated_at=NOW,
        plan=plan,
    )


def test_an_llm_overview_is_the_llms_own() -> None:
    brief = llm_brief("Agents learn skills.")
    # No theme sentence of the code's appended to what the LLM wrote.
    assert brief.overview == "Agents learn skills."
    conclusion = section(brief, "conclusion").items[0]
    assert isinstance(conclusion, TextItem) and conclusion.text == "Read SkillOS."
    # Every pick still says why it was picked, written by code.
    picks = [i for i in section(brief, "top_picks").items if isinstance(i, PaperItem)]
    assert all(p.note for p in picks)


def test_the_llms_counts_are_checked_against_the_papers() -> None:
    plan, _, _ = sample_day("en")
    shown = [*plan.picks, *plan.others]
    rl = sum(1 for r in shown if "rl" in plan.lexicon.phrases.keys_of(r.paper.paper_id))
    agents = sum(1 for r in shown if "LLM agents" in r.matched)
    assert rl >= 3 and agents >= 3
    brief = llm_brief(
        f"Today {len(plan.picks)} top picks: {rl} papers on RL, {rl + 2} papers on LLM agents "
        f"and world models ({agents + 5} papers). {len(plan.others)} more are worth a glance; "
        f"{agents} papers match LLM agents."
    )
    assert brief.overview == (
        f"Today {len(plan.picks)} top picks: {rl} papers on RL, papers on LLM agents "
        f"and world models. {len(plan.others)} more are worth a glance; "
        f"{agents} papers match LLM agents."
    )
    zh = llm_brief(
        f"今天的主题:RL({rl} 篇)、「LLM Agent」({agents + 1} 篇)。另有 99 篇值得一看。", "zh"
    )
    assert zh.overview == f"今天的主题:RL({rl} 篇)、「LLM Agent」。另有值得一看。"


# --- repos ------------------------------------------------------------------------------


def test_repos_carry_velocity_and_archived_flags() -> None:
    brief = build(deltas={"https://github.com/Org/Two": (120, 1)})
    items = {i.full_name: i for i in section(brief, "repos").items if isinstance(i, RepoItem)}
    assert (items["Org/Two"].stars_delta, items["Org/Two"].delta_days) == (120, 1)
    assert items["org/three"].stars_delta is None
    assert section(brief, "repos").intro == ""  # GitHub answered: nothing to explain
    fewer = {**REPOS, "https://github.com/org/six": None}
    archived = [i for i in section(build(repos=fewer), "repos").items if isinstance(i, RepoItem)][
        -1
    ]
    assert archived.full_name == "org/one" and archived.archived


def test_repos_not_checked_get_one_note_for_the_section() -> None:
    skipped = SourceItem(source="GitHub", status="skipped", detail="offline")
    brief = build(repos={}, reports=[skipped], language="zh")
    repos = section(brief, "repos")
    assert repos.intro.startswith("未查询 GitHub")
    assert all(isinstance(i, RepoItem) and i.stars is None for i in repos.items)
    failed = SourceItem(source="GitHub", status="failed", detail="timeout")
    assert section(build(repos={}, reports=[failed]), "repos").intro.startswith("GitHub failed")


# --- nothing hidden silently ------------------------------------------------------------


AVOID = ["multimodal search"]


def test_papers_hidden_by_the_avoid_list_are_counted() -> None:
    papers = list(SAMPLE_PAPERS.values())

    def hidden(profile: Profile, learned: Learned | None = None) -> tuple[int, int]:
        ranked = rank(papers, profile, today=SAMPLE_DAY, learned=learned)
        picks, others = select(ranked, profile.top_picks)
        shown = {r.paper.paper_id for r in (*picks, *others)}
        return hidden_counts(
            papers,
            profile,
            today=SAMPLE_DAY,
            seen=set(),
            shown=shown,
            ranked=ranked,
            learned=learned,
        )

    reader = example_profile("en")
    assert hidden(reader.model_copy(update={"avoid": []})) == (0, 0)
    avoid, feedback = hidden(reader.model_copy(update={"avoid": AVOID}))
    multimodal = sum(1 for p in papers if "multimodal search" in (p.title + p.abstract).lower())
    assert 1 <= avoid <= multimodal and feedback == 0
    # Papers the reader's model pushes out are counted too: here it puts the day's ten
    # best-matched papers last, at its full weight.
    order = [r.paper.paper_id for r in rank(papers, reader, today=SAMPLE_DAY)]
    scores = {pid: (1.0 if i >= 10 else 0.0) for i, pid in enumerate(order)}
    _, feedback = hidden(reader, Learned(scores=scores, weight=W_MODEL_MAX))
    assert feedback >= 1
    assert hidden(reader, Learned(scores=dict.fromkeys(order, 1.0), weight=W_MODEL_MAX)) == (0, 0)


async def test_the_sample_brief_says_how_many_papers_the_avoid_list_hid(store: Store) -> None:
    profile = example_profile("en").model_copy(update={"avoid": AVOID})
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    brief = await build_brief(
        settings, profile, SAMPLE_DAY, store=store, use_llm=False, sample=True, now=lambda: NOW
    )
    assert re.search(r"\d+ papers? hidden by your avoid list", brief.header), brief.header
    assert brief.header.startswith("Offline sample")


def test_groups_the_llm_proposes_are_used() -> None:
    plan, notes, _ = sample_day("en")
    a, b = plan.picks[-1].paper.paper_id, plan.picks[-2].paper.paper_id
    proposed = notes.model_copy(update={"groups": [Group(title="Same question", paper_ids=[a, b])]})
    merged = _with_llm_groups(plan, proposed)
    llm = [g for g in merged.groups if g.proposed_by_llm]
    assert [set(g.paper_ids) for g in llm] == [{a, b}] and llm[0].title == "Same question"
    assert _with_llm_groups(plan, notes) is plan  # none proposed: the lexical plan


def test_no_term_is_a_word_cut_out_of_a_hyphenated_compound() -> None:
    papers = list(SAMPLE_PAPERS.values())
    profile = example_profile("en")
    ranked = rank(papers, profile, today=SAMPLE_DAY)
    writer = Writer(profile=profile, language="en", picks=ranked[:20], others=[])
    checked = 0
    for r in ranked[:40]:
        text = f"{r.paper.title} {r.paper.abstract} {r.paper.ai_summary or ''}"
        terms = writer.own_terms(r.paper, 3)
        terms += [t for m in r.matched for t in writer.matched_phrases(r, m)]
        for term in terms:
            checked += 1
            pattern = rf"(?<![\w-]){re.escape(term)}(?![\w-])"
            # As written, or as the field's terms are made one ("agentic RL").
            alone = re.search(pattern, text, re.I) or re.search(pattern, canonical(text), re.I)
            assert alone, f"{r.paper.paper_id}: {term!r} only occurs inside a compound"
    assert checked > 40


@pytest.mark.parametrize("mode", ["llm", "extractive"])
def test_why_picked_and_glance_lines_name_the_readers_evidence(
    mode: Literal["llm", "extractive"],
) -> None:
    followed = OTHERS[0].model_copy(update={"followed": ["Ada Lovelace"]})
    liked = PICKS[0].model_copy(update={"like": ("2605.00099", "liked")})
    own = PICKS[1].model_copy(update={"like": (PICKS[1].paper.paper_id, "seed")})
    for language, marks in (
        ("en", ("By Ada Lovelace, whom you follow", "Like 2605.00099 you liked", "One of your")),
        ("zh", ("来自你关注的作者 Ada Lovelace", "与你点过 👍 的 2605.00099 相近", "这是你的论文")),
    ):
        brief = build(
            mode=mode,
            language=language,  # type: ignore[arg-type]
            picks=[liked, own, *PICKS[2:]],
            others=[followed, *OTHERS[1:]],
        )
        glance = brief.find_paper(followed.paper.paper_id)
        assert glance is not None and glance.note.startswith(marks[0]), glance.note
        first = brief.find_paper(liked.paper.paper_id)
        assert first is not None and first.note.startswith(marks[1]), first.note
        second = brief.find_paper(own.paper.paper_id)
        assert second is not None and second.note.startswith(marks[2]), second.note
