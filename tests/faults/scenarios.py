"""The faults a bot must come back from, each played against real `paperdrop` processes.

Each scenario returns an `Outcome`: how long the service took to come back once the fault
was over, and what was lost and what was repeated (both must be 0). The tests in this
folder check them, and what the logs said; bench/faults.py prints them as a table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.core.profiles import profile_for
from bot.platforms.telegram.render import render_telegram
from digest.chatstate import put_day_brief
from digest.models import Subscription
from digest.settings import Settings
from digest.store.redis import RedisStore, make_client
from tests.delivery_helpers import built_brief
from tests.fakes import slack_events as ev
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.slack_server import FakeSlack
from tests.fakes.sources_server import FIXTURE, FakeHF
from tests.fakes.telegram_server import FakeTelegram
from tests.faults.harness import Outcome, PrivateRedis, Proc, base_env, eventually, free_port

__all__ = ["SCENARIOS"]

SLACK_SECRET = "fault-suite-signing-secret"
LLM_KEY = "sk-fault-suite"
PAPERS = ("2605.06663", "2605.06614", "2605.06642", "2605.06702")  # in the HF fixture


def telegram_env(tg: FakeTelegram) -> dict[str, str]:
    return {"PAPERDROP_TELEGRAM_TOKEN": tg.token, "PAPERDROP_TELEGRAM_API_URL": tg.base_url}


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {
        "PAPERDROP_SLACK_BOT_TOKEN": slack.token,
        "PAPERDROP_SLACK_API_URL": slack.base_url,
        "PAPERDROP_SLACK_SIGNING_SECRET": SLACK_SECRET,
    }


async def stop(proc: Proc) -> None:
    """A graceful stop (answers in flight finish), or a kill if it does not come."""
    if not proc.alive:
        return
    proc.signal(signal.SIGTERM)
    try:
        await proc.wait(20)
    except TimeoutError:
        await proc.kill()


async def slack_dm(slack: FakeSlack, serve: Proc, text: str, channel: str) -> float:
    """A Slack user DMs the bot (HTTP mode): seconds until the answer was there."""
    before = len(slack.by_channel(channel))
    event = slack.user_message(text, channel=channel, user="U1")
    started = time.monotonic()
    await slack.deliver(
        serve.base + "/slack/events",
        "events_api",
        ev.event_callback(event),
        signing_secret=SLACK_SECRET,
    )
    await eventually(lambda: len(slack.by_channel(channel)) > before, f"Slack answer in {channel}")
    return time.monotonic() - started


def extra(count: int) -> int:
    return max(count - 1, 0)


# --- a platform down at boot, then up -------------------------------------------------------


async def platform_down_at_boot(tmp: Path) -> Outcome:
    """Telegram unreachable as serve starts: Slack answers meanwhile, /readyz names
    Telegram; once Telegram is up the receiver connects by itself."""
    tg = FakeTelegram(port=free_port())  # nothing listens there yet
    outcome = Outcome("Telegram down at boot, then up", None, 0, 0)
    async with FakeSlack() as slack:
        env = base_env(tmp, **telegram_env(tg), **slack_env(slack))
        serve = await Proc("serve", env, tmp / "serve.log", "--interval", "3600").start()
        try:
            status, body = await serve.get("/readyz")
            reasons = body.get("reasons", []) if isinstance(body, dict) else []
            if status != 503 or not any(r.startswith("telegram: not connected") for r in reasons):
                outcome.notes.append(f"/readyz while Telegram was down: {status} {body}")
            await slack_dm(slack, serve, "help", "D1")
            await eventually(lambda: serve.count("telegram: receiver down") == 1, "said once")
            async with tg:
                outcome.recovered_in = await eventually(serve.ready, "ready once Telegram is up")
                tg.user_says(4242, "/help")
                await eventually(lambda: bool(tg.by_chat(4242)), "Telegram answered")
        finally:
            await stop(serve)
            await tg.close()
        outcome.repeated = extra(len(tg.by_chat(4242))) + extra(len(slack.by_channel("D1")))
    for said in ("telegram: receiver down", "telegram: receiver up again"):
        if serve.count(said) != 1:
            outcome.notes.append(f"{said!r} logged {serve.count(said)} times")
    return outcome


# --- one platform's 5xx storm while the others keep delivering ------------------------------


async def telegram_5xx_storm(tmp: Path) -> Outcome:
    """getUpdates answers 502 three times in a row: Slack keeps answering at once,
    Telegram comes back by itself and answers what it was sent."""
    outcome = Outcome("Telegram 5xx storm, Slack keeps answering", None, 0, 0)
    async with FakeTelegram() as tg, FakeSlack() as slack:
        env = base_env(tmp, **telegram_env(tg), **slack_env(slack))
        serve = await Proc("serve", env, tmp / "serve.log", "--interval", "3600").start()
        try:
            await eventually(serve.ready, "ready")
            await tg.wait_for_poll(within=30)
            tg.fail_next(502, count=3, method="getUpdates")
            tg.user_says(1, "/help")  # wakes the waiting poll; the next three fail
            await eventually(lambda: serve.count("telegram: long polling down") == 1, "down")
            for n in range(3):  # Slack, meanwhile
                took = await slack_dm(slack, serve, "help", f"D{n}")
                outcome.notes.append(f"Slack answered in {took:.2f}s during the storm")
            tg.user_says(2, "/help")  # sent while Telegram fails: answered once it is back
            await eventually(lambda: tg.pending_failures == 0, "the storm over")
            outcome.recovered_in = await eventually(serve.ready, "ready after the storm")
            await eventually(lambda: bool(tg.by_chat(2)), "Telegram answered after the storm")
        finally:
            await stop(serve)
        answers = [len(tg.by_chat(c)) for c in (1, 2)]
        answers += [len(slack.by_channel(f"D{n}")) for n in range(3)]
    outcome.lost = sum(1 for a in answers if a == 0)
    outcome.repeated = sum(extra(a) for a in answers)
    if serve.count("long polling up again") != 1:
        outcome.notes.append("recovery not logged once")
    return outcome


# --- Redis restarting mid-push (a fleet: serve + worker) ------------------------------------


CHATS = 4


async def redis_restart_mid_push(tmp: Path) -> Outcome:
    """serve (scheduler) and a worker share a private Redis (append-only); the morning
    push is under way when Redis crashes; a Telegram user writes meanwhile. Redis comes
    back: every part of every chat arrives once, the message is answered once, and
    neither process exited."""
    outcome = Outcome("Redis crash and restart mid-push (serve + worker)", None, 0, 0)
    async with PrivateRedis(tmp / "redis") as redis, FakeTelegram() as tg:
        env = base_env(
            tmp,
            **telegram_env(tg),
            PAPERDROP_REDIS_URL=redis.url,
            PAPERDROP_QUEUE="true",
            PAPERDROP_WORKER_JOBS="2",
        )
        settings = Settings(_env_file=None, telegram_token=tg.token)  # type: ignore[call-arg]
        brief = built_brief(papers=40)
        subs = [
            # Due from midnight UTC: the push starts whatever the hour the suite runs (at
            # the default 08:00 it waited in vain before 08:00 UTC).
            Subscription(
                platform="telegram", chat_id=str(9000 + i), interests=["agents"], time="00:00"
            )
            for i in range(CHATS)
        ]
        store = RedisStore(make_client(redis.url), prefix="paperdrop:", owns_client=True)
        today = dt.datetime.now(dt.UTC).date()
        for sub in subs:
            await store.save_subscription(sub)
        await put_day_brief(store, profile_for(subs[0], settings).key, today, brief)
        await store.close()
        parts = [m.text for m in render_telegram(brief)]
        worker = await Proc("worker", env, tmp / "worker.log").start()
        serve = await Proc("serve", env, tmp / "serve.log", "--interval", "1").start()
        try:
            await eventually(lambda: len(tg.messages) >= 5, "the push under way")
            await redis.stop(kill=True)
            sent_at_crash = len(tg.messages)
            await eventually(
                lambda: serve.count("down") >= 1 and worker.count("down") >= 1,
                "both processes noticed",
            )
            tg.user_says(77, "/help")  # during the outage: answered once Redis is back
            paused_at = len(tg.messages)
            await redis.start()  # the AOF brings everything back
            started = time.monotonic()
            outcome.recovered_in = await eventually(
                lambda: len(tg.messages) > paused_at, "the first message after the restart"
            )
            await eventually(
                lambda: len(tg.messages) >= CHATS * len(parts) + 1, "the push and /help done"
            )
            outcome.notes.append(
                f"{sent_at_crash} of {CHATS * len(parts)} parts sent when Redis crashed; the "
                f"rest and /help {time.monotonic() - started:.1f} s after it was back "
                "(paced at 1 message/s per chat)"
            )
            if not (serve.alive and worker.alive):
                outcome.notes.append("a process exited")
        finally:
            await stop(serve)
            await stop(worker)
        for sub in subs:
            got = Counter(m.text for m in tg.by_chat(int(sub.chat_id)))
            outcome.lost += sum(1 for p in parts if got[p] == 0)
            outcome.repeated += sum(extra(n) for n in got.values())
        help_answers = len(tg.by_chat(77))
        help_answers -= sum(1 for m in tg.by_chat(77) if m.text.startswith("One moment"))
        outcome.lost += int(help_answers == 0)
        outcome.repeated += extra(help_answers)
    for proc in (serve, worker):
        if "Traceback" in proc.log:
            outcome.notes.append(f"a traceback in the {proc.name}'s log")
        for said in ("store: connection down", "job loop down"):
            if proc.count(said) > 1:
                outcome.notes.append(f"{said!r} said {proc.count(said)} times by {proc.name}")
    return outcome


async def redis_down_at_boot(tmp: Path) -> Outcome:
    """Redis not up yet as serve and a worker start (a host rebooting): both wait for it,
    saying so once, instead of exiting into their supervisor's restart loop; once it is
    up both are ready and a message is answered."""
    outcome = Outcome("Redis down as serve and a worker start", None, 0, 0)
    redis = PrivateRedis(tmp / "redis")
    async with FakeTelegram() as tg:
        env = base_env(
            tmp, **telegram_env(tg), PAPERDROP_REDIS_URL=redis.url, PAPERDROP_QUEUE="true"
        )
        serve = Proc("serve", env, tmp / "serve.log", "--interval", "3600")
        worker = Proc("worker", env, tmp / "worker.log")
        try:
            for proc in (serve, worker):
                await proc.launch()
            await eventually(
                lambda: (
                    serve.count("store: connection down") == 1
                    and worker.count("store: connection down") == 1
                ),
                "both waiting for Redis, said once",
            )
            if not (serve.alive and worker.alive):
                outcome.notes.append("a process exited")
            await redis.start()
            started = time.monotonic()
            for proc in (serve, worker):
                await eventually(proc.ready, f"{proc.name} ready")
            outcome.recovered_in = time.monotonic() - started
            tg.user_says(80, "/help")
            await eventually(lambda: bool(tg.by_chat(80)), "answered")
        finally:
            await stop(serve)
            await stop(worker)
            await redis.stop(kill=True)
        outcome.lost = int(not tg.by_chat(80))
        outcome.repeated = extra(len(tg.by_chat(80)))
    for proc in (serve, worker):
        if proc.count("store: connection up again") != 1:
            outcome.notes.append(f"the {proc.name} did not say once that Redis is back")
    return outcome


# --- the LLM down, failing, answering garbage -------------------------------------------------


def _hf_items_of(day: dt.date) -> list[dict[str, Any]]:
    """The HF fixture, listed on `day` (for /ideas's grounding in today's papers)."""
    items = json.loads(FIXTURE.read_text("utf-8"))
    for item in items:
        item["paper"]["submittedOnDailyAt"] = f"{day.isoformat()}T08:00:00.000Z"
    return items


async def _said(tg: FakeTelegram, chat: int, text: str, **kw: Any) -> str:
    before = len(tg.by_chat(chat))
    tg.user_says(chat, text, **kw)
    await eventually(lambda: len(tg.by_chat(chat)) > before, f"an answer to {text!r}")
    return tg.by_chat(chat)[before].text


async def llm_failing(tmp: Path) -> Outcome:
    """The LLM unreachable, then 500s, garbage, requests over its context, time-outs:
    every command is answered (extractive cards, the abstract's own words, a clear line
    for /ideas), and each kind of failure is one warning in the log, not one per call."""
    outcome = Outcome("LLM down, 500, garbage, context length, timeout", None, 0, 0)
    asked = 0
    texts: list[str] = []
    llm = FakeLLMServer(api_key=LLM_KEY, port=free_port())  # not up yet
    today = dt.datetime.now(dt.UTC).date()
    async with FakeTelegram() as tg, FakeHF(_hf_items_of(today)) as hf:
        env = base_env(
            tmp,
            **telegram_env(tg),
            PAPERDROP_HF_BASE_URL=hf.base_url,
            PAPERDROP_LLM_BASE_URL=llm.base_url,
            PAPERDROP_LLM_API_KEY=LLM_KEY,
            PAPERDROP_LLM_TIMEOUT="0.5",
        )
        serve = await Proc("serve", env, tmp / "serve.log", "--interval", "3600").start()
        try:
            await eventually(serve.ready, "ready")
            # One reader per phase: each may run 6 LLM commands a minute.
            texts.append(await _said(tg, 501, f"/paper {PAPERS[0]}"))  # unreachable
            texts.append(await _said(tg, 501, f"/paper {PAPERS[1]}"))
            async with llm:
                llm.fail_next("500", 1000)
                texts.append(await _said(tg, 502, f"/paper {PAPERS[2]}"))
                texts.append(await _said(tg, 502, "/ideas"))
                llm.clear_failures()
                llm.fail_next("malformed", 1000)  # garbage from now on
                texts.append(await _said(tg, 503, "/ideas agents"))
                texts.append(await _said(tg, 503, f"/paper {PAPERS[3]}"))
                llm.clear_failures()
                llm.context_limit = 10  # every request is over it
                card = tg.by_chat(503)[-1].message_id
                texts.append(await _said(tg, 503, "How is it trained?", reply_to=card))
                texts.append(await _said(tg, 503, "What data does it use?", reply_to=card))
                llm.context_limit = None
                llm.gate = asyncio.Event()  # it stops answering: timeouts
                texts.append(await _said(tg, 504, f"/paper {PAPERS[0]}"))
                texts.append(await _said(tg, 504, f"/paper {PAPERS[2]}"))
                llm.gate.set()
            asked = len(texts)
        finally:
            await stop(serve)
        answers = sum(len(tg.by_chat(c)) for c in (501, 502, 503, 504))
    outcome.lost = max(asked - answers, 0)
    outcome.repeated = max(answers - asked, 0)
    if not any("did not give usable ideas" in t for t in texts):
        outcome.notes.append("/ideas did not say the LLM failed")
    warnings = [line for line in serve.log.splitlines() if "LLM failing" in line]
    outcome.notes.append(f"{len(warnings)} LLM warning(s) for 5 kinds of failure, {asked} commands")
    return outcome


# --- signals --------------------------------------------------------------------------------


async def two_signals_at_once(tmp: Path) -> Outcome:
    """Ctrl-C under `uv run` (SIGINT twice) and a supervisor's SIGTERM to the process
    group: one graceful stop, exit 0, not "abandoned"."""
    outcome = Outcome("two termination signals at once", None, 0, 0)
    async with FakeTelegram() as tg:
        env = base_env(tmp, **telegram_env(tg))
        for pair in ((signal.SIGINT, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)):
            log = tmp / f"serve-{pair[0].name}-{pair[1].name}.log"
            serve = await Proc("serve", env, log, "--interval", "3600").start()
            await eventually(serve.ready, "ready")
            started = time.monotonic()
            serve.signal(pair[0])
            serve.signal(pair[1])
            code = await serve.wait(20)
            took = time.monotonic() - started
            outcome.notes.append(f"{pair[0].name}+{pair[1].name}: exit {code} in {took:.1f}s")
            if code != 0 or "abandoned" in serve.log or serve.count("stopping paperdrop") != 1:
                outcome.lost += 1
                outcome.notes.append(serve.log[-500:])
    return outcome


async def sigkill_while_answering(tmp: Path) -> Outcome:
    """serve is killed (SIGKILL) while /paper waits for the LLM: after a restart the
    update is delivered again (its offset was never confirmed) and answered once."""
    outcome = Outcome("SIGKILL of serve mid-answer, restart", None, 0, 0)
    async with (
        FakeTelegram() as tg,
        FakeHF() as hf,
        FakeLLMServer(api_key=LLM_KEY) as llm,
    ):
        env = base_env(
            tmp,
            **telegram_env(tg),
            PAPERDROP_HF_BASE_URL=hf.base_url,
            PAPERDROP_LLM_BASE_URL=llm.base_url,
            PAPERDROP_LLM_API_KEY=LLM_KEY,
        )
        llm.gate = asyncio.Event()  # the LLM thinks until the test says
        serve = await Proc("serve", env, tmp / "serve.log", "--interval", "3600").start()
        update = tg.user_says(600, f"/paper {PAPERS[0]}")["update_id"]
        await eventually(lambda: llm.in_flight >= 1, "the answer waiting for the LLM")
        await serve.kill()
        again = await Proc("serve", env, tmp / "serve-again.log", "--interval", "3600").start()
        started = time.monotonic()
        llm.gate.set()
        try:
            await eventually(lambda: bool(tg.by_chat(600)), "answered after the restart")
            outcome.recovered_in = time.monotonic() - started
            await eventually(lambda: tg.confirmed_offset > update, "the update confirmed")
        finally:
            await stop(again)
        answers = len(tg.by_chat(600))
    outcome.lost = int(answers == 0)
    outcome.repeated = extra(answers)
    return outcome


# --- an oversized webhook body ------------------------------------------------------------


async def oversized_webhook_body(tmp: Path) -> Outcome:
    """A 2 MB POST to the Telegram webhook gets 413 at once; the next real update is
    answered."""
    outcome = Outcome("2 MB webhook body", None, 0, 0)
    async with FakeTelegram() as tg:
        env = base_env(tmp, **telegram_env(tg))
        serve = Proc("serve", env, tmp / "serve.log", "--interval", "3600")
        serve.env["PAPERDROP_TELEGRAM_WEBHOOK_URL"] = f"{serve.base}/telegram"
        serve.env["PAPERDROP_TELEGRAM_WEBHOOK_SECRET"] = "fault-suite-hook"
        await serve.start()
        try:
            await eventually(serve.ready, "ready")
            headers = {"X-Telegram-Bot-Api-Secret-Token": "fault-suite-hook"}
            async with aiohttp.ClientSession() as http:
                started = time.monotonic()
                async with http.post(
                    f"{serve.base}/telegram", data=io.BytesIO(b"x" * 2_000_000), headers=headers
                ) as resp:
                    status = resp.status
                outcome.notes.append(f"HTTP {status} in {time.monotonic() - started:.2f}s")
            if status != 413:
                outcome.lost += 1
            tg.user_says(700, "/help")
            delivered = await tg.deliver_webhook()
            outcome.recovered_in = await eventually(lambda: bool(tg.by_chat(700)), "answered")
            outcome.lost += int(delivered != 1)
        finally:
            await stop(serve)
        outcome.repeated = extra(len(tg.by_chat(700)))
    return outcome


Scenario = Callable[[Path], Awaitable[Outcome]]
SCENARIOS: dict[str, Scenario] = {
    "platform_down_at_boot": platform_down_at_boot,
    "telegram_5xx_storm": telegram_5xx_storm,
    "redis_restart_mid_push": redis_restart_mid_push,
    "redis_down_at_boot": redis_down_at_boot,
    "llm_failing": llm_failing,
    "two_signals_at_once": two_signals_at_once,
    "sigkill_while_answering": sigkill_while_answering,
    "oversized_webhook_body": oversized_webhook_body,
}
