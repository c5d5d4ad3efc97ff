"""What `/paper` costs through the real receive path, and what `serve` holds in memory.

An update goes into a fake Telegram Bot API, paperdrop's receiver long-polls it (the real
python-telegram-bot Application), the conversation answers, and the reply comes out as a
sendMessage: the latency measured is update in -> reply out. Sources (Hugging Face,
arXiv, GitHub) and the LLM are local fakes; the LLM answers after a fixed latency.

Prints:
- p50/p95 latency of `/paper`, cold (first request for a paper) and warm (cached),
  over 200 requests from 200 different chats on 40 distinct papers;
- LLM calls for the first 100 requests (20 distinct papers); target 20: a card costs at
  most one call per (paper, language), whoever asks;
- RSS of an idle `paperdrop serve` process connected to all three platforms (Telegram
  long polling, Slack Socket Mode, the Feishu long connection); target <= 150 MB.

    uv run python bench/commands.py [--latency 0.5] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.platform_settings import make_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from bot.runtime.serve import start_service, stop_service
from digest.store.sqlite import SQLiteStore
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.feishu_server import FakeFeishu
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.slack_server import FakeSlack
from tests.fakes.sources_server import FIXTURE, FakeGitHub, FakeHF
from tests.fakes.telegram_server import FakeTelegram

KEY = "sk-bench"
RSS_TARGET_MB = 150.0
CALLS_TARGET = 20


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18]


async def _reply(tg: FakeTelegram, chat: int, before: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while len(tg.by_chat(chat)) <= before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reply in chat {chat}")
        await asyncio.sleep(0.002)


async def paper_latency(latency: float, requests: int) -> dict[str, Any]:
    ids = [item["paper"]["id"] for item in json.loads(FIXTURE.read_text("utf-8"))][:40]
    tmp = Path(tempfile.mkdtemp(prefix="paperdrop-bench-"))
    async with (
        FakeTelegram() as tg,
        FakeHF() as hf,
        FakeGitHub.for_fixture() as gh,
        FakeLLMServer(api_key=KEY, latency=latency) as llm,
    ):
        with ArxivServer(entries_from_hf_fixture()) as arxiv:
            settings = make_settings(
                telegram_token=SecretStr(tg.token),
                telegram_api_url=tg.base_url,
                hf_base_url=hf.base_url,
                github_api_url=gh.base_url,
                arxiv_api_url=arxiv.url,
                arxiv_delay=0,
                http_retries=0,
                llm_base_url=llm.base_url,
                llm_api_key=SecretStr(KEY),
                http_port=0,
                sqlite_path=tmp / "bench.sqlite3",
            )
            store = await SQLiteStore.open(tmp / "bench.sqlite3")
            stop = asyncio.Event()
            service, task = await start_service(settings, store, stop=stop, schedule=False)
            await tg.wait_for_poll()
            cold: list[float] = []
            warm: list[float] = []
            calls_first_half = 0
            seen: set[str] = set()
            try:
                for n in range(requests):
                    # First half: papers 0-19; second half: papers 20-39.
                    half = 0 if n < requests // 2 else 20
                    pid = ids[half + n % 20]
                    chat = 10_000 + n  # every request from its own chat (no rate limit)
                    before = len(tg.by_chat(chat))
                    start = time.monotonic()
                    tg.user_says(chat, f"/paper {pid}")
                    await _reply(tg, chat, before)
                    took = time.monotonic() - start
                    (warm if pid in seen else cold).append(took)
                    seen.add(pid)
                    if n == requests // 2 - 1:
                        calls_first_half = len(llm.calls)
            finally:
                stop.set()
                await stop_service(service, task, grace=2.0)
                await store.close()
            return {
                "cold": _quantiles(cold),
                "warm": _quantiles(warm),
                "n_cold": len(cold),
                "n_warm": len(warm),
                "calls_first_half": calls_first_half,
                "calls": len(llm.calls),
            }


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def serve_rss() -> tuple[float, list[str]]:
    tmp = Path(tempfile.mkdtemp(prefix="paperdrop-bench-"))
    async with FakeTelegram() as tg, FakeSlack() as slack, FakeFeishu() as fs:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PAPERDROP_", "OPENAI_"))},
            "PAPERDROP_TELEGRAM_TOKEN": tg.token,
            "PAPERDROP_TELEGRAM_API_URL": tg.base_url,
            "PAPERDROP_SLACK_BOT_TOKEN": slack.token,
            "PAPERDROP_SLACK_APP_TOKEN": slack.app_token,
            "PAPERDROP_SLACK_API_URL": slack.base_url,
            "PAPERDROP_FEISHU_APP_ID": fs.app_id,
            "PAPERDROP_FEISHU_APP_SECRET": fs.app_secret,
            "PAPERDROP_FEISHU_BASE_URL": fs.base_url,
            "PAPERDROP_HTTP_PORT": "0",
            "PAPERDROP_SQLITE_PATH": str(tmp / "serve.sqlite3"),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            env=env,
            cwd=str(tmp),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        connected: list[str] = []
        try:
            await asyncio.wait_for(tg.wait_for_poll(within=60), 60)
            connected.append("telegram")
            await asyncio.wait_for(slack.wait_socket(), 60)
            connected.append("slack")
            await asyncio.wait_for(fs.ws_wait_connected(), 60)
            connected.append("feishu")
            await asyncio.sleep(2.0)  # idle
            rss = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
    return rss, connected


async def main(latency: float, requests: int) -> None:
    print(f"/paper through the Telegram receive path, fake LLM at {latency:g} s per call")
    r = await paper_latency(latency, requests)
    print(
        f"  cold (n={r['n_cold']}): p50 {r['cold'][0] * 1000:.0f} ms, "
        f"p95 {r['cold'][1] * 1000:.0f} ms"
    )
    print(
        f"  warm (n={r['n_warm']}): p50 {r['warm'][0] * 1000:.0f} ms, "
        f"p95 {r['warm'][1] * 1000:.0f} ms"
    )
    ok = "ok" if r["calls_first_half"] <= CALLS_TARGET else "MISSED"
    print(
        f"  LLM calls for the first {requests // 2} requests over 20 papers: "
        f"{r['calls_first_half']} (target {CALLS_TARGET}: {ok}); all {requests}: {r['calls']}"
    )
    rss, connected = await serve_rss()
    ok = "ok" if rss <= RSS_TARGET_MB else "MISSED"
    print(
        f"idle `paperdrop serve` connected to {', '.join(connected)}: "
        f"RSS {rss:.0f} MB (target <= {RSS_TARGET_MB:.0f}: {ok})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.5, help="fake LLM seconds per call")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.latency, args.requests))
