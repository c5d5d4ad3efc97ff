"""ArxivSource: the real `arxiv` package against the local Atom server (tests/fakes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from digest.cleaning import latex_to_text
from digest.errors import ConfigError, SourceError
from digest.settings import Settings
from digest.sources.arxiv_api import ArxivSource, build_query
from tests.fakes.arxiv_atom import AtomEntry, entries_from_hf_fixture, with_version
from tests.fakes.arxiv_server import ArxivServer

DAY = dt.date(2026, 5, 8)
UTC = dt.UTC


class FakeTime:
    """An injected clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def settings(url: str, **kw: Any) -> Settings:
    options: dict[str, Any] = {"arxiv_api_url": url, "arxiv_delay": 0, "http_retries": 2}
    options.update(kw)
    return Settings(_env_file=None, **options)  # type: ignore[call-arg]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def entry(arxiv_id: str, when: dt.datetime, cats: list[str], **kw: Any) -> AtomEntry:
    fields: dict[str, Any] = {
        "title": f"Paper {arxiv_id}",
        "summary": f"We study {arxiv_id} at length.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "published": when,
        "primary_category": cats[0],
        "categories": cats,
    }
    fields.update(kw)
    return AtomEntry(arxiv_id=arxiv_id, **fields)


@pytest.fixture
async def server() -> AsyncIterator[ArxivServer]:
    async with ArxivServer(entries_from_hf_fixture()) as srv:
        yield srv


async def test_recent_queries_categories_and_dates_newest_first(server: ArxivServer) -> None:
    fixture = {e.bare_id: e for e in server.entries}
    source = ArxivSource(settings(server.url))
    papers = await source.recent(["cs.AI", "cs.CL"], dt.date(2026, 5, 7), DAY, 100)

    (request,) = server.requests
    assert request.search_query == (
        "(cat:cs.AI OR cat:cs.CL) AND submittedDate:[202605070000 TO 202605082359]"
    )
    assert request.params["sortBy"] == "submittedDate"
    assert request.params["sortOrder"] == "descending"
    assert request.params["max_results"] == "100"
    expected = [e for e in fixture.values() if dt.date(2026, 5, 7) <= e.published.date() <= DAY]
    assert {p.paper_id for p in papers} == {e.bare_id for e in expected}
    dates = [p.published for p in papers if p.published is not None]
    assert len(dates) == len(papers) and dates == sorted(dates, reverse=True)
    for paper in papers:
        src = fixture[paper.paper_id]
        # arXiv wraps titles over lines; LaTeX is resolved where the text enters the model.
        assert paper.title == latex_to_text(squash(src.title))
        assert paper.abstract == latex_to_text(squash(src.summary))
        assert "\\" not in paper.abstract and "$\\" not in paper.abstract
        assert paper.authors == src.authors
        assert paper.primary_category == src.primary_category
        assert paper.categories == src.all_categories
        assert paper.sources == ["arxiv"] and not paper.on_hf


async def test_recent_respects_max_results_and_category_filter() -> None:
    day = dt.datetime(2026, 5, 8, 12, tzinfo=UTC)
    entries = [
        entry("2605.10001v1", day, ["cs.CL"]),
        entry("2605.10002v1", day - dt.timedelta(hours=1), ["cs.CV"]),
        entry("2605.10003v2", day - dt.timedelta(hours=2), ["stat.ML", "cs.CL"]),
        entry("2605.10004v1", day - dt.timedelta(days=3), ["cs.CL"]),
    ]
    async with ArxivServer(entries) as srv:
        source = ArxivSource(settings(srv.url))
        papers = await source.recent(["cs.CL"], dt.date(2026, 5, 7), DAY, 100)
        top = await source.recent(["cs.CL"], dt.date(2026, 5, 7), DAY, 1)
    assert [p.paper_id for p in papers] == ["2605.10001", "2605.10003"]
    assert [p.paper_id for p in top] == ["2605.10001"]


async def test_repo_link_comment_and_withdrawal_are_read() -> None:
    when = dt.datetime(2026, 5, 8, 9, tzinfo=UTC)
    entries = [
        entry(
            "2605.20001v1",
            when,
            ["cs.CL"],
            summary="A method. Code: https://github.com/Some-Org/Some.Repo.",
        ),
        entry("2605.20002v1", when, ["cs.CL"], comment="ACL 2026. Code at github.com/a/b"),
        entry(
            "2605.20003v2",
            when,
            ["cs.CL"],
            comment="This paper has been withdrawn by the author due to an error in Lemma 2",
        ),
        entry("2605.20004v1", when, ["cs.CL"], summary="We analyse withdrawn loans."),
    ]
    async with ArxivServer(entries) as srv:
        papers = await ArxivSource(settings(srv.url)).recent(["cs.CL"], DAY, DAY, 10)
    by_id = {p.paper_id: p for p in papers}
    # Named by the text only: a repo to verify, not one known to exist.
    assert by_id["2605.20001"].repo_in_text == "https://github.com/Some-Org/Some.Repo"
    assert by_id["2605.20001"].github_repo is None
    assert by_id["2605.20002"].repo_in_text == "https://github.com/a/b"
    assert by_id["2605.20002"].comment == "ACL 2026. Code at github.com/a/b"
    assert by_id["2605.20003"].withdrawn
    assert not by_id["2605.20004"].withdrawn and not by_id["2605.20001"].withdrawn


