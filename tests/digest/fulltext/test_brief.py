"""The morning brief reads its top picks in full before their summaries are written,
concurrently with the rest, within its budget; the source note counts what it read."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from digest.models import Brief, PaperItem, SourceItem
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.settings import Settings
from digest.store.base import Store
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.arxiv_web import FakeArxivWeb, WebPaper, fixture_html
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.pdf_writer import text_pdf
from tests.fakes.sources_server import FakeGitHub, FakeHF
from tests.fulltext_fixtures import SCALING_PAGES

KEY = "sk-brief-fulltext"
DAY = dt.date(2026, 5, 8)
PROFILE = Profile(
    name="agents",
    interests=["LLM agents", "skill curation", "mixture of experts", "GRPO aggregation"],
    categories=["cs.CL", "cs.AI", "cs.LG"],
    top_picks=4,
)


@dataclass
class World:
    store: Store
    web: FakeArxivWeb
    llm: FakeLLMServer
    settings: Settings

    async def brief(self, **overrides: object) -> Brief:
        settings = self.settings.model_copy(update=overrides)
        return await build_brief(settings, PROFILE, DAY, store=self.store, include_seen=True)


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    papers = {
        "2605.06663": WebPaper(html=fixture_html("2605.06663v2.html"), versions=2),
        "2605.06614": WebPaper(html=fixture_html("2605.06614v1.html")),
        "2605.04077": WebPaper(html=fixture_html("2605.04077v1.html")),
        "2605.06130": WebPaper(pdf=text_pdf(SCALING_PAGES)),
    }
    async with (
        FakeHF() as hf,
        FakeGitHub.for_fixture() as gh,
        FakeLLMServer(api_key=KEY) as llm,
        FakeArxivWeb(papers, interval=0) as web,
    ):
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                hf_base_url=hf.base_url,
                github_api_url=gh.base_url,
                arxiv_api_url=arxiv.url,
                arxiv_html_url=web.html_url,
                arxiv_pdf_url=web.pdf_url,
                arxiv_fulltext_interval=0,
                arxiv_delay=0,
                http_retries=0,
                llm_base_url=llm.base_url,
                llm_api_key=KEY,
                llm_rerank=False,
                redis_url=None,
            )
            yield World(store, web, llm, settings)


def note(brief: Brief) -> SourceItem:
    sources = brief.section("sources")
    assert sources is not None
    return next(i for i in sources.items if isinstance(i, SourceItem) and "full text" in i.source)


def summary_requests(world: World) -> dict[str, bool]:
    """Paper id -> whether its summary call was sent excerpts of the full text."""
    out = {}
    for body in world.llm.requests:
        messages = body.get("messages") or []
        if messages and messages[0]["content"].startswith("TASK: summarize"):
            paper = json.loads(messages[-1]["content"])["paper"]
            out[paper["id"]] = "excerpts" in paper
    return out


async def test_the_top_picks_are_read_in_full_and_the_note_counts_them(world: World) -> None:
    brief = await world.brief()
    picks = {i.paper_id for i in brief.section("top_picks").items if isinstance(i, PaperItem)}  # type: ignore[union-attr]
    # What was read: the picks' papers only (a group of related papers is one pick).
    read = {path.split("/")[2].split("v")[0] for path in world.web.paths()}
    assert read <= picks and len(read) >= PROFILE.top_picks
    served = {"2605.06663", "2605.06614", "2605.04077", "2605.06130"}
    full = read & served
    assert full, f"the fixture day should pick some served paper: {read}"
    pdf = int("2605.06130" in full)
    got = note(brief)
    expected = f"full text: {len(full)} of {len(read)} picks"
    expected += f" ({pdf} from PDF)" if pdf else ""
    missing = len(read) - len(full)
    expected += f", {missing} abstract only ({missing} no HTML or PDF)." if missing else "."
    assert got.detail == expected
    assert got.status == ("ok" if not missing else "partial")
    # The picks read in full were summarised from their text; the others from abstracts.
    sent = summary_requests(world)
    assert {p for p, excerpts in sent.items() if excerpts} == full
    assert len(sent) > len(read)  # the rest of the brief was summarised too


async def test_a_slow_arxiv_never_delays_the_brief_past_its_budget(world: World) -> None:
    world.web.gate = asyncio.Event()  # arXiv's web answers nothing
    brief = await world.brief(fulltext_brief_budget=0.05)
    got = note(brief)
    assert got.status == "failed"
    assert got.detail.startswith("full text: 0 of ")
    assert got.detail.endswith("not read in time).")
    assert not any(summary_requests(world).values())
    world.web.gate.set()


async def test_no_picks_are_read_when_told_so(world: World) -> None:
    brief = await world.brief(fulltext_picks=0)
    assert note(brief).status == "skipped" and world.web.requests == []
