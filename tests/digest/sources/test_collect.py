"""collect_candidates: HF ∥ arXiv, the widening window, and honest per-source reports.

HF is the real HuggingFaceSource over httpx.MockTransport serving the real fixture;
arXiv is the real ArxivSource (the `arxiv` package) against the local Atom server.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from digest.models import Language
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource
from digest.sources.collect import Candidates, collect_candidates
from digest.sources.hf import HuggingFaceSource
from tests.fakes.arxiv_atom import AtomEntry, entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.paths import HF_DAY

FIXTURE = HF_DAY
DAY = dt.date(2026, 5, 8)
ITEMS: list[dict[str, Any]] = json.loads(FIXTURE.read_text("utf-8"))


async def no_sleep(_: float) -> None:
    return None


@dataclass
class Env:
    hf: HuggingFaceSource
    arxiv: ArxivSource
    server: ArxivServer
    hf_dates: list[str]

    async def collect(
        self,
        *,
        need: int = 5,
        language: Language = "en",
        categories: tuple[str, ...] = ("cs.AI", "cs.CL"),
        lookback_days: int = 7,
        use_hf: bool = True,
        use_arxiv: bool = True,
    ) -> Candidates:
        return await collect_candidates(
            day=DAY,
            categories=list(categories),
            need=need,
            language=language,
            hf=self.hf if use_hf else None,
            arxiv=self.arxiv if use_arxiv else None,
            lookback_days=lookback_days,
            arxiv_max_results=100,
        )


HfDays = dict[str, list[dict[str, Any]] | int]  # date -> items, or an HTTP status


@pytest.fixture
async def make_env() -> AsyncIterator[Any]:
    opened: list[tuple[httpx.AsyncClient, ArxivServer]] = []

    async def make(hf_days: HfDays, entries: list[AtomEntry]) -> Env:
        dates: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            date = request.url.params["date"]
            dates.append(date)
            answer = hf_days.get(date, [])
            if isinstance(answer, int):
                return httpx.Response(answer, text="unavailable")
            return httpx.Response(200, json=answer)

        server = ArxivServer(entries).start()
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        opened.append((client, server))
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, arxiv_api_url=server.url, arxiv_delay=0, http_retries=2
        )
        return Env(
            hf=HuggingFaceSource(settings, client, sleep=no_sleep),
            arxiv=ArxivSource(settings, sleep=no_sleep),
            server=server,
            hf_dates=dates,
        )

    yield make
    for client, server in opened:
        await client.aclose()
        server.close()


def dated_queries(server: ArxivServer) -> list[str]:
    return [r.search_query.split("submittedDate:")[1] for r in server.requests]


async def test_enough_on_the_day_no_widening(make_env: Any) -> None:
    arxiv_entries = entries_from_hf_fixture()
    env = await make_env({"2026-05-08": ITEMS}, arxiv_entries)
    got = await env.collect(need=10)

    assert not got.widened
    assert env.hf_dates == ["2026-05-08"]
    assert dated_queries(env.server) == ["[202605070000 TO 202605082359]"]
    assert got.window_end == DAY and got.window_start == dt.date(2026, 5, 7)
    # Papers on both sources come once, merged; arXiv only knew those of its window.
    assert len(got.papers) == len(ITEMS)
    for p in got.papers:
        in_window = p.published is not None and p.published >= dt.date(2026, 5, 7)
        assert p.sources == (["hf", "arxiv"] if in_window else ["hf"])
    assert [r.source for r in got.reports] == ["Hugging Face", "arXiv"]
    assert [r.status for r in got.reports] == ["ok", "ok"]
    assert got.reports[0].detail == f"Daily Papers 2026-05-08: {len(ITEMS)} papers."
    on_arxiv = sum(1 for e in arxiv_entries if e.published.date() >= dt.date(2026, 5, 7))
    assert got.reports[1].detail == (
        f"cs.AI, cs.CL submitted 2026-05-07..2026-05-08: {on_arxiv} papers."
    )


async def test_widens_one_day_at_a_time_until_enough(make_env: Any) -> None:
    hf_days: HfDays = {
        "2026-05-08": ITEMS[0:3],
        "2026-05-07": ITEMS[3:6],
        "2026-05-06": [],  # a day with no list, like a weekend
        "2026-05-05": ITEMS[6:20],
    }
    env = await make_env(hf_days, [])  # arXiv answers, with nothing in the window
    got = await env.collect(need=10)

    assert got.widened
    assert env.hf_dates == ["2026-05-08", "2026-05-07", "2026-05-06", "2026-05-05"]
    assert (got.window_start, got.window_end) == (dt.date(2026, 5, 5), DAY)
    assert [p.paper_id for p in got.papers] == [it["paper"]["id"] for it in ITEMS[0:20]]
    # arXiv: the last 24 h first, then only the days the widening added.
    assert dated_queries(env.server) == [
        "[202605070000 TO 202605082359]",
        "[202605050000 TO 202605062359]",
    ]
    # Why it widened is the header's business, not a source's: no "Window" report.
    assert [r.source for r in got.reports] == ["Hugging Face", "arXiv"]
    assert got.window_note == (
        "Hugging Face listed only 3 papers on 2026-05-08; widened to the last 4 days, 20 candidates"
    )
    assert got.counts == {"Hugging Face": 20, "arXiv": 0}
    assert got.reports[0].detail == "Daily Papers 2026-05-05..2026-05-08: 20 papers."


async def test_a_full_arxiv_day_does_not_stop_hf_from_widening(make_env: Any) -> None:
    # Early in the UTC day HF's list is empty while arXiv has plenty: the brief must still
    # reach back to yesterday's HF list (community signal), not settle for arXiv alone.
    entries = entries_from_hf_fixture()
    for e in entries:
        e.published = dt.datetime(2026, 5, 8, 12, tzinfo=dt.UTC)
    env = await make_env({"2026-05-08": [], "2026-05-07": ITEMS[:12]}, entries)
    got = await env.collect(need=10)
    assert env.hf_dates == ["2026-05-08", "2026-05-07"]
    assert got.widened and got.window_start == dt.date(2026, 5, 7)
    assert sum(1 for p in got.papers if "hf" in p.sources) == 12


async def test_widening_stops_at_the_lookback_limit(make_env: Any) -> None:
    env = await make_env({"2026-05-08": ITEMS[0:2], "2026-05-07": ITEMS[2:4]}, [])
    got = await env.collect(need=50, lookback_days=2, language="zh")
    assert env.hf_dates == ["2026-05-08", "2026-05-07", "2026-05-06"]
    assert got.window_start == dt.date(2026, 5, 6)
    assert got.window_note == (
        "Hugging Face 2026-05-08 只列出 2 篇,放宽到最近 3 天(已到回溯 2 天的上限),共 4 篇候选"
    )


@pytest.mark.parametrize(
    ("language", "failed", "used"),
    [
        ("en", "2026-05-08 failed (HTTP 503 after 3 attempts).", "Used arXiv only ({n} papers)."),
        ("zh", "2026-05-08 获取失败(HTTP 503 after 3 attempts)。", "改用 arXiv 的 {n} 篇。"),
    ],
)
async def test_hf_down_arxiv_is_used_and_the_report_says_so(
    make_env: Any, language: Language, failed: str, used: str
) -> None:
    env = await make_env({"2026-05-08": 503}, entries_from_hf_fixture())
    got = await env.collect(need=5, language=language)

    assert env.hf_dates == ["2026-05-08"] * 3  # retried, then given up
    assert got.papers and all(p.sources == ["arxiv"] for p in got.papers)
    hf_report, arxiv_report = got.reports
    assert hf_report.status == "failed" and arxiv_report.status == "ok"
    assert hf_report.detail == failed + ("" if language == "zh" else " ") + used.format(
        n=len(got.papers)
    )


async def test_arxiv_down_hf_is_used_and_the_report_says_so(make_env: Any) -> None:
    env = await make_env({"2026-05-08": ITEMS}, entries_from_hf_fixture())
    env.server.fail_next(503, count=10)
    got = await env.collect(need=5)

    assert len(got.papers) == len(ITEMS)
    assert all(p.sources == ["hf"] for p in got.papers)
    assert got.window_start == DAY  # arXiv gave nothing for the day before
    hf_report, arxiv_report = got.reports
    assert hf_report.status == "ok" and arxiv_report.status == "failed"
    assert arxiv_report.detail == (
        "2026-05-07..2026-05-08 failed (HTTP 503 after 3 attempts). "
        f"Used Hugging Face only ({len(ITEMS)} papers)."
    )
    assert len(env.server.requests) == 3  # no extra request after the failure


async def test_both_down_no_papers_and_both_reports_say_so(make_env: Any) -> None:
    env = await make_env({d: 503 for d in ("2026-05-08", "2026-05-07")}, [])
    env.server.fail_next(503, count=10)
    got = await env.collect(need=5, lookback_days=1)

    assert got.papers == []
    assert [r.status for r in got.reports[:2]] == ["failed", "failed"]
    assert "HTTP 503 after 3 attempts" in got.reports[0].detail
    assert "no candidates" in got.reports[0].detail and "no candidates" in got.reports[1].detail
    assert env.hf_dates == ["2026-05-08"] * 3  # a failed HF is not asked for more days
    assert not got.widened and got.window_start == DAY  # nothing could fill a wider window


async def test_hf_partial_when_a_widening_day_fails(make_env: Any) -> None:
    env = await make_env({"2026-05-08": ITEMS[0:2], "2026-05-07": 503}, [])
    got = await env.collect(need=10, lookback_days=3)

    hf_report = got.reports[0]
    assert hf_report.status == "partial"
    assert hf_report.detail == (
        "Daily Papers 2026-05-08: 2 papers. 2026-05-07 failed (HTTP 503 after 3 attempts)."
    )
    assert [p.paper_id for p in got.papers] == [it["paper"]["id"] for it in ITEMS[0:2]]


async def test_withdrawn_and_duplicate_papers_are_merged_away(make_env: Any) -> None:
    withdrawn = copy.deepcopy(ITEMS[1])
    withdrawn["paper"]["withdrawnAt"] = "2026-05-08T12:00:00.000Z"
    entries = entries_from_hf_fixture()
    env = await make_env({"2026-05-08": [ITEMS[0], withdrawn, ITEMS[2]]}, entries)
    got = await env.collect(need=1)
    ids = [p.paper_id for p in got.papers]
    assert withdrawn["paper"]["id"] not in ids  # withdrawn on HF, so gone from both
    assert len(ids) == len(set(ids))
    assert ids[:2] == [ITEMS[0]["paper"]["id"], ITEMS[2]["paper"]["id"]]


async def test_skipped_sources_are_reported(make_env: Any) -> None:
    env = await make_env({"2026-05-08": ITEMS}, entries_from_hf_fixture())
    got = await env.collect(categories=(), need=5)
    assert got.reports[1].status == "skipped"
    assert "no arXiv categories" in got.reports[1].detail
    assert env.server.requests == []

    got = await env.collect(use_hf=False, need=5)
    assert got.reports[0].status == "skipped"
    assert got.papers and all(p.sources == ["arxiv"] for p in got.papers)


async def test_hf_down_widening_falls_to_arxiv_in_one_request(make_env: Any) -> None:
    env = await make_env({"2026-05-08": 503}, entries_from_hf_fixture())
    got = await env.collect(need=100, lookback_days=3)

    assert env.hf_dates == ["2026-05-08"] * 3  # HF is not asked for the wider days
    assert dated_queries(env.server) == [
        "[202605070000 TO 202605082359]",
        "[202605050000 TO 202605062359]",
    ]
    assert got.widened and got.window_start == dt.date(2026, 5, 5)
    assert len(got.papers) == len(ITEMS)  # the fixture's papers span 05-06..05-08
    assert got.reports[1].detail.startswith("cs.AI, cs.CL submitted 2026-05-05..2026-05-08:")
