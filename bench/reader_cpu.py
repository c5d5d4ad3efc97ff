"""The CPU each extra reader's brief costs on one day, without an LLM, and why.

Builds N distinct readers' briefs (different interests, zh and en alternating) on the
offline sample day, one after another in one process with no LLM, then prints:

- the first reader's time (it pays the process's one-time costs: imports, and every
  per-day structure built once and shared), and the mean CPU time per further reader;
- the call counts of the hot per-paper functions over the whole run (a function that
  runs once per paper per reader grows with N; one built once per day does not).

The counts come from the same readers built under cProfile in a fresh process (the timed
run is not profiled, and its warm caches do not hide the per-day work). This measures the
per-reader CPU of digest only; `bench/brief_cost.py` measures LLM calls and tokens.

    uv run python bench/reader_cpu.py [--readers 100]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.models import Language
from digest.pipeline import SAMPLE_DATE, build_brief
from digest.profile import Profile
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore

POOL = [
    "LLM agents", "agentic reinforcement learning", "agent memory", "code generation",
    "software engineering agents", "diffusion models", "video generation",
    "mixture of experts", "efficient inference", "reasoning", "chain of thought",
    "test-time compute", "retrieval augmented generation", "search agents",
    "multimodal large language models", "visual reasoning", "reward modeling", "alignment",
    "world models", "model-based reinforcement learning", "embodied agents", "robotics",
    "mathematical reasoning", "theorem proving", "benchmarks", "LLM as a judge",
    "AI safety", "long context", "KV cache", "pretraining data", "scaling laws",
    "GUI agents", "web agents", "continual learning", "self-evolving agents",
    "skill learning", "interpretability", "representation learning", "tool use",
    "verifiable rewards", "latent reasoning", "policy optimization",
]  # fmt: skip
# (module path suffix, function name, what it computes): the work per paper or per day.
# Where a function is cached, its inner worker is counted (what actually ran).
HOT = [
    ("digest/grouping.py", "__init__", "grouping Lexicon (per day)"),
    ("digest/grouping.py", "_document", "grouping _document"),
    ("digest/grouping.py", "_units", "grouping _units"),
    ("digest/grouping.py", "_word_key", "grouping _word_key"),
    ("digest/ranking.py", "build", "BM25 index (per day)"),
    ("digest/tokens.py", "tokenize", "ranking tokenize"),
    ("digest/keyphrases.py", "_fit", "key phrases (per day)"),
    ("digest/extractive.py", "paper_text", "paper_text"),
    ("digest/extractive.py", "_paper_text", "  its worker"),
    ("digest/topics.py", "topic_category", "topic_category"),
    ("digest/topics.py", "_topic_category", "  its worker"),
    ("digest/cleaning.py", "latex_to_text", "latex_to_text"),
    ("digest/sources/hf.py", "parse_paper", "sample parse_paper"),
]


def reader(n: int) -> Profile:
    """Reader n: 3-5 interests of the pool (distinct sets), zh for even n."""
    rng = random.Random(n)
    interests = rng.sample(POOL, rng.randint(3, 5))
    language: Language = "zh" if n % 2 == 0 else "en"
    return Profile(name=f"reader{n}", language=language, interests=interests, top_picks=5)


async def build_all(count: int) -> tuple[float, list[float]]:
    """CPU seconds of the first reader, then of each further one."""
    settings = Settings(_env_file=None, llm_api_key=None)  # type: ignore[call-arg]
    store = await SQLiteStore.open(":memory:")
    times: list[float] = []
    try:
        for n in range(count):
            t0 = time.process_time()
            await build_brief(
                settings,
                reader(n),
                SAMPLE_DATE,
                store=store,
                sample=True,
                include_seen=True,
                use_llm=False,
            )
            times.append(time.process_time() - t0)
    finally:
        await store.close()
    return times[0], times[1:]


def counts(stats: pstats.Stats) -> dict[str, int]:
    table: dict[str, int] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for (path, _line, name), (_cc, ncalls, *_rest) in raw.items():
        for suffix, fn, shown in HOT:
            if path.endswith(suffix) and name == fn:
                table[shown] = table.get(shown, 0) + ncalls
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--counts", action="store_true", help="only print the call counts")
    args = parser.parse_args()
    n = args.readers
    if args.counts:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(build_all(n))
        profiler.disable()
        print(f"  calls over {n} readers (profiled run):")
        table = counts(pstats.Stats(profiler))
        for _, _, shown in HOT:
            if shown in table:
                print(f"    {shown:<28}{table[shown]:>10,}")
        return
    t0 = time.perf_counter()
    first, rest = asyncio.run(build_all(n))
    wall = time.perf_counter() - t0
    print(f"{n} readers' briefs, sample day, no LLM, one process:")
    print(f"  wall                 {wall:.2f} s")
    print(f"  first reader (CPU)   {first * 1000:.0f} ms")
    if rest:
        mean = sum(rest) / len(rest)
        print(f"  per further reader   {mean * 1000:.1f} ms CPU (median {_median(rest):.1f} ms)")
    sys.stdout.flush()
    subprocess.run([sys.executable, __file__, "--readers", str(n), "--counts"], check=True)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] * 1000


if __name__ == "__main__":
    main()
