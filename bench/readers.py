"""A thousand readers before breakfast: N distinct readers' briefs built at once.

Builds N readers' briefs on the fixture day (the offline sample data: no network), every
reader with interests of its own (3-5 phrases of a pool; zh and en alternating), all at
once in one process as a morning push builds them (`build_brief` with the reader's key and
the day's languages, no LLM handed in: each build uses what the process provides). The
LLM is a local fake OpenAI-compatible server answering every call after `--latency`
seconds, driven through the real openai SDK by its base URL; it runs in a child process,
so the figures below are this process's alone:

- wall: from the first build started to the last one finished;
- LLM calls and tokens per reader: as the fake server counted them (its tokens are
  ``len(text) // 4``; ratios carry over to a real endpoint, absolute numbers do not);
- CPU per reader: this process's user + system CPU over the run, divided by N (the fake
  LLM's CPU is the child's; the openai SDK's own work on each call is counted here);
- peak RSS: this process's high-water mark (``ru_maxrss``), imports included;
- LLM calls that failed (timed out or erred) and briefs that say they fell back.

A warm-up reader (its own Store) first pays the process's one-time costs: imports, the
SDK's schema building, and the day's shared structures; its CPU is printed apart.

    uv run python bench/readers.py --readers 1000 [--latency 0.2] [--profile out.prof]

`--profile` writes a cProfile of the timed run (not of the warm-up) for pstats/snakeviz;
the profiler slows the run, so its figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import functools
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest import telemetry
from digest.clients import shared_llm
from digest.models import Brief, Language, SourceItem
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-bench"
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
LANGUAGES: frozenset[Language] = frozenset({"zh", "en"})


def readers(count: int, *, seed: int = 0) -> list[Profile]:
    """`count` readers with distinct interest sets (3-5 of the pool), zh for even ones."""
    rng = random.Random(seed)
    seen: set[frozenset[str]] = set()
    out: list[Profile] = []
    while len(out) < count:
        interests = rng.sample(POOL, rng.randint(3, 5))
        if frozenset(interests) in seen:
            continue
        seen.add(frozenset(interests))
        n = len(out)
        language: Language = "zh" if n % 2 == 0 else "en"
        out.append(Profile(name=f"reader{n}", language=language, interests=interests))
    return out


# --- the fake LLM, in a child process ---------------------------------------------------


def _serve(conn: Connection, latency: float) -> None:
    """The child: a FakeLLMServer answering until told to stop; its counts on request."""

    async def main() -> None:
        async with FakeLLMServer(api_key=KEY, latency=latency) as srv:
            conn.send(srv.base_url)
            while True:
                order = await asyncio.to_thread(conn.recv)
                if order == "stop":
                    return
                if order == "reset":
                    srv.calls.clear()
                    conn.send(None)
                elif order == "counts":
                    conn.send((len(srv.calls), sum(c[1] + c[2] for c in srv.calls)))

    asyncio.run(main())


class ChildLLM:
    def __init__(self, latency: float) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, latency), daemon=True)

    def __enter__(self) -> ChildLLM:
        self._proc.start()
        self.base_url: str = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._proc.join(10)

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def counts(self) -> tuple[int, int]:
        self._conn.send("counts")
        calls, tokens = self._conn.recv()
        return int(calls), int(tokens)


# --- CPU inside the LLM client -----------------------------------------------------------

T = TypeVar("T")
_IN_LLM: contextvars.ContextVar[bool] = contextvars.ContextVar("in_llm", default=False)


class Meter:
    """CPU of this loop's task steps inside the LLM client (the openai SDK and httpx
    building, sending, reading and validating calls), summed from thread CPU time."""

    def __init__(self) -> None:
        self.llm = 0.0


METER = Meter()


class _Timed(Coroutine[Any, Any, T]):
    """A task's coroutine whose steps are timed (the task factory wraps every task)."""

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro

    def _timed(self, step: Callable[[], Any]) -> Any:
        if not _IN_LLM.get():
            return step()
        t0 = time.thread_time()
        try:
            return step()
        finally:
            METER.llm += time.thread_time() - t0

    def send(self, value: Any) -> Any:
        return self._timed(lambda: self._coro.send(value))

    def throw(self, *args: Any) -> Any:
        return self._timed(lambda: self._coro.throw(*args))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, T]:
        return self._coro.__await__()


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    return asyncio.Task(_Timed(coro), loop=loop, **kwargs)


async def _call(call: Callable[..., Awaitable[T]], args: Any, kwargs: Any) -> T:
    return await call(*args, **kwargs)


