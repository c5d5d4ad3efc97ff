"""Shared helpers of the delivery tests: virtual time and window checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
from collections.abc import Sequence

from pydantic import SecretStr

from bot.core.ratelimit import RateKeys
from bot.platforms import adapter
from digest.models import Brief, PaperItem, PaperLinks, Section, SourceItem, Subscription

# Loop turns that let every runnable task reach its next await before time moves on.
_SETTLE_TURNS = 50


class VirtualClock:
    """Virtual time for asyncio tests: nothing waits on the wall clock.

    `sleep(d)` parks the task until virtual time reaches now + d. Time moves only when
    every other task has had the chance to run (a few loop turns), and then jumps to the
    earliest wake-up, so concurrent sleepers overlap as they would in real time.
    `sleeps` records every request.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + seconds, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            if not self._heap:
                break
            when = self._heap[0][0]
            self.now = max(self.now, when)
            while self._heap and self._heap[0][0] <= when:
                _, _, fut = heapq.heappop(self._heap)
                if not fut.done():
                    fut.set_result(None)


def max_in_window(instants: Sequence[float], period: float) -> int:
    """The largest number of instants inside any half-open window of `period` seconds."""
    ts = sorted(instants)
    best = 0
    j = 0
    for i, t in enumerate(ts):
        while ts[j] <= t - period + 1e-6:
            j += 1
        best = max(best, i - j + 1)
    return best


def built_brief(papers: int = 12, language: str = "en") -> Brief:
    """A brief with enough text that platforms split it (more papers: more messages).

    The text holds what must stay data: markup characters, a mass mention, an emoji.
    """
    day = dt.date(2026, 5, 31)
    items: list[PaperItem] = []
    for i in range(papers):
        pid = f"2605.{10000 + i}"
        items.append(
            PaperItem(
                paper_id=pid,
                title=f"Paper {i}: agents <b>that</b> plan & act @channel <!here> 🚀",
                authors=["A. Author", "B. Author"],
                links=PaperLinks(
                    abs=f"https://arxiv.org/abs/{pid}", pdf=f"https://arxiv.org/pdf/{pid}"
                ),
                date=day,
                category="LLM Agent",
                upvotes=10 + i,
                contribution="A method that " + "plans and verifies each step; " * 25,
                why="It matters because " + "the results hold across benchmarks; " * 20,
                relation="Relevant to your interest in agents.",
                matched=["LLM agents"],
            )
        )
    return Brief(
        date=day,
        language=language,  # type: ignore[arg-type]
        reader="tester",
        title="AI research brief · 2026-05-31 · tester",
        overview="Agents everywhere today.",
        mode="extractive",
        generated_at=dt.datetime(2026, 5, 31, 6, 0, tzinfo=dt.UTC),
        window_start=day,
        window_end=day,
        sections=[
            Section(kind="top_picks", title="Top picks", items=items[:5]),
            Section(kind="others", title="Also worth a glance", items=items[5:]),
            Section(
                kind="sources",
                title="Sources",
                items=[SourceItem(source="Hugging Face", status="ok", detail="12 papers")],
            ),
        ],
    )


def reference_or_built_brief() -> Brief:
    """The renderers' reference brief when it exists, else `built_brief()`."""
    try:
        from tests.fixtures_reference import reference_brief  # type: ignore[import-not-found]
    except ImportError:
        return built_brief()
    brief: Brief = reference_brief()
    return brief


def limits_for(platform: str, chat_id: str, *, feishu_mode: str = "app") -> RateKeys:
    """The windows a send to this chat counts against, as its platform's adapter says (a
    Feishu custom-bot subscription with `feishu_mode="webhook"`)."""
    hook = {"webhook": SecretStr("https://hook.invalid/x")} if feishu_mode == "webhook" else {}
    sub = Subscription(platform=platform, chat_id=chat_id, options=hook)
    return adapter(platform).rate_keys(sub)
