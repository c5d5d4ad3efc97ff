"""What reading papers in full costs: time, memory, LLM calls and tokens; and how well
retrieval finds the section that answers a question.

Everything runs against local fakes (arXiv's web serving the fixture papers of
tests/data/fulltext, the OpenAI-compatible fake LLM answering after a fixed latency,
Hugging Face, arXiv's API, GitHub): no network. Prints:

- fetch + parse time per paper, p50/p95, for the HTML fixtures and for PDFs (pypdf in its
  child process: process start included);
- the child's peak memory parsing a 30 MB PDF;
- tokens and LLM calls per /paper card, full text vs abstract only (target: still 1
  call, ≤ 8k tokens);
- thread-answer latency, cold (the paper not read yet) and warm (read and indexed),
  with the fake LLM at a fixed latency;
- the brief's extra cost with full-text top picks: tokens and wall time vs abstract-only
  picks, with arXiv's 3 s spacing and without it;
- retrieval recall@3 of the right section on the written question→section pairs
  (target ≥ 0.9).

    uv run python bench/fulltext.py [--latency 0.5] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.asking import answer_question
from digest.fulltext.model import FullText
from digest.fulltext.passages import forget_indexes, index_of
from digest.fulltext.pdfproc import extract_pages
from digest.fulltext.service import read_paper
from digest.llm import OpenAILLM
from digest.models import Paper
from digest.pipeline import build_brief
from digest.profile import example_profile
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from handlers.paper import paper_card
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.arxiv_web import FakeArxivWeb, FakeTime, WebPaper, fixture_html, png_bytes
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.pdf_writer import padded_pdf, text_pdf
from tests.fakes.sources_server import FIXTURE, FakeGitHub, FakeHF
from tests.fulltext_fixtures import SCALING_PAGES, questions

KEY = "sk-bench-fulltext"
HTML = {
    "2605.06663": "2605.06663v2.html",
    "2605.06614": "2605.06614v1.html",
    "2605.04077": "2605.04077v1.html",
}
PDF_ID = "2605.01640"
LONG_PDF_ID = "2605.05558"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def long_paper() -> list[list[str]]:
    """A 24-page PDF paper: sections of running text with numbers."""
    pages: list[list[str]] = []
    for n in range(1, 25):
        lines = [f"{n} Section number {n}"] if n % 3 == 1 else []
        lines += [
            f"In experiment {n}.{k} the model reaches {50 + k}.{n % 10} accuracy on task {k}, "
            "compared with the baseline which is lower by a few points."
            for k in range(40)
        ]
        pages.append(lines)
    return pages


def web_papers() -> dict[str, WebPaper]:
    """Every paper of the fixture day served: the three HTML fixtures in turn (so a brief's
    picks all have a text), plus two PDF-only papers."""
    ids = [item["paper"]["id"] for item in json.loads(FIXTURE.read_text("utf-8"))]
    names = list(HTML.values())
    papers = {
        pid: WebPaper(html=fixture_html(names[i % 3]), images={"x1.png": png_bytes()})
        for i, pid in enumerate(ids)
    }
    for pid, name in HTML.items():
        papers[pid] = WebPaper(html=fixture_html(name), versions=int(name[-6]))
    papers[PDF_ID] = WebPaper(pdf=text_pdf(SCALING_PAGES))
    papers[LONG_PDF_ID] = WebPaper(pdf=text_pdf(long_paper()))
    return papers


def settings_for(web: FakeArxivWeb, **extra: Any) -> Settings:
    values: dict[str, Any] = {"arxiv_fulltext_interval": 0, "redis_url": None, **extra}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        arxiv_html_url=web.html_url,
        arxiv_pdf_url=web.pdf_url,
        **values,
    )


async def fetch_parse(web: FakeArxivWeb, runs: int) -> None:
    settings = settings_for(web)
    timings: dict[str, list[float]] = {"HTML": [], "PDF": []}
    for _ in range(runs):
        for kind, pids in (("HTML", list(HTML)), ("PDF", [PDF_ID, LONG_PDF_ID])):
            for pid in pids:
                store = await SQLiteStore.open(":memory:")
                started = time.perf_counter()
                text = await read_paper(pid, settings=settings, store=store)
                timings[kind].append(time.perf_counter() - started)
                assert isinstance(text, FullText), text
                await store.close()
    for kind, values in timings.items():
        print(
            f"fetch+parse {kind:4} ({len(values)} reads): p50 {_pct(values, 0.5) * 1000:.0f} ms, "
            f"p95 {_pct(values, 0.95) * 1000:.0f} ms (local fake, no spacing)"
        )


async def pdf_memory() -> None:
    data = padded_pdf(30 * 1024 * 1024, long_paper())
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    pages = await extract_pages(data, seconds=60, memory_mb=1024)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"parsing a {len(data) / 2**20:.0f} MB PDF ({len(pages)} pages): {took:.2f} s, "
        f"child peak RSS {peak / 1024:.0f} MiB (children before: {before / 1024:.0f} MiB)"
    )


async def card_cost(web: FakeArxivWeb, latency: float) -> None:
    async with (
        FakeHF() as hf,
        FakeGitHub.for_fixture() as gh,
        FakeLLMServer(api_key=KEY, latency=latency) as llm,
    ):
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            settings = settings_for(
                web,
                hf_base_url=hf.base_url,
                github_api_url=gh.base_url,
                arxiv_api_url=arxiv.url,
                arxiv_delay=0,
                llm_base_url=llm.base_url,
                llm_api_key=KEY,
            )
            profile = example_profile("en")
            for full in (False, True):
                store = await SQLiteStore.open(":memory:")
                async with OpenAILLM(settings) as client:
                    for pid in [*HTML, PDF_ID, LONG_PDF_ID]:
                        await paper_card(
                            pid,
                            settings=settings,
                            store=store,
                            profile=profile,
                            llm=client,
                            full_text=full,
                        )
                await store.close()
                calls = llm.calls_for("paper_details")
                n = len([*HTML, PDF_ID, LONG_PDF_ID])
                mine = calls[-n:]
                prompt = [c[1] for c in mine]
                total = [c[1] + c[2] for c in mine]
                print(
                    f"/paper card, {'full text   ' if full else 'abstract only'}: "
                    f"{len(mine) / n:.0f} LLM call per card, prompt tokens mean "
                    f"{statistics.mean(prompt):.0f} (max {max(prompt)}), total max {max(total)}"
                )


async def answer_latency(web: FakeArxivWeb, latency: float, runs: int) -> None:
    async with FakeLLMServer(api_key=KEY, latency=latency) as llm:
        settings = settings_for(web, llm_base_url=llm.base_url, llm_api_key=KEY)
        pairs = [(t.paper_id, q) for t, q, _ in questions() if t.kind == "html"]
        cold: list[float] = []
        warm: list[float] = []
        async with OpenAILLM(settings) as client:
            for i in range(runs):
                pid, question = pairs[i % len(pairs)]
                paper = Paper(paper_id=pid, title=pid)
                store = await SQLiteStore.open(":memory:")
                forget_indexes()  # cold: nothing of this paper read or indexed yet
                for bucket in (cold, warm):
                    started = time.perf_counter()
                    text = await read_paper(pid, settings=settings, store=store)
                    assert isinstance(text, FullText)
                    await answer_question(
                        paper,
                        question,
                        summary="",
                        history=[],
                        language="en",
                        llm=client,
                        text=text,
                    )
                    bucket.append(time.perf_counter() - started)
                await store.close()
    print(
        f"thread answer, fake LLM at {latency:.1f} s: cold p50 {_pct(cold, 0.5) * 1000:.0f} ms "
        f"p95 {_pct(cold, 0.95) * 1000:.0f} ms (fetch, parse, index, answer); warm p50 "
        f"{_pct(warm, 0.5) * 1000:.0f} ms p95 {_pct(warm, 0.95) * 1000:.0f} ms"
    )


class _Wall(FakeTime):
    """The fake arXiv's clock is the real one here: the spacing is really waited for."""

    def now(self) -> float:
        return time.monotonic()


