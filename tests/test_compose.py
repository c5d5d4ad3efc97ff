"""compose_brief: sections, honest links and numbers, extractive mode, JSON round trip."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from digest.compose import compose_brief, repo_key
from digest.i18n import label
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
from digest.profile import example_profile
from digest.summarize import Idea, MustRead, ReaderNotes, extractive_notes

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


REPOS = {
    "https://github.com/org/one": repo_info("org/one", 10, archived=True),
    "https://github.com/org/two": repo_info("Org/Two", 500),
    "https://github.com/org/three": repo_info("org/three", 50),
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
    repos: dict[str, RepoInfo] | None = None,
    reports: Sequence[SourceItem] = (GITHUB_OK,),
    summaries: dict[str, PaperSummary] | None = None,
    usage: LLMUsage | None = None,
    language: Literal["zh", "en"] = "en",
) -> Brief:
    return compose_brief(
        day=DAY,
        profile=example_profile(language),
        language=language,
        picks=PICKS,
        others=OTHERS,
        summaries=SUMMARIES if summaries is None else summaries,
        notes=notes,
        repos=REPOS if repos is None else repos,
        reports=list(reports),
        window_start=DAY - dt.timedelta(days=2),
        window_end=DAY,
        mode=mode,
        usage=usage or LLMUsage(calls=9, prompt_tokens=900, completion_tokens=300),
        generated_at=NOW,
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
                info = infos.get(repo_key(p.github_repo)) if p.github_repo else None
                assert item.links == p.links(repo=info.url if info else None)
                assert (item.date, item.upvotes, item.arxiv_category) == (
                    p.day,
                    p.upvotes,
                    p.primary_category,
                )
                assert item.title == p.title and item.authors == p.authors
            elif isinstance(item, RepoItem):
                info = infos[repo_key(item.url)]
                assert (item.url, item.full_name, item.stars) == (
                    info.url,
                    info.full_name,
                    info.stars,
                )
                assert item.pushed_at == info.pushed_at
    # The only URLs anywhere are in link fields, and each is a source URL.
    allowed = {u for r in ALL for u in r.paper.links().model_dump().values() if u is not None} | {
        i.url for i in REPOS.values()
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
    # A pick the notes said nothing about gets the matched-interests sentence.
    second = brief.find_paper(P[1])
    assert second is not None and second.relation == "Matches your interests: LLM agents"


def test_must_read_only_from_picks_and_completed() -> None:
    brief = build()
    must = brief.section("must_read")
    assert must is not None
    items = [i for i in must.items if isinstance(i, PaperItem)]
    assert [i.paper_id for i in items] == [P[2], P[0], P[1]]
    assert items[0].note == "Closest to your work."
    assert items[1].note == "Matches your interests: LLM agents"


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
    # and falls off; five is not verified while GitHub answered, so it is left out.
    assert [i.full_name for i in items] == ["Org/Two", "org/three", "org/six"]
    assert items[0].note == "Follow the trainer."
    assert items[0].paper_id == P[1] and items[0].paper_title == PICK_PAPERS[1].title

    fewer = {k: v for k, v in REPOS.items() if not k.endswith("/six")}
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


def test_extractive_mode_has_no_ideas_and_says_how_to_enable() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("en"), "en")
    brief = build(mode="extractive", notes=notes, usage=LLMUsage())
    assert not any(isinstance(i, IdeaItem) for s in brief.sections for i in s.items)
    ideas = brief.section("ideas")
    assert ideas is not None
    assert ideas.items == [TextItem(text=label("ideas_disabled", "en"))]
    assert "PAPERDROP_LLM_API_KEY" in label("ideas_disabled", "en")
    assert section(brief, "top_picks").intro == label("extractive_note", "en")
    (llm,) = llm_reports(brief)
    assert llm.status == "skipped"


def test_extractive_after_failure_is_named_as_failure() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, example_profile("zh"), "zh")
    brief = build(mode="extractive", notes=notes, usage=LLMUsage(calls=3), language="zh")
    intro = section(brief, "top_picks").intro
    assert "失败" in intro and intro != label("extractive_note", "zh")
    (llm,) = llm_reports(brief)
    assert llm.status == "failed"


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
    assert item.contribution == "We propose method 4."
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
