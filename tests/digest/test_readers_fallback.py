"""A brief that had to fall back says so in its LLM source note: the rerank erring or
timing out (the papers keep their keyword-match order), in both languages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from digest.clients import close_clients
from digest.models import Brief, Language, SourceItem
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-fallback"
PROFILE = Profile(name="agents", interests=["LLM agents", "agent memory", "reasoning"])


@pytest.fixture
async def store() -> AsyncIterator[SQLiteStore]:
    s = await SQLiteStore.open(":memory:")
    yield s
    await s.close()


def settings_for(srv: FakeLLMServer, **overrides: object) -> Settings:
    values: dict[str, object] = {"llm_base_url": srv.base_url, "llm_api_key": KEY, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


async def build(settings: Settings, store: SQLiteStore, language: Language) -> Brief:
    try:
        return await build_brief(
            settings,
            PROFILE.model_copy(update={"language": language}),
            SAMPLE_DATE,
            store=store,
            sample=True,
            include_seen=True,
        )
    finally:
        await close_clients()


def llm_note(brief: Brief) -> SourceItem:
    sources = brief.section("sources")
    assert sources is not None
    notes = [i for i in sources.items if isinstance(i, SourceItem) and i.source == "LLM"]
    assert len(notes) == 1
    return notes[0]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "The re-ranking failed (LLM server error (HTTP 500)): papers are in their "
         "keyword-match order."),
        ("zh", "重排调用失败(LLM server error (HTTP 500)):论文按关键词匹配排序。"),
    ],
)  # fmt: skip
async def test_a_rerank_that_erred_is_said(
    store: SQLiteStore, language: Language, said: str
) -> None:
    async with FakeLLMServer(api_key=KEY) as srv:
        # The build's first call is its rerank: it fails, and so does the SDK's one retry.
        srv.fail_next("500", 2)
        brief = await build(settings_for(srv, llm_structured="json_schema"), store, language)
    assert len(srv.calls_for("rerank")) == 2  # refused twice (the call, the SDK's retry)
    assert srv.calls_for("summarize") and srv.calls_for("reader_notes")
    note = llm_note(brief)
    assert note.status == "partial"
    assert note.detail.endswith(said)
    assert brief.mode == "llm"  # the summaries and notes are still the LLM's


async def test_a_brief_whose_llm_timed_out_says_so(store: SQLiteStore) -> None:
    # The fake answers after its latency; the client gives up well before.
    async with FakeLLMServer(api_key=KEY, latency=0.2) as srv:
        settings = settings_for(srv, llm_timeout=0.01, llm_structured="json_schema")
        brief = await build(settings, store, "en")
    note = llm_note(brief)
    # Everything timed out: the note says the LLM failed, and why.
    assert note.status == "failed"
    assert "did not answer within 0.01s (timeout)" in note.detail
    assert brief.mode == "extractive"


async def test_a_brief_whose_rerank_answered_says_nothing_of_it(store: SQLiteStore) -> None:
    async with FakeLLMServer(api_key=KEY) as srv:
        brief = await build(settings_for(srv), store, "en")
    note = llm_note(brief)
    assert srv.calls_for("rerank")
    assert note.status == "ok" and "re-ranking" not in note.detail