async def brief_cost(latency: float, interval: float) -> None:
    async with (
        FakeHF() as hf,
        FakeGitHub.for_fixture() as gh,
        FakeLLMServer(api_key=KEY, latency=latency) as llm,
        FakeArxivWeb(web_papers(), interval=interval, clock=_Wall()) as web,
    ):
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            results = {}
            for picks in (0, None):
                with tempfile.TemporaryDirectory() as tmp:
                    settings = settings_for(
                        web,
                        hf_base_url=hf.base_url,
                        github_api_url=gh.base_url,
                        arxiv_api_url=arxiv.url,
                        arxiv_delay=0,
                        arxiv_fulltext_interval=interval,
                        llm_base_url=llm.base_url,
                        llm_api_key=KEY,
                        fulltext_picks=picks,
                        sqlite_path=Path(tmp) / "s.sqlite3",
                    )
                    store = await SQLiteStore.open(Path(tmp) / "s.sqlite3")
                    before = len(llm.calls)
                    started = time.perf_counter()
                    brief = await build_brief(
                        settings,
                        example_profile("en"),
                        dt.date(2026, 5, 8),
                        store=store,
                        include_seen=True,
                    )
                    wall = time.perf_counter() - started
                    await store.close()
                    calls = llm.calls[before:]
                    tokens = sum(c[1] + c[2] for c in calls)
                    note = next(
                        (
                            i.detail
                            for s in brief.sections
                            if s.kind == "sources"
                            for i in s.items
                            if getattr(i, "source", "") == "arXiv full text"
                        ),
                        "",
                    )
                    results[picks] = (wall, tokens, len(calls), note)
            base, full = results[0], results[None]
            print(
                f"brief with full-text picks (arXiv spacing {interval:g} s, LLM {latency:g} s): "
                f"{full[1]:,} tokens vs {base[1]:,} (+{(full[1] / base[1] - 1) * 100:.0f}%), "
                f"{full[2]} calls vs {base[2]}, wall {full[0]:.1f} s vs {base[0]:.1f} s; "
                f"{full[3]}"
            )


def recall() -> None:
    pairs = questions()
    hits = 0
    for text, question, where in pairs:
        found = index_of(text).search(question, 3)
        hits += any(p.section == where or p.cite.label == where for p, _ in found)
    print(f"retrieval recall@3: {hits}/{len(pairs)} = {hits / len(pairs):.2f} (target ≥ 0.9)")


async def main(latency: float, runs: int) -> None:
    async with FakeArxivWeb(web_papers(), interval=0) as web:
        await fetch_parse(web, runs)
        await pdf_memory()
        await card_cost(web, latency)
        await answer_latency(web, latency, runs)
    await brief_cost(latency, 0.0)
    await brief_cost(latency, 3.0)
    recall()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.5, help="fake LLM seconds per call")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.latency, args.runs))
