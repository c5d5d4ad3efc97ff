"""Hugging Face Daily Papers: the real fixture, uneven entries, and the HTTP calls."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

import httpx
import pytest

from digest.cleaning import latex_to_text
from digest.errors import SourceError
from digest.settings import Settings
from digest.sources.hf import HuggingFaceSource, parse_daily
from tests.paths import HF_DAY

FIXTURE = HF_DAY
DAY = dt.date(2026, 5, 8)


def items() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(FIXTURE.read_text("utf-8"))
    return data


def settings(**kw: Any) -> Settings:
    options: dict[str, Any] = {"hf_base_url": "https://hf.test", "http_retries": 2, **kw}
    return Settings(_env_file=None, **options)  # type: ignore[call-arg]


async def no_sleep(_: float) -> None:
    return None


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_parses_every_paper_of_the_real_fixture() -> None:
    raw = items()
    papers = parse_daily(raw, DAY)
    assert [p.paper_id for p in papers] == [it["paper"]["id"] for it in raw]
    for paper, item in zip(papers, raw, strict=True):
        src = item["paper"]
        # Source text enters the model cleaned of LaTeX (and only of LaTeX).
        assert paper.title == latex_to_text(squash(src["title"]))
        assert paper.abstract == latex_to_text(squash(src["summary"]))
        assert paper.authors == [a["name"] for a in src.get("authors", [])]
        assert paper.published == dt.date.fromisoformat(src["publishedAt"][:10])
        assert paper.listed == DAY  # the fixture has no submittedOnDailyAt
        assert paper.upvotes == src.get("upvotes")
        assert paper.ai_summary == (
            latex_to_text(src["ai_summary"]) if src.get("ai_summary") else None
        )
        assert paper.github_repo == src.get("githubRepo")
        assert paper.on_hf and paper.sources == ["hf"] and not paper.withdrawn
    assert any(p.authors == [] for p in papers)  # one entry has no authors at all


def test_every_optional_field_may_be_null() -> None:
    item = copy.deepcopy(items()[0])
    paper = item["paper"]
    for key in ("authors", "publishedAt", "upvotes", "ai_summary", "ai_keywords", "githubRepo",
                "projectPage", "submittedOnDailyAt", "withdrawnAt"):  # fmt: skip
        paper[key] = None
    item["numComments"] = None
    item["publishedAt"] = None
    (parsed,) = parse_daily([item], DAY)
    assert parsed.paper_id == paper["id"]
    assert parsed.authors == [] and parsed.published is None and parsed.upvotes is None
    assert parsed.ai_summary is None and parsed.keywords == [] and parsed.github_repo is None
    assert parsed.listed == DAY and parsed.num_comments is None and not parsed.withdrawn


def test_all_documented_fields_are_read() -> None:
    item = copy.deepcopy(items()[0])
    paper = item["paper"]
    paper.update(
        {
            "id": "2605.06651v2",
            "title": "  A   title\n  split over lines ",
            "upvotes": 31,
            "ai_keywords": ["agents", " theorem proving ", 7, ""],
            "githubRepo": "github.com/Owner/Repo.git/tree/main",
            "projectPage": "https://example.org/project",
            "submittedOnDailyAt": "2026-05-07T13:02:11.000Z",
            "withdrawnAt": None,
        }
    )
    item["numComments"] = 4
    (parsed,) = parse_daily([item], DAY)
    assert parsed.paper_id == "2605.06651"
    assert parsed.title == "A title split over lines"
    assert parsed.upvotes == 31 and parsed.num_comments == 4
    assert parsed.keywords == ["agents", "theorem proving"]
    assert parsed.github_repo == "https://github.com/Owner/Repo"
    assert parsed.project_page == "https://example.org/project"
    assert parsed.listed == dt.date(2026, 5, 7)


def test_malformed_entries_are_skipped_not_fatal() -> None:
    good = items()[1]
    no_id = copy.deepcopy(good)
    del no_id["paper"]["id"]
    not_arxiv = copy.deepcopy(good)
    not_arxiv["paper"]["id"] = "some-hf-only-paper"
    no_title = copy.deepcopy(good)
    no_title["paper"]["title"] = None
    no_title["title"] = "  "
    odd_types = copy.deepcopy(good)
    odd_types["paper"].update({"upvotes": "12", "authors": [None, {"name": 3}, {"name": "Ada"}]})
    odd_types["paper"]["publishedAt"] = "last Tuesday"
    papers = parse_daily(
        [None, "x", {"paper": "2605.1"}, no_id, not_arxiv, no_title, odd_types, good], DAY
    )
    assert [p.paper_id for p in papers] == [good["paper"]["id"]] * 2
    assert papers[0].upvotes is None and papers[0].authors == ["Ada"]
    # An unreadable paper.publishedAt falls back to the item's copy.
    assert papers[0].published == dt.date.fromisoformat(good["publishedAt"][:10])
    assert parse_daily({"error": "Invalid date"}, DAY) == []


def test_withdrawn_papers_are_marked() -> None:
    item = copy.deepcopy(items()[2])
    item["paper"]["withdrawnAt"] = "2026-05-09T10:00:00.000Z"
    (parsed,) = parse_daily([item], DAY)
    assert parsed.withdrawn


async def test_daily_requests_the_day_and_parses_it() -> None:
    seen: list[httpx.Request] = []
    body = FIXTURE.read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        papers = await HuggingFaceSource(settings(), client, sleep=no_sleep).daily(DAY)
    assert len(papers) == len(items())
    assert seen[0].url.path == "/api/daily_papers"
    assert dict(seen[0].url.params) == {"date": "2026-05-08", "limit": "100"}


async def test_daily_failure_names_the_source() -> None:
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    transport = httpx.MockTransport(lambda r: httpx.Response(503, text="busy"))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(SourceError) as info:
            await HuggingFaceSource(settings(), client, sleep=sleep).daily(DAY)
    assert str(info.value) == "Hugging Face: HTTP 503 after 3 attempts"
    assert sleeps == [1.0, 2.0]


async def test_daily_rejects_an_answer_that_is_not_a_list() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"error": "bad date"}))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(SourceError, match="unexpected response shape"):
            await HuggingFaceSource(settings(), client, sleep=no_sleep).daily(DAY)


async def test_paper_reads_the_flat_shape_and_404_is_none() -> None:
    flat = copy.deepcopy(items()[0]["paper"])
    flat.update({"upvotes": 12, "numComments": 3})
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == f"/api/papers/{flat['id']}":
            return httpx.Response(200, json=flat)
        return httpx.Response(404, json={"error": "Paper not found"})

    s = settings(hf_base_url="https://hf.test/")  # a trailing slash is fine
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        source = HuggingFaceSource(s, client, sleep=no_sleep)
        paper = await source.paper(f"https://arxiv.org/abs/{flat['id']}v3")
        missing = await source.paper("2605.99999")
    assert paper is not None
    assert paper.paper_id == flat["id"] and paper.title == squash(flat["title"])
    assert paper.upvotes == 12 and paper.num_comments == 3 and paper.listed is None
    assert missing is None
    assert seen == [f"/api/papers/{flat['id']}", "/api/papers/2605.99999"]
