"""Reading a paper's full text from arXiv's web, politely, once for everyone.

Against `FakeArxivWeb`, which answers 429 to requests closer together than the interval
(or overlapping), on a fake clock that only the client's own sleeps move: spacing is
proven without waiting. PDFs are made by `tests.fakes.pdf_writer` and parsed by pypdf in
a real child process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from digest.fulltext.fetch import ArxivWeb, FetchFailed, user_agent
from digest.fulltext.model import FullText, Missing, pack
from digest.fulltext.service import FULLTEXT_NS, LEASE_NS, cached_paper, read_paper
from digest.fulltext.spacing import LocalSpacer, RedisSpacer
from digest.settings import Settings
from digest.store.base import Store
from tests.fakes.arxiv_web import FakeArxivWeb, FakeTime, WebPaper, fixture_html, png_bytes
from tests.fakes.pdf_writer import malformed_pdf, padded_pdf, text_pdf
from tests.fulltext_fixtures import SCALING_PAGES

EMO = "2605.06663"
SKILL = "2605.06614"
SCALING = "2605.01640"  # no HTML: a PDF only


def web_papers() -> dict[str, WebPaper]:
    return {
        EMO: WebPaper(
            html=fixture_html("2605.06663v2.html"), versions=2, images={"x1.png": png_bytes()}
        ),
        SKILL: WebPaper(html=fixture_html("2605.06614v1.html")),
        SCALING: WebPaper(pdf=text_pdf(SCALING_PAGES)),
        "2605.00010": WebPaper(),  # neither HTML nor PDF
        "2605.00011": WebPaper(withdrawn=True),
        "2605.00012": WebPaper(pdf=malformed_pdf()),
        "2605.00013": WebPaper(pdf=padded_pdf(31 * 1024 * 1024)),
        "hep-th/9901001": WebPaper(pdf=text_pdf(SCALING_PAGES)),
    }


@dataclass
class Reader:
    web: FakeArxivWeb
    time: FakeTime
    settings: Settings
    store: Store
    spacer: LocalSpacer

    def client(self) -> ArxivWeb:
        return ArxivWeb(self.settings, spacer=self.spacer, sleep=self.time.sleep)

    async def read(self, pid: str, version: int | None = None) -> FullText | Missing:
        async with self.client() as client:
            return await read_paper(
                pid,
                version,
                settings=self.settings,
                store=self.store,
                web=client,
                sleep=self.time.sleep,
            )


@pytest.fixture
async def reader(store: Store) -> AsyncIterator[Reader]:
    time = FakeTime()
    async with FakeArxivWeb(web_papers(), clock=time, interval=3.0) as web:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            arxiv_html_url=web.html_url,
            arxiv_pdf_url=web.pdf_url,
            arxiv_fulltext_interval=3.0,
            arxiv_contact="mailto:team@example.org",
            redis_url=None,
        )
        spacer = LocalSpacer(
            f"test:{uuid.uuid4().hex}", 3.0, hold=30.0, clock=time.now, sleep=time.sleep
        )
        yield Reader(web, time, settings, store, spacer)


async def test_an_html_rendering_becomes_sections_tables_and_a_figure(reader: Reader) -> None:
    text = await reader.read(EMO)
    assert isinstance(text, FullText) and text.kind == "html" and text.version == 2
    assert [s.label for s in text.sections][:4] == [
        "§1 Introduction",
        "§2 Related Work",
        "§3 Method",
        "§3.1 Document-level expert pools",
    ]
    method = text.section_by_anchor("S3.SS1")
    assert method is not None and "E=128 experts" in method.text and "m=32" in method.text
    limits = next(s for s in text.sections if s.title == "Limitations")
    assert limits.anchor == "S7" and "single model size" in limits.text
    [t1, t2] = text.tables
    assert (t1.label, t1.anchor, t1.section) == ("Table 1", "S5.T1", "S5")
    assert t1.rows[2] == ["EMO", "57.6", "48.3", "30.9", "87.6", "56.1"]
    assert t2.caption.startswith("Absolute drop")
    first = text.figures[0]
    assert first.image_url == f"{reader.web.origin}/html/2605.06663v2/x1.png"
    assert first.caption.startswith("EMO routes every token")
    assert len(text.references) == 3
    assert "<" not in text.all_text()  # no markup survives
    # The unversioned address redirects to the latest version, 3 s later (the spacing).
    assert reader.web.paths() == [f"/html/{EMO}", f"/html/{EMO}v2"]
    assert reader.web.rejections == []


async def test_a_paper_is_fetched_once_and_then_read_from_the_cache(reader: Reader) -> None:
    first = await reader.read(EMO)
    again = await reader.read(EMO)
    versioned = await reader.read(EMO, 2)  # the version it turned out to be
    assert first == again == versioned
    assert len(reader.web.requests) == 2  # the redirect and the page, once
    raw = await reader.store.cache_get(FULLTEXT_NS, f"{EMO}|latest")
    assert raw is not None and raw.startswith("ft1:T")
    assert len(raw) < len(fixture_html("2605.06663v2.html")) / 2  # compressed


async def test_concurrent_askers_share_one_fetch(reader: Reader) -> None:
    reader.web.gate = asyncio.Event()
    asks = [asyncio.create_task(reader.read(SKILL)) for _ in range(5)]
    await asyncio.sleep(0)  # every asker has started and found the one read in flight
    reader.web.gate.set()
    results = await asyncio.gather(*asks)
    assert all(isinstance(r, FullText) for r in results)
    assert reader.web.paths() == [f"/html/{SKILL}", f"/html/{SKILL}v1"]


async def test_another_process_reading_it_is_waited_for_not_repeated(reader: Reader) -> None:
    # Another process holds the read's lease in the shared Store.
    key = f"{SKILL}|latest"
    await reader.store.cache_add(LEASE_NS, key, "other", dt.timedelta(minutes=5))
    written = asyncio.Event()

    async def until_written(_seconds: float) -> None:
        await written.wait()

    async with reader.client() as client:
        ours = asyncio.create_task(
            read_paper(
                SKILL, settings=reader.settings, store=reader.store, web=client, sleep=until_written
            )
        )
        await asyncio.sleep(0.05)
        assert not ours.done()  # waiting for the other process, not fetching
        theirs = FullText(
            paper_id=SKILL, kind="html", url="u", fetched_at=dt.datetime(2026, 5, 8, tzinfo=dt.UTC)
        )
        await reader.store.cache_set(FULLTEXT_NS, key, pack(theirs), dt.timedelta(days=1))
        written.set()
        assert await ours == theirs
    assert reader.web.requests == []  # ours never asked arXiv


async def test_without_html_the_pdf_is_read_with_its_pages(reader: Reader) -> None:
    text = await reader.read(SCALING)
    assert isinstance(text, FullText) and text.kind == "pdf" and text.pages == 3
    labels = [(s.label, s.page) for s in text.sections]
    assert labels[:4] == [
        ("§1 Introduction", 1),
        ("§2 Method", 2),
        ("§3 Results", 2),
        ("§4 Limitations", 3),
    ]
    assert text.abstract.startswith("We derive scaling laws")
    assert text.tables[0].label == "Table 1" and text.tables[0].page == 2
    assert text.references[0].startswith("[1] J. Hoffmann")
    assert reader.web.paths() == [f"/html/{SCALING}", f"/pdf/{SCALING}"]
    # One request at a time, at least the interval apart: no 429 from the fake.
    [a, b] = reader.web.requests
    assert b.at - a.at >= 3.0 and reader.web.rejections == []


async def test_old_style_ids_and_versions_reach_the_right_urls(reader: Reader) -> None:
    text = await reader.read("hep-th/9901001", 1)
    assert isinstance(text, FullText) and text.kind == "pdf" and text.version == 1
    assert reader.web.paths() == ["/html/hep-th/9901001v1", "/pdf/hep-th/9901001v1"]
    missing = await reader.read(EMO, 7)  # no such version
    assert isinstance(missing, Missing) and missing.reason == "no_source"


@pytest.mark.parametrize(
    ("pid", "reason"),
    [
        ("2605.00010", "no_source"),
        ("2605.00011", "withdrawn"),
        ("2605.00012", "unreadable"),
        ("2605.00013", "too_large"),
    ],
)
async def test_what_cannot_be_read_says_why(reader: Reader, pid: str, reason: str) -> None:
    result = await reader.read(pid)
    assert isinstance(result, Missing) and result.reason == reason
    cached = await cached_paper(reader.store, pid, None)
    assert cached == result  # not asked again for a while


async def test_an_oversized_pdf_is_refused_before_its_body_is_read(reader: Reader) -> None:
    async with reader.client() as client:
        with pytest.raises(FetchFailed) as refused:
            await client.get(f"{reader.web.pdf_url}2605.00013", max_bytes=30 * 1024 * 1024)
    assert refused.value.reason == "too_large" and "announced" in refused.value.detail


async def test_429_and_retry_after_are_honoured_then_given_up(reader: Reader) -> None:
    reader.web.fail_next(503, count=1, retry_after="7")
    text = await reader.read(SKILL)
    assert isinstance(text, FullText)
    assert 7.0 in reader.time.slept
    reader.web.fail_next(429, count=5, retry_after="2")
    given_up = await reader.read(EMO)
    assert isinstance(given_up, Missing) and given_up.reason == "rate_limited"
    # SkillOS: 503, its retry, the redirected page; EMO: 429 three times (1 + 2 retries).
    assert [r.status for r in reader.web.requests] == [503, 302, 200, 429, 429, 429]
    reader.web.fail_next(429, count=1, retry_after="3600")
    too_long = await reader.read("2605.00010")
    assert isinstance(too_long, Missing) and too_long.reason == "rate_limited"


async def test_only_the_configured_hosts_are_ever_fetched(reader: Reader) -> None:
    async with reader.client() as client:
        for url in ("https://evil.example/html/2605.06663", "file:///etc/passwd", "javascript:x"):
            with pytest.raises(ValueError):
                await client.get(url, max_bytes=1000)
    assert reader.web.requests == []


async def test_the_user_agent_names_paperdrop_and_the_contact(reader: Reader) -> None:
    await reader.read(EMO)
    ua = reader.web.requests[0].user_agent
    assert ua == user_agent(reader.settings)
    assert "paperdrop" in ua and "mailto:team@example.org" in ua


async def test_the_fake_refuses_clients_that_do_not_space_their_requests(reader: Reader) -> None:
    eager = LocalSpacer(f"eager:{uuid.uuid4().hex}", 0.0, hold=30.0, clock=reader.time.now)
    async with ArxivWeb(reader.settings, spacer=eager, sleep=reader.time.sleep) as client:
        await client.get(f"{reader.web.html_url}{EMO}v2", max_bytes=10**7)
        second = await client.get(f"{reader.web.html_url}{SKILL}v1", max_bytes=10**7)
    assert second.status == 200  # its one retry came after the Retry-After
    assert [r.status for r in reader.web.requests] == [200, 429, 200]


async def test_the_spacing_is_shared_by_processes_through_redis(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    time = FakeTime()
    key = f"{redis_prefix}arxiv:web"
    # Two processes: two spacers, one Redis key, one clock.
    a = RedisSpacer(redis_client, key, 3.0, hold=30.0, clock=time.now, sleep=time.sleep)
    b = RedisSpacer(redis_client, key, 3.0, hold=30.0, clock=time.now, sleep=time.sleep)
    starts: list[float] = []
    inside = 0
    overlaps = 0

    async def request(spacer: RedisSpacer) -> None:
        nonlocal inside, overlaps
        async with spacer.turn():
            inside += 1
            overlaps += inside > 1
            # When the turn was granted, on the spacer's clock (Redis keeps it).
            starts.append(float(await redis_client.hget(key, "free") or 0) - 3.0)
            await time.sleep(1.0)  # the request takes a second
            inside -= 1

    await asyncio.gather(*(request(s) for s in (a, b, a, b)))
    assert overlaps == 0
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(g >= 3.0 - 1e-9 for g in gaps), (starts, gaps)


async def test_without_redis_the_spacing_falls_back_to_this_process() -> None:
    time = FakeTime()
    unreachable = aioredis.Redis(host="127.0.0.1", port=9)  # nothing listens there
    spacer = RedisSpacer(
        unreachable, "k", 3.0, hold=30.0, clock=time.now, sleep=time.sleep, owns_client=True
    )
    starts = []
    for _ in range(2):
        async with spacer.turn():
            starts.append(time.now())
    await spacer.aclose()
    assert starts[1] - starts[0] >= 3.0  # still spaced, by this process
