"""Summaries (cache, single-flight, fallback), reader notes and the extractive texts."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from bot.delivery.push import push
from digest.cleaning import latex_to_text
from digest.errors import LLMError, StoreError
from digest.extractive import extractive_summary
from digest.llm import LLMCallError, OpenAILLM, forget_structured_support
from digest.models import LLMUsage, Paper, PaperSummary, Ranked, Subscription
from digest.notes import Group, Idea, MustRead, ReaderNotes
from digest.pipeline import build_brief
from digest.profile import example_profile
from digest.readernotes import NoteHints, reader_notes
from digest.sample import SAMPLE_DATE
from digest.sentences import split_sentences, strip_urls
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from digest.summarize import PROMPT_VERSION, summarize_papers
from tests.fakes.llm_server import FakeLLMServer
from tests.paths import HF_DAY

KEY = "sk-summarize-test"
FIXTURE = HF_DAY
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


@pytest.fixture(autouse=True)
def fresh_process() -> None:
    forget_structured_support()  # what endpoints said about json_schema is per process


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
    # The background opening is skipped for the sentence that states the contribution,
    # quoted: the paper's own words.
    assert s.contribution == (
        "“We propose TrickNet, a framework that plans over 3.5x longer horizons.”"
    )
    assert "We propose" not in s.why
    assert "Experiments show TrickNet improves success by 12.4% over strong baselines." in s.why
    assert s.category == "NLP"  # the one category table: the brief says the same
    assert extractive_summary(TRICKY, "zh").category == "自然语言处理"
    assert "http" not in s.why


def test_extractive_falls_back_to_the_first_sentence_without_a_cue() -> None:
    paper = TRICKY.model_copy(update={"abstract": "Agents act. They act well in many places."})
    assert extractive_summary(paper, "en").contribution == "“Agents act.”"


def test_extractive_prefers_the_hf_ai_summary_and_defaults_category() -> None:
    paper = TRICKY.model_copy(
        update={"ai_summary": "TrickNet plans longer with less compute.", "primary_category": None}
    )
    s = extractive_summary(paper, "zh")
    assert s.contribution == "“TrickNet plans longer with less compute.”"
    assert "12.4%" in s.why  # the abstract's key figure, introduced in Chinese
    assert s.category == "AI"


def test_extractive_on_real_abstracts_quotes_only_their_words() -> None:
    for paper in PAPERS:
        s = extractive_summary(paper, "en")
        words = set(_words(latex_to_text(f"{paper.abstract} {paper.ai_summary or ''}")))
        quotes = [q.split("”")[0] for q in f"{s.contribution} {s.why}".split("“")[1:]]
        assert quotes
        for quote in quotes:
            # Shortened and trimmed of asides, never reworded.
            assert set(_words(quote)) <= words, quote


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


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


# --- every language the day needs from one call ----------------------------------------


def summary_calls(server: FakeLLMServer) -> list[dict[str, Any]]:
    """The user messages of the summarize calls, in order."""
    return [
        json.loads(r["messages"][1]["content"])
        for r in server.requests
        if r["messages"][0]["content"].startswith("TASK: summarize")
    ]


async def test_a_single_language_run_asks_for_one_language(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    for languages in (None, {"en"}):
        await summarize_papers(PAPERS[:2], "en", store=store, llm=llm, languages=languages)
    sent = summary_calls(server)
    assert len(sent) == 2  # the second run read the cache
    assert all(x["language"] == "en" and "languages" not in x for x in sent)
    assert await store.get_summary(PAPERS[0].paper_id, "zh", PROMPT_VERSION) is None


async def test_both_languages_from_one_call_each_cached_under_its_key(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    papers = PAPERS[:3]
    en, u_en = await summarize_papers(papers, "en", store=store, llm=llm, languages={"zh", "en"})
    assert u_en.calls == 3
    sent = summary_calls(server)
    assert [x["languages"] for x in sent] == [["en", "zh"]] * 3
    system = server.requests[0]["messages"][0]["content"]
    assert "Simplified Chinese" in system and '"en" in English' in system
    assert server.requests[0]["response_format"]["type"] == "json_schema"

    # The Chinese reader of the same day finds every summary cached: no call at all.
    zh, u_zh = await summarize_papers(papers, "zh", store=store, llm=llm, languages={"zh", "en"})
    assert len(summary_calls(server)) == 3
    assert u_zh == LLMUsage(cached_summaries=3)
    for p in papers:
        assert en[p.paper_id].mode == zh[p.paper_id].mode == "llm"
        assert CJK.search(zh[p.paper_id].contribution)
        assert not CJK.search(en[p.paper_id].contribution)
        assert en[p.paper_id].category == zh[p.paper_id].category  # one English label
        assert await store.get_summary(p.paper_id, "en", PROMPT_VERSION) == en[p.paper_id]
        assert await store.get_summary(p.paper_id, "zh", PROMPT_VERSION) == zh[p.paper_id]


async def test_only_the_missing_languages_are_asked_for(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    a, b = PAPERS[:2]
    await summarize_papers([a], "zh", store=store, llm=llm)  # a: zh only
    await summarize_papers([a, b], "en", store=store, llm=llm, languages={"en", "zh"})
    sent = summary_calls(server)
    assert [(x["paper"]["id"], x.get("language"), x.get("languages")) for x in sent] == [
        (a.paper_id, "zh", None),
        (a.paper_id, "en", None),  # zh was cached: only English is written
        (b.paper_id, None, ["en", "zh"]),
    ]


async def test_a_cached_own_language_makes_no_call_for_the_others(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    paper = PAPERS[0]
    await summarize_papers([paper], "en", store=store, llm=llm)
    _, usage = await summarize_papers([paper], "en", store=store, llm=llm, languages={"zh"})
    assert usage == LLMUsage(cached_summaries=1)  # no call made only for another reader
    assert len(summary_calls(server)) == 1


async def test_concurrent_readers_of_two_languages_share_one_call_per_paper(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    a, b, c, d = PAPERS[:4]
    both = {"en", "zh"}
    (en, u1), (zh, u2), (zh2, u3) = await asyncio.gather(
        summarize_papers([a, b, c], "en", store=store, llm=llm, languages=both),
        summarize_papers([b, c, d], "zh", store=store, llm=llm, languages=both),
        summarize_papers([a, d], "zh", store=store, llm=llm, languages=both),
    )
    ids = sorted(x["paper"]["id"] for x in summary_calls(server))
    assert ids == sorted(p.paper_id for p in (a, b, c, d))  # one call per paper
    assert u1.calls + u2.calls + u3.calls == 4
    assert u1.cached_summaries + u2.cached_summaries + u3.cached_summaries == 8 - 4
    assert zh[b.paper_id] == await store.get_summary(b.paper_id, "zh", PROMPT_VERSION)
    assert zh2[a.paper_id].mode == "llm" and CJK.search(zh2[a.paper_id].why)
    assert not CJK.search(en[b.paper_id].why)


async def test_a_failed_call_for_two_languages_leaves_both_extractive(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore
) -> None:
    paper = PAPERS[1]
    server.fail_next("invalid", 2)
    (en, _), (zh, u_zh) = await asyncio.gather(
        summarize_papers([paper], "en", store=store, llm=llm, languages={"en", "zh"}),
        summarize_papers([paper], "zh", store=store, llm=llm, languages={"en", "zh"}),
    )
    assert en[paper.paper_id] == extractive_summary(paper, "en")
    assert zh[paper.paper_id] == extractive_summary(paper, "zh")
    assert u_zh.cached_summaries == 0
    assert len(server.calls) == 2  # one call and its retry, shared by both readers
    for language in ("en", "zh"):
        assert await store.get_summary(paper.paper_id, language, PROMPT_VERSION) is None  # type: ignore[arg-type]


async def test_a_failing_llm_is_one_log_line_not_one_per_paper(
    server: FakeLLMServer, llm: OpenAILLM, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    server.fail_next("401", 10)
    caplog.set_level(logging.DEBUG, logger="digest.summarize")
    out, _ = await summarize_papers(PAPERS[:5], "en", store=store, llm=llm)
    assert all(s.mode == "extractive" for s in out.values())
    mine = [r for r in caplog.records if r.name == "digest.summarize"]
    # No warning per paper (the pipeline warns once for the run): one summary line with
    # the reason, the per-paper detail below INFO.
    assert [r.levelno for r in mine if r.levelno >= logging.INFO] == [logging.INFO]
    (line,) = (r.getMessage() for r in mine if r.levelno == logging.INFO)
    assert line.startswith("5 of 5 summaries fell back to extractive text")
    assert "HTTP 401" in line and KEY not in line
    assert sum(r.levelno == logging.DEBUG for r in mine) == 5


class BrokenStore(SQLiteStore):
    """A Store whose summary cache fails (reads and writes)."""

    async def cache_get(self, namespace: str, key: str) -> str | None:
        raise StoreError("cache down")

    async def cache_set(self, *args: Any, **kwargs: Any) -> None:
        raise StoreError("cache down")


async def test_a_broken_cache_is_one_warning_and_the_summaries_still_come(
    server: FakeLLMServer, llm: OpenAILLM, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = await BrokenStore.open(tmp_path / "broken.sqlite3")
    try:
        out, usage = await summarize_papers(PAPERS[:4], "en", store=broken, llm=llm)
    finally:
        await broken.close()
    assert all(s.mode == "llm" for s in out.values()) and usage.calls == 4
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cache down" in warnings[0].getMessage()


async def test_push_tells_every_build_the_days_languages(
    server: FakeLLMServer, store: SQLiteStore, tmp_path: Path
) -> None:
    """push → build_brief → summarize_papers: a zh and an en chat of one day cost one
    summary call per paper shown to either, both briefs fully LLM-written."""
    settings = Settings.model_validate(
        {"llm_base_url": server.base_url, "llm_api_key": KEY, "embeddings_model": None}
    )
    seen: list[tuple[str, object]] = []
    briefs = []

    async def builder(
        settings: Settings,
        profile: Any,
        day: Any,
        *,
        store: Any,
        readers: Any = (),
        languages: Any = None,
    ) -> Any:
        seen.append((profile.language, languages))
        brief = await build_brief(
            settings,
            profile,
            day,
            store=store,
            readers=readers,
            sample=True,
            include_seen=True,
            languages=languages,
        )
        briefs.append(brief)
        return brief

    subs = [
        Subscription(platform="telegram", chat_id="1", interests=["LLM agents"], language="zh"),
        Subscription(platform="telegram", chat_id="2", interests=["LLM agents"], language="en"),
        Subscription(platform="slack", chat_id="C3", interests=["world models"], language="en"),
    ]
    report = await push(
        settings, store, SAMPLE_DATE, dry_run=True, builder=builder, subscriptions=subs
    )
    assert all(o.error is None for o in report.outcomes), report.outcomes
    assert sorted(lang for lang, _ in seen) == ["en", "en", "zh"]
    assert all(set(langs) == {"en", "zh"} for _, langs in seen)  # type: ignore[call-overload]
    shown = {pid for b in briefs for pid in b.paper_ids()}
    calls = summary_calls(server)
    asked = [x["paper"]["id"] for x in calls]
    assert len(asked) == len(set(asked)) == len(shown)  # one call per paper, either language
    assert all(x.get("languages") == ["en", "zh"] for x in calls)
    assert all(b.mode == "llm" for b in briefs)


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


async def test_reader_notes_are_given_the_codes_themes_and_groups(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    zh = example_profile("zh")
    hints = NoteHints(
        themes=[("RL", 3), ("world models", 2)],
        groups=[((PICKS[0].paper.paper_id, PICKS[1].paper.paper_id), ("tool use",))],
    )
    await reader_notes(PICKS, OTHERS, SUMMARIES, zh, "zh", llm, hints)
    sent = json.loads(server.requests[0]["messages"][1]["content"])
    assert sent["themes"] == {"RL": 3, "world models": 2}
    assert sent["groups"] == [
        {"ids": [PICKS[0].paper.paper_id, PICKS[1].paper.paper_id], "share": ["tool use"]}
    ]
    # The interests as the brief names them: a Chinese reader's labels.
    assert sent["interests"] == [zh.label(i) for i in zh.interests]
    assert "Agent 长期记忆" in sent["interests"]


async def test_reader_notes_one_call_with_what_it_needs(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    notes, usage = await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "en", llm)
    assert usage.calls == 1
    (request,) = server.requests
    system = request["messages"][0]["content"]
    assert system.startswith("TASK: reader_notes\n")
    assert request["response_format"]["type"] == "json_schema"
    sent = json.loads(request["messages"][1]["content"])
    assert sent["interests"] == PROFILE.interests
    assert [p["id"] for p in sent["picks"]] == [r.paper.paper_id for r in PICKS]
    first = sent["picks"][0]
    # Each pick: what its abstract claims and why it matters, not only its title ...
    assert first["title"] == PICKS[0].paper.title
    assert first["abstract"] and first["abstract"].rstrip("…") in " ".join(
        PICKS[0].paper.abstract.split()
    )
    assert first["why"] and len(first["why"]) <= 100
    # ... and the interests it matched, by number (1 = the first interest).
    number = {x: n for n, x in enumerate(PROFILE.interests, 1)}
    assert first["matched"] == [number[m] for m in PICKS[0].matched]
    assert "matched" not in sent["picks"][2]  # matched nothing
    # Others: "<id>: <gist>", the gist being their shared contribution, clipped.
    for r, line in zip(OTHERS, sent["others"], strict=True):
        pid, _, gist = line.partition(": ")
        assert pid == r.paper.paper_id
        assert gist.rstrip("…") in SUMMARIES[pid].contribution and len(gist) <= 60
    pick_ids = {r.paper.paper_id for r in PICKS}
    assert set(notes.relations) == pick_ids
    assert [m.paper_id for m in notes.must_read] == [r.paper.paper_id for r in PICKS[:3]]
    assert len(notes.ideas) == 3
    assert all(set(i.paper_ids) <= pick_ids for i in notes.ideas)
    # The glance list's one-line comments: one per other, short.
    assert set(notes.others_comments) == {r.paper.paper_id for r in OTHERS}
    assert all(0 < len(c) <= 120 for c in notes.others_comments.values())
    # The fake groups picks sharing their first matched interest (p0 and p1 here).
    assert [g.paper_ids for g in notes.groups] == [
        [PICKS[0].paper.paper_id, PICKS[1].paper.paper_id]
    ]
    assert notes.groups[0].title


async def test_reader_notes_in_json_mode_read_the_same() -> None:
    forget_structured_support()
    async with FakeLLMServer(api_key=KEY, refuse_json_schema=True) as srv:
        client = OpenAILLM(
            Settings.model_validate(
                {"llm_base_url": srv.base_url, "llm_api_key": KEY, "embeddings_model": None}
            )
        )
        try:
            notes, usage = await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "zh", client)
        finally:
            await client.aclose()
    assert [r["response_format"]["type"] for r in srv.requests] == ["json_schema", "json_object"]
    assert usage.calls == 2 and srv.refused == 1
    assert CJK.search(notes.overview)
    assert set(notes.relations) == {r.paper.paper_id for r in PICKS}
    assert set(notes.others_comments) == {r.paper.paper_id for r in OTHERS}


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
    p0, p1, p2, p3 = (r.paper.paper_id for r in PICKS[:4])
    o0 = OTHERS[0].paper.paper_id
    answer = {
        "overview": "Big day, see https://spam.example/a for more.",
        "relations": [
            {"id": f"{p0}v2", "text": "Useful for you [link](https://evil.example)."},
            {"id": "9999.99999", "text": "made up"},
        ],
        "must_read": [
            {"id": "9999.99999", "text": "invented"},
            {"id": f"arXiv:{p1}", "text": "Read it."},
            {"id": o0, "text": "not a pick"},
        ],
        "groups": [
            {"title": "Two on one question", "ids": [p1, "9999.99999", p0, p0]},
            {"title": "Only one real pick", "ids": [p2, "1234.56789"]},
            {"title": "Reuses a grouped pick", "ids": [p0, p3]},
            {"title": "An other is not a pick", "ids": [p2, o0]},
            {"title": "", "ids": [p2, p3]},
        ],
        "ideas": [
            {"title": "Good", "body": "Grounded.", "ids": [p0, "1234.56789"]},
            {"title": "Bad", "body": "Ungrounded.", "ids": ["1234.56789"]},
        ],
        "conclusion": "Read them.",
        "comments": [
            {"id": o0, "text": "Skim. " + "x" * 200},
            {"id": p0, "text": "a pick is not an other"},
            {"id": "0000.00000", "text": "x"},
        ],
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
    # Groups: ids of picks only, once each, in the picks' order, two at least, titled.
    assert notes.groups == [Group(title="Two on one question", paper_ids=[p0, p1])]
    assert notes.ideas == [Idea(title="Good", body="Grounded.", paper_ids=[p0])]
    assert set(notes.others_comments) == {o0}
    assert notes.others_comments[o0].startswith("Skim. ")
    assert len(notes.others_comments[o0]) <= 120 and notes.others_comments[o0].endswith("…")
    assert notes.repo_notes == {}


async def test_reader_notes_accept_the_older_answer_shapes() -> None:
    # A JSON-mode model may answer maps and the old field names: read them all the same.
    p0, p1 = PICKS[0].paper.paper_id, PICKS[1].paper.paper_id
    o0 = OTHERS[0].paper.paper_id
    answer = {
        "overview": "O.",
        "relations": {p0: "R0."},
        "must_read": [{"paper_id": p1, "reason": "M1."}],
        "ideas": [{"title": "I", "body": "B.", "paper_ids": [p0]}],
        "conclusion": "C.",
        "others_comments": {o0: "Skim."},
        "groups": [{"title": "G", "paper_ids": [p0, p1]}],
    }
    notes, _ = await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "en", ScriptedLLM(answer))
    assert notes.relations[p0] == "R0."
    assert notes.must_read[0] == MustRead(paper_id=p1, reason="M1.")
    assert notes.ideas == [Idea(title="I", body="B.", paper_ids=[p0])]
    assert notes.others_comments == {o0: "Skim."}
    assert notes.groups == [Group(title="G", paper_ids=[p0, p1])]


async def test_reader_notes_failure_raises_for_the_caller() -> None:
    failing = ScriptedLLM(LLMCallError("LLM server error (HTTP 500)", LLMUsage(calls=2)))
    with pytest.raises(LLMError, match="HTTP 500"):
        await reader_notes(PICKS, OTHERS, SUMMARIES, PROFILE, "zh", failing)
    assert "Simplified Chinese" in failing.systems[0]


def test_reader_notes_schema_requires_overview() -> None:
    with pytest.raises(ValueError):
        ReaderNotes.model_validate({"conclusion": "x"})
