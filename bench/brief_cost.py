"""What one brief, and 20 readers' briefs, cost in LLM calls, tokens and wall time.

Builds the fixture day's brief (the offline sample data: no network) against a local fake
OpenAI-compatible server that answers every call after a fixed latency, then prints:

- one brief: wall time, LLM calls, tokens, and the critical path of its LLM calls (the
  longest chain of calls that must run one after another — rerank → summaries → reader
  notes — times the latency); target: wall ≤ 1.5 × critical path;
- 20 readers with different profiles on the same day, built concurrently over one shared
  Store; target: tokens ≤ 5 × one brief's (per-paper summaries are shared, only the short
  per-reader calls repeat);
- the same 20 readers split 10 zh + 10 en, built as push builds them (every build told
  the day's languages, so a paper's summary is written in both by one call); target: the
  mixed-language ratio ≤ 5 × one brief's tokens;
- one brief against an endpoint that refuses JSON-schema output (one refused call, then
  JSON mode).

Tokens are the fake's (``len(text) // 4``; a JSON schema counts as prompt tokens), so the
ratios, not the absolute numbers, are what carries over to a real endpoint.

    uv run python bench/brief_cost.py [--latency 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collections.abc import Collection

from digest.llm import OpenAILLM
from digest.models import Brief, Language
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-bench"

INTERESTS: list[list[str]] = [
    ["LLM agents", "agentic reinforcement learning", "agent memory"],
    ["code generation", "software engineering agents", "program repair"],
    ["diffusion models", "image generation", "video generation"],
    ["mixture of experts", "efficient inference", "model compression"],
    ["reasoning", "chain of thought", "test-time compute"],
    ["retrieval augmented generation", "question answering", "search agents"],
    ["multimodal large language models", "vision language models", "visual reasoning"],
    ["reinforcement learning from human feedback", "reward modeling", "alignment"],
    ["world models", "model-based reinforcement learning", "embodied agents"],
    ["robotics", "manipulation", "vision-language-action models"],
    ["speech", "audio language models", "text to speech"],
    ["mathematical reasoning", "theorem proving", "formal verification"],
    ["benchmarks", "evaluation of language models", "LLM as a judge"],
    ["AI safety", "jailbreaks", "red teaming"],
    ["long context", "KV cache", "attention efficiency"],
    ["pretraining data", "scaling laws", "training dynamics"],
    ["GUI agents", "web agents", "computer use"],
    ["continual learning", "self-evolving agents", "skill learning"],
    ["tokenization", "multilingual language models", "low-resource languages"],
    ["interpretability", "representation learning", "steering vectors"],
]


def profile(n: int, language: Language) -> Profile:
    return Profile(name=f"reader{n}", language=language, interests=INTERESTS[n])


async def one(
    settings: Settings,
    store: SQLiteStore,
    p: Profile,
    languages: Collection[Language] | None = None,
) -> Brief:
    llm = OpenAILLM(settings)
    try:
        return await build_brief(
            settings,
            p,
            SAMPLE_DATE,
            store=store,
            sample=True,
            include_seen=True,
            llm=llm,
            languages=languages,
        )
    finally:
        await llm.aclose()


STAGES = ("rerank", "summarize", "reader_notes")


def row(name: str, value: str) -> None:
    print(f"  {name:<21}{value}")


def breakdown(calls: list[tuple[str, int, int, float, float]]) -> str:
    return ", ".join(f"{t}: {sum(1 for c in calls if c[0] == t)}" for t in STAGES)


def by_stage(calls: list[tuple[str, int, int, float, float]]) -> str:
    return ", ".join(f"{t}: {sum(c[1] + c[2] for c in calls if c[0] == t):,}" for t in STAGES)


def chain_depth(calls: list[tuple[str, int, int, float, float]]) -> int:
    """Observed longest chain: a call depends on every call that ended before it began."""
    ordered = sorted(calls, key=lambda c: c[3])
    depth: list[int] = []
    for i, c in enumerate(ordered):
        before = [depth[j] for j in range(i) if ordered[j][4] <= c[3]]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


async def run(latency: float) -> None:
    import openai  # noqa: F401  # warm the SDK import (~2 s, once per process) before timing

    async with FakeLLMServer(api_key=KEY, latency=latency) as srv:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                llm_base_url=srv.base_url,
                llm_api_key=KEY,
                sqlite_path=Path(tmp) / "s.sqlite3",
            )
            # A warm-up brief (another reader, its own store) pays the process's one-time
            # costs (lazy imports, TLS context, schema building) outside the measurement.
            store = await SQLiteStore.open(Path(tmp) / "warm.sqlite3")
            t0 = time.perf_counter()
            await one(settings, store, profile(19, "en"))
            cold = time.perf_counter() - t0
            await store.close()
            srv.calls.clear()

            store = await SQLiteStore.open(Path(tmp) / "one.sqlite3")
            t0 = time.perf_counter()
            brief = await one(settings, store, profile(0, "en"))
            wall = time.perf_counter() - t0
            await store.close()
            calls = list(srv.calls)
            critical = sum(1 for t in STAGES if any(c[0] == t for c in calls)) * latency
            tokens_one = brief.usage.total_tokens
            usage = brief.usage
            print("one brief (fixture day, English, 44 candidates)")
            row("LLM calls", f"{len(calls)}  ({breakdown(calls)})")
            row(
                "tokens",
                f"{tokens_one:,}  (prompt {usage.prompt_tokens:,}, "
                f"completion {usage.completion_tokens:,})",
            )
            row("tokens by stage", by_stage(calls))
            row("fake LLM latency", f"{latency:.2f} s per call")
            row("critical path", f"{critical:.2f} s  (rerank → summaries → reader notes)")
            row("observed call chain", f"{chain_depth(calls)} calls deep")
            row("wall time", f"{wall:.2f} s  (first brief of the process: {cold:.2f} s)")
            row("wall / critical path", f"{wall / critical:.2f}  (target ≤ 1.5)")

            ratios: dict[str, float] = {}
            for title, langs in (
                ("20 readers, English", ["en"] * 20),
                ("20 readers, 10 zh + 10 en", ["zh", "en"] * 10),
            ):
                srv.calls.clear()
                store = await SQLiteStore.open(Path(tmp) / f"{len(title)}.sqlite3")
                day_languages = set(langs)  # what push passes: the day's groups' languages
                t0 = time.perf_counter()
                briefs = await asyncio.gather(
                    *(
                        one(settings, store, profile(n, lang), day_languages)  # type: ignore[arg-type]
                        for n, lang in enumerate(langs)
                    )
                )
                wall20 = time.perf_counter() - t0
                await store.close()
                tokens20 = sum(b.usage.total_tokens for b in briefs)
                distinct = len({pid for b in briefs for pid in b.paper_ids()})
                print(title)
                row("LLM calls", f"{len(srv.calls)}  ({breakdown(srv.calls)})")
                row("distinct papers", f"{distinct} shown across the 20 briefs")
                row(
                    "tokens",
                    f"{tokens20:,} = {tokens20 / tokens_one:.2f} × one brief  (target ≤ 5)",
                )
                row("tokens by stage", by_stage(srv.calls))
                row("wall time", f"{wall20:.2f} s")
                ratios[title] = tokens20 / tokens_one
            print(
                f"mixed-language ratio     {ratios['20 readers, 10 zh + 10 en']:.2f} × one "
                f"brief  (English only: {ratios['20 readers, English']:.2f}; target ≤ 5)"
            )

    async with FakeLLMServer(api_key=KEY, latency=latency, refuse_json_schema=True) as srv:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                llm_base_url=srv.base_url,
                llm_api_key=KEY,
                sqlite_path=Path(tmp) / "s.sqlite3",
            )
            store = await SQLiteStore.open(Path(tmp) / "refusing.sqlite3")
            t0 = time.perf_counter()
            brief = await one(settings, store, profile(0, "en"))
            wall = time.perf_counter() - t0
            await store.close()
            print(
                "one brief, endpoint without JSON-schema output (auto: JSON mode after one refusal)"
            )
            row("LLM calls", f"{len(srv.calls)}  ({srv.refused} refused)")
            row(
                "tokens",
                f"{brief.usage.total_tokens:,} = {brief.usage.total_tokens / tokens_one:.2f} "
                "× the JSON-schema brief",
            )
            row("wall time", f"{wall:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS)        {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per fake LLM call")
    args = parser.parse_args()
    asyncio.run(run(args.latency))


if __name__ == "__main__":
    main()
