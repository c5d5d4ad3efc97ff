"""Summaries (cache, single-flight, fallback), reader notes and the extractive texts."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from digest.errors import LLMError
from digest.llm import LLMCallError, OpenAILLM
from digest.models import LLMUsage, Paper, PaperSummary, Ranked
from digest.profile import example_profile
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from digest.summarize import (
    PROMPT_VERSION,
    Idea,
    MustRead,
    ReaderNotes,
    extractive_notes,
    extractive_summary,
    reader_notes,
    split_sentences,
    strip_urls,
    summarize_papers,
)
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-summarize-test"
FIXTURE = Path(__file__).parents[1] / "digest" / "data" / "hf-daily-2026-05-08.json"
T = TypeVar("T", bound=BaseModel)
CJK = re.compile(r"[\u4e00-\u9fff]")


def fixture_papers() -> list[Paper]:
    """The real HF daily fixture, mapped by hand (this test must not depend on sources/)."""
    out = []
    for item in json.loads(FIXTURE.read_text("utf-8")):
        p = item["paper"]
        out.append(
            Paper(
                paper_id=p["id"],
                title=" ".join(p["title"].split()),
                abstract=p.get("summary", ""),
                ai_summary=p.get("ai_summary"),
                upvotes=p.get("upvotes"),
                github_repo=p.get("githubRepo"),
                on_hf=True,
            )
        )
    return out


PAPERS = fixture_papers()


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def llm(server: FakeLLMServer) -> AsyncIterator[OpenAILLM]:
    settings = Settings.model_validate(
        {"llm_base_url": server.base_url, "llm_api_key": KEY, "embeddings_model": None}
    )
    client = OpenAILLM(settings)
    yield client
    await client.aclose()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = await SQLiteStore.open(tmp_path / "store.sqlite3")
    yield s
    await s.close()


# --- sentence splitting and extractive summaries ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Agents (e.g. SWE-agent) fail often. We fix that.",
            ["Agents (e.g. SWE-agent) fail often.", "We fix that."],
        ),
        (
            "As shown by Zhou et al. (2024), scaling helps. It costs more.",
            ["As shown by Zhou et al. (2024), scaling helps.", "It costs more."],
        ),
        (
            "Accuracy rises from 71.3% to 84.5% on GSM8K. Latency drops 2.5x.",
            ["Accuracy rises from 71.3% to 84.5% on GSM8K.", "Latency drops 2.5x."],
        ),
        (
            "We compare i.e. Transformers and SSMs vs. RNNs. Fig. 2 shows it. Done!",
            ["We compare i.e. Transformers and SSMs vs. RNNs.", "Fig. 2 shows it.", "Done!"],
        ),
        (
            "It runs approx. three times faster. The U.S. Army paid. Why? Unknown.",
            ["It runs approx. three times faster.", "The U.S. Army paid.", "Why?", "Unknown."],
        ),
        ("模型很强。我们提出新方法！效果如何？", ["模型很强。", "我们提出新方法！", "效果如何？"]),
        ("No final period here", ["No final period here"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


TRICKY = Paper(
    paper_id="2605.00001",
    title="A Tricky Paper",
    abstract=(
        "Language agents are widely used, e.g. in software engineering. "
        "Prior work by Smith et al. studied this. "
        "This is a known area. "
        "We propose TrickNet, a framework that plans over 3.5x longer horizons. "
        "It is nice. "
        "Experiments show TrickNet improves success by 12.4% over strong baselines. "
        "Code is available at https://github.com/x/tricknet."
    ),
    primary_category="cs.CL",
)


def test_extractive_uses_the_contribution_sentence_and_key_sentences() -> None:
    s = extractive_summary(TRICKY, "en")
    assert s.mode == "extractive"
    # The background opening is skipped for the sentence that states the contribution.
    assert (
        s.contribution == "We propose TrickNet, a framework that plans over 3.5x longer horizons."
    )
    assert "We propose" not in s.why
    assert "Experiments show TrickNet improves success by 12.4% over strong baselines." in s.why
    assert s.category == "NLP / Language Models"  # readable; the raw category is shown beside it
    assert "http" not in s.why


def test_extractive_falls_back_to_the_first_sentence_without_a_cue() -> None:
    paper = TRICKY.model_copy(update={"abstract": "Agents act. They act well in many places."})
    assert extractive_summary(paper, "en").contribution == "Agents act."


def test_extractive_prefers_the_hf_ai_summary_and_defaults_category() -> None:
    paper = TRICKY.model_copy(
        update={"ai_summary": "TrickNet plans longer with less compute.", "primary_category": None}
    )
    s = extractive_summary(paper, "zh")
    assert s.contribution == "TrickNet plans longer with less compute."
    assert s.why.startswith("We propose TrickNet")  # the first sentence may be used now
    assert s.category == "AI"


def test_extractive_on_real_abstracts_copies_their_sentences() -> None:
    for paper in PAPERS:
        s = extractive_summary(paper, "en")
        source = " ".join(f"{paper.abstract} {paper.ai_summary or ''} {paper.title}".split())
        assert s.contribution and s.contribution.rstrip("…") in source
        for sentence in split_sentences(s.why):
            assert sentence in source


def test_strip_urls() -> None:
    text = "See [the repo](https://github.com/a/b), www.example.com and arxiv.org/abs/1 (https://x.io)."
    assert strip_urls(text) == "See the repo, and."


# --- summaries with the LLM -------------------------------------------------------------


async def test_summaries_are_cached_per_paper_and_language(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    papers = PAPERS[:3]
    first, u1 = await summarize_papers(papers, "en", store=store, llm=llm)
    assert set(first) == {p.paper_id for p in papers}
    assert all(s.mode == "llm" for s in first.values())
    assert u1.calls == 3 and u1.cached_summaries == 0
    assert u1.prompt_tokens == sum(c[1] for c in server.calls)

    again, u2 = await summarize_papers(papers, "en", store=store, llm=llm)
    assert len(server.calls_for("summarize")) == 3  # no new call
    assert u2 == LLMUsage(cached_summaries=3)
    assert again == first

    zh, u3 = await summarize_papers(papers, "zh", store=store, llm=llm)
    assert u3.calls == 3  # another language is another cache entry
    assert all(CJK.search(s.contribution) for s in zh.values())
    assert zh[papers[0].paper_id] != first[papers[0].paper_id]
    cached_en = await store.get_summary(papers[0].paper_id, "en", PROMPT_VERSION)
    cached_zh = await store.get_summary(papers[0].paper_id, "zh", PROMPT_VERSION)
    assert cached_en == first[papers[0].paper_id]
    assert cached_zh == zh[papers[0].paper_id]


async def test_summary_prompt(server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore) -> None:
    paper = PAPERS[0]
    await summarize_papers([paper], "zh", store=store, llm=llm)
    messages = server.requests[0]["messages"]
    assert messages[0]["content"].startswith("TASK: summarize\n")
    assert "Simplified Chinese" in messages[0]["content"]
    user = json.loads(messages[1]["content"])
    assert user["language"] == "zh"
    assert user["paper"]["id"] == paper.paper_id
    assert user["paper"]["abstract"] == " ".join(paper.abstract.split())[:2500]


async def test_concurrent_readers_share_one_call_per_paper(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    a, b, c, d = PAPERS[:4]
    (one, u1), (two, u2) = await asyncio.gather(
        summarize_papers([a, b, c], "en", store=store, llm=llm),
        summarize_papers([b, c, d], "en", store=store, llm=llm),
    )
    ids = [json.loads(r["messages"][1]["content"])["paper"]["id"] for r in server.requests]
    assert sorted(ids) == sorted(p.paper_id for p in (a, b, c, d))
    assert u1.calls + u2.calls == 4
    assert u1.cached_summaries + u2.cached_summaries == 2
    assert one[b.paper_id] == two[b.paper_id]


async def test_failed_call_falls_back_to_extractive_uncached(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    paper = PAPERS[1]
    server.fail_next("malformed", 2)
    out, usage = await summarize_papers([paper], "en", store=store, llm=llm)
    assert out[paper.paper_id] == extractive_summary(paper, "en")
    assert usage.calls == 2  # the failed attempts still count
    assert await store.get_summary(paper.paper_id, "en", PROMPT_VERSION) is None

    out, usage = await summarize_papers([paper], "en", store=store, llm=llm)
    assert out[paper.paper_id].mode == "llm"
    assert usage.calls == 1


async def test_without_llm_everything_is_extractive(store: SQLiteStore) -> None:
    paper = PAPERS[2]
    await store.put_summary(
        paper.paper_id,
        "en",
        PROMPT_VERSION,
        PaperSummary(contribution="llm text", why="w", category="c", mode="llm"),
    )
    out, usage = await summarize_papers(PAPERS[:3], "en", store=store, llm=None)
    assert all(s.mode == "extractive" for s in out.values())
    assert out[paper.paper_id] == extractive_summary(paper, "en")
    assert usage == LLMUsage()


async def test_urls_in_llm_summaries_are_removed(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    paper = Paper(
        paper_id="2605.00002",
        title="See https://evil.example/x now: a paper",
        abstract="Visit https://evil.example/y for details. We propose a method.",
    )
    out, _ = await summarize_papers([paper], "en", store=store, llm=llm)
    s = out[paper.paper_id]
    assert s.mode == "llm"
    assert "evil.example" not in s.contribution + s.why + s.category
    assert server.calls_for("summarize")


# --- reader notes ---------------------------------------------------------------------


def ranked(papers: list[Paper], matched: list[list[str]]) -> list[Ranked]:
    return [
        Ranked(paper=p, score=1.0 - i / 10, matched=m)
        for i, (p, m) in enumerate(zip(papers, matched, strict=True))
    ]


PROFILE = example_profile("en")
PICKS = ranked(
    PAPERS[:5], [["LLM agents", "tool use and function calling"], ["LLM agents"], [], ["x"], ["y"]]
)
OTHERS = ranked(PAPERS[5:9], [[], [], [], []])
SUMMARIES = {r.paper.paper_id: extractive_summary(r.paper, "en") for r in (*PICKS, *OTHERS)}


async def test_reader_notes_one_call_with_compact_input(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    notes, usage = await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "en", llm)
    assert usage.calls == 1
    (request,) = server.requests
    assert request["messages"][0]["content"].startswith("TASK: reader_notes\n")
    sent = json.loads(request["messages"][1]["content"])
    assert sent["interests"] == PROFILE.interests
    assert [p["id"] for p in sent["picks"]] == [r.paper.paper_id for r in PICKS]
    assert sent["picks"][0]["contribution"] == SUMMARIES[PICKS[0].paper.paper_id].contribution
    for other in sent["others"]:
        assert set(other) <= {"id", "title", "repo"}  # no abstract, no summary
    pick_ids = {r.paper.paper_id for r in PICKS}
    assert set(notes.relations) == pick_ids
    assert [m.paper_id for m in notes.must_read] == [r.paper.paper_id for r in PICKS[:3]]
    assert len(notes.ideas) == 3
    assert all(set(i.paper_ids) <= pick_ids for i in notes.ideas)
    # Others are not commented per reader (their shared summary says it): no tokens spent.
    assert "others_comments" not in request["messages"][0]["content"]
    assert notes.others_comments == {}


class ScriptedLLM:
    """An `LLM` answering a fixed object (or raising), to test what we do with answers."""

    model = "scripted"

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.systems: list[str] = []

    async def complete_json(
        self, *, system: str, user: str, schema: type[T], max_tokens: int = 1024
    ) -> tuple[T, LLMUsage]:
        self.systems.append(system)
        if isinstance(self.answer, Exception):
            raise self.answer
        return schema.model_validate(self.answer), LLMUsage(calls=1, prompt_tokens=10)

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], LLMUsage]:
        raise LLMError("no embeddings")


async def test_reader_notes_drop_unknown_ids_and_urls() -> None:
    p0, p1, p2 = (r.paper.paper_id for r in PICKS[:3])
    o0 = OTHERS[0].paper.paper_id
    answer = {
        "overview": "Big day, see https://spam.example/a for more.",
        "relations": {
            f"{p0}v2": "Useful for you [link](https://evil.example).",
            "9999.99999": "made up",
        },
        "must_read": [
            {"paper_id": "9999.99999", "reason": "invented"},
            {"paper_id": f"arXiv:{p1}", "reason": "Read it."},
            {"paper_id": o0, "reason": "not a pick"},
        ],
        "ideas": [
            {"title": "Good", "body": "Grounded.", "paper_ids": [p0, "1234.56789"]},
            {"title": "Bad", "body": "Ungrounded.", "paper_ids": ["1234.56789"]},
        ],
        "conclusion": "Read them.",
        "repo_notes": {p2: "Watch the scripts.", "0000.00000": "x"},
        "others_comments": {o0: "Skim.", p0: "a pick is not an other"},
    }
    notes, usage = await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "en", ScriptedLLM(answer))
    assert usage.calls == 1
    assert notes.overview == "Big day, see for more."
    assert notes.relations[p0] == "Useful for you link."
    assert "9999.99999" not in notes.relations
    # Missing relations fall back to the matched-interests sentence.
    assert notes.relations[p1] == "Matches your interests: LLM agents"
    assert notes.relations[p2] == "Selected for its overall relevance to your profile."
    must = [m.paper_id for m in notes.must_read]
    assert must[0] == p1 and len(must) == 3 and set(must) <= {r.paper.paper_id for r in PICKS}
    assert notes.ideas == [Idea(title="Good", body="Grounded.", paper_ids=[p0])]
    assert notes.repo_notes == {p2: "Watch the scripts."}
    assert notes.others_comments == {o0: "Skim."}


async def test_reader_notes_failure_raises_for_the_caller() -> None:
    failing = ScriptedLLM(LLMCallError("LLM server error (HTTP 500)", LLMUsage(calls=2)))
    with pytest.raises(LLMError, match="HTTP 500"):
        await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "zh", failing)
    assert "Simplified Chinese" in failing.systems[0]


def test_extractive_notes_are_honest() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "en")
    assert notes.ideas == []
    p0 = PICKS[0].paper.paper_id
    assert (
        notes.relations[p0] == "Matches your interests: LLM agents, tool use and function calling"
    )
    assert notes.must_read == [
        MustRead(paper_id=r.paper.paper_id, reason=notes.relations[r.paper.paper_id])
        for r in PICKS[:3]
    ]
    assert "5 top picks" in notes.overview and "4 more" in notes.overview
    assert "LLM agents" in notes.overview
    assert PICKS[0].paper.title in notes.conclusion
    assert "http" not in notes.overview + notes.conclusion


def test_extractive_notes_in_chinese() -> None:
    notes = extractive_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "zh")
    assert notes.relations[PICKS[0].paper.paper_id] == (
        "匹配你的兴趣:LLM agents、tool use and function calling"
    )
    assert notes.overview.startswith("今日为你挑选了 5 篇重点论文")
    assert f"《{PICKS[0].paper.title}》" in notes.conclusion


def test_reader_notes_schema_requires_overview() -> None:
    with pytest.raises(ValueError):
        ReaderNotes.model_validate({"conclusion": "x"})