def _metered(call: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """`call` run as a task of its own marked as LLM work (every step of it is metered)."""

    @functools.wraps(call)
    async def run(*args: Any, **kwargs: Any) -> T:
        context = contextvars.copy_context()
        context.run(_IN_LLM.set, True)
        loop = asyncio.get_running_loop()
        return await loop.create_task(_call(call, args, kwargs), context=context)

    return run


# --- the run -----------------------------------------------------------------------------


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def failed_calls() -> int:
    """LLM calls that ended in an error (a timeout included), as telemetry counts them."""
    total = 0.0
    for metric in telemetry.REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == "paperdrop_llm_calls_total" and sample.labels["outcome"] != "ok":
                total += sample.value
    return int(total)


def fell_back(brief: Brief) -> bool:
    sources = brief.section("sources")
    items = sources.items if sources is not None else []
    return any(isinstance(r, SourceItem) and r.source == "LLM" and r.status != "ok" for r in items)


async def fell_back_after(building: Awaitable[Brief]) -> bool:
    return fell_back(await building)


async def build(settings: Settings, store: SQLiteStore, profile: Profile) -> Brief:
    return await build_brief(
        settings,
        profile,
        SAMPLE_DATE,
        store=store,
        readers=[f"bench:{profile.name}"],
        sample=True,
        languages=LANGUAGES,
    )


async def run(
    count: int, base_url: str, llm: ChildLLM, tmp: Path, profiler: cProfile.Profile | None
) -> dict[str, float]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        llm_base_url=base_url,
        llm_api_key=KEY,
        sqlite_path=tmp / "s.sqlite3",
    )
    people = readers(count + 1)
    warm_store = await SQLiteStore.open(tmp / "warm.sqlite3")
    c0 = cpu()
    await build(settings, warm_store, people[-1])
    warm_cpu = cpu() - c0
    await warm_store.close()
    llm.reset()
    failed0 = failed_calls()
    # Meter the shared LLM client: its calls run as tasks of their own, timed step by step.
    client = shared_llm(settings)
    assert client is not None
    for name in ("complete_json", "embed"):
        setattr(client, name, _metered(getattr(client, name)))
    asyncio.get_running_loop().set_task_factory(_task_factory)
    METER.llm = 0.0

    store = await SQLiteStore.open(tmp / "day.sqlite3")
    if profiler is not None:
        profiler.enable()
    c0, t0 = cpu(), time.perf_counter()
    # Each brief is let go once built (push delivers it and drops it): what is kept is
    # whether it fell back, so the peak is the builds', not a pile of finished briefs.
    briefs: Sequence[bool | BaseException] = await asyncio.gather(
        *(fell_back_after(build(settings, store, p)) for p in people[:count]),
        return_exceptions=True,
    )
    wall = time.perf_counter() - t0
    used = cpu() - c0
    in_llm = METER.llm
    if profiler is not None:
        profiler.disable()
    await store.close()
    calls, tokens = llm.counts()
    errors = [b for b in briefs if isinstance(b, BaseException)]
    made = [b for b in briefs if isinstance(b, bool)]
    return {
        "wall": wall,
        "calls": calls / count,
        "tokens": tokens / count,
        "cpu": used / count * 1000,
        "llm_cpu": in_llm / count * 1000,
        "warm_cpu": warm_cpu * 1000,
        "failed_calls": failed_calls() - failed0,
        "fell_back": sum(made),
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per fake LLM call")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the run here")
    args = parser.parse_args()
    import openai  # noqa: F401  # the SDK's import (~2 s) is not a reader's cost

    with ChildLLM(args.latency) as llm, tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile() if args.profile else None
        got = asyncio.run(run(args.readers, llm.base_url, llm, Path(tmp), profiler))
        if profiler is not None:
            profiler.dump_stats(args.profile)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.readers} readers, fixture day, fake LLM {args.latency:g} s/call:")
    print(f"  wall                 {got['wall']:.1f} s")
    print(f"  LLM calls / reader   {got['calls']:.2f}")
    print(f"  tokens / reader      {got['tokens']:,.0f}")
    outside = got["cpu"] - got["llm_cpu"]
    print(
        f"  CPU / reader         {outside:.1f} ms outside the LLM client  (all: {got['cpu']:.1f} "
        f"ms, the LLM client {got['llm_cpu']:.1f} ms; warm-up reader {got['warm_cpu']:.0f} ms)"
    )
    print(f"  peak RSS             {peak:.0f} MiB")
    print(f"  LLM calls failed     {got['failed_calls']}  (timed out or erred)")
    print(f"  briefs fell back     {got['fell_back']}  (say so in their LLM note)")
    if got["errors"]:
        print(f"  builds failed        {got['errors']}")


if __name__ == "__main__":
    main()