async def test_lookup_returns_known_ids_and_leaves_out_the_rest(server: ArxivServer) -> None:
    server.entries.append(with_version(server.entries[0], 2))
    first = server.entries[0].bare_id
    second = server.entries[5].bare_id
    source = ArxivSource(settings(server.url))
    found = await source.lookup([f"arXiv:{first}", second, "2605.99999", "not-an-id"])
    assert list(found) == [first, second]
    assert found[first].title == squash(server.entries[0].title)
    # Only well-formed ids are sent; arXiv counts the unknown one, so the package asks
    # for a page that does not exist, which must not lose the answers already in hand.
    assert server.requests[0].id_list == [first, second, "2605.99999"]
    assert await source.lookup([]) == {}


async def test_lookup_error_answer_means_absent(server: ArxivServer) -> None:
    server.fail_next(400)  # arXiv answers ids it rejects with HTTP 400 and an Error entry
    assert await ArxivSource(settings(server.url)).lookup(["2605.06651"]) == {}
    assert len(server.requests) == 1


async def test_429_backs_off_from_twice_the_delay_then_succeeds(server: ArxivServer) -> None:
    t = FakeTime()
    server.fail_next(429, count=2, retry_after="600")
    source = ArxivSource(settings(server.url, arxiv_delay=3.0), sleep=t.sleep, clock=t.clock)
    papers = await source.recent(["cs.AI"], dt.date(2026, 5, 7), DAY, 5)
    assert papers
    assert t.sleeps == [6.0, 12.0]
    assert [r.status for r in server.requests] == [429, 429, 200]


async def test_persistent_503_is_a_source_error(server: ArxivServer) -> None:
    t = FakeTime()
    server.fail_next(503, count=10)
    source = ArxivSource(settings(server.url, arxiv_delay=3.0), sleep=t.sleep, clock=t.clock)
    with pytest.raises(SourceError) as info:
        await source.recent(["cs.AI"], dt.date(2026, 5, 7), DAY, 5)
    assert str(info.value) == "arXiv: HTTP 503 after 3 attempts"
    assert len(server.requests) == 3
    assert t.sleeps == [6.0, 12.0]


@pytest.mark.parametrize("status", [400, 403])
async def test_other_http_errors_are_not_retried(server: ArxivServer, status: int) -> None:
    server.fail_next(status)  # a 400 on a search is our bad query, not "no papers"
    with pytest.raises(SourceError, match=rf"^arXiv: HTTP {status}$"):
        await ArxivSource(settings(server.url)).recent(["cs.AI"], DAY, DAY, 5)
    assert len(server.requests) == 1


async def test_requests_are_spaced_across_calls(server: ArxivServer) -> None:
    t = FakeTime()
    source = ArxivSource(settings(server.url, arxiv_delay=3.0), sleep=t.sleep, clock=t.clock)
    await source.recent(["cs.AI"], DAY, DAY, 5)
    assert t.sleeps == []  # the first request goes at once
    await asyncio.gather(source.recent(["cs.CL"], DAY, DAY, 5), source.lookup(["2605.06651"]))
    assert t.sleeps == [3.0, 3.0]  # one request per arxiv_delay, one at a time
    assert len(server.requests) == 3


async def test_connection_refused_is_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = FakeTime()
    source = ArxivSource(
        settings(f"http://127.0.0.1:{port}/api/query", arxiv_delay=1.0, http_retries=1),
        sleep=t.sleep,
        clock=t.clock,
    )
    with pytest.raises(SourceError) as info:
        await source.lookup(["2605.06651"])
    assert info.value.reason == "connection failed after 2 attempts (ConnectionError)"
    # Not a 429/503: retried after 1 s (never sooner than arxiv_delay after the last
    # request), not after the long backoff, so an offline run fails in seconds.
    assert t.sleeps == [1.0]


def test_query_validates_categories() -> None:
    assert build_query([], DAY, DAY) == "submittedDate:[202605080000 TO 202605082359]"
    with pytest.raises(ConfigError, match="not an arXiv category"):
        build_query(["cs.AI) OR all:x"], DAY, DAY)
