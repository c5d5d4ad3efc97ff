"""`serve` for its operator: GET /metrics (Prometheus) counts what the real code did, and
GET /readyz says whether this process should get traffic (Store and receivers)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.core.observability import REGISTRY
from bot.core.profiles import profile_for
from bot.delivery.deliver import is_delivered
from bot.platforms.telegram.send import TelegramSender
from bot.runtime.scheduler import Scheduler
from bot.runtime.serve import Service, readiness, start_service, stop_service
from digest.chatstate import put_day_brief
from digest.models import Brief, Language, Subscription
from digest.profile import Profile
from digest.settings import Settings
from digest.store.base import Store
from tests.delivery_helpers import built_brief
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings
from tests.waiting import eventually

Labels = dict[str, str]


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def settings_for(tg: FakeTelegram, tmp: Path) -> Settings:
    return make_settings(
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
        http_port=0,
        sqlite_path=tmp / "serve.sqlite3",
        shutdown_grace=2.0,
        hf_base_url="http://127.0.0.1:9",
        arxiv_api_url="http://127.0.0.1:9",
        github_api_url="http://127.0.0.1:9",
    )


def sample(name: str, labels: Labels | None = None) -> float:
    """The registry's current value (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def scraped(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


class Running:
    """A started `serve` (no scheduler unless asked) and its base URL."""

    def __init__(self, service: Service, task: asyncio.Task[Any] | None, stop: asyncio.Event):
        self.service, self.task, self.stop = service, task, stop
        assert service.address is not None
        self.base = f"http://{service.address[0]}:{service.address[1]}"

    async def get(self, path: str) -> tuple[int, str, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()

    async def get_json(self, path: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def serving(
    tg: FakeTelegram, store: Store, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    started: list[Running] = []
    senders: list[TelegramSender] = []

    async def start(*, schedule: bool = False, interval: float = 3600) -> Running:
        settings = settings_for(tg, tmp_path)
        # serve's own sender, but 429s are waited out on no time at all.
        sender = TelegramSender(settings, sleep=no_sleep)
        senders.append(sender)
        stop = asyncio.Event()
        service, task = await start_service(
            settings,
            store,
            stop=stop,
            schedule=schedule,
            interval=interval,
            senders={"telegram": sender},
        )
        running = Running(service, task, stop)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop.set()
        await asyncio.wait_for(stop_service(running.service, running.task, grace=2.0), 15)


# --- /metrics ------------------------------------------------------------------------------


async def test_metrics_count_a_command_a_429_and_the_message_sent(
    tg: FakeTelegram, serving: Callable[..., Awaitable[Running]]
) -> None:
    help_ok = {"command": "help", "outcome": "ok"}
    sent_ok = {"platform": "telegram", "kind": "answer", "outcome": "ok"}
    telegram = {"platform": "telegram"}
    before = {
        "commands": sample("paperdrop_commands_total", help_ok),
        "latency": sample("paperdrop_command_seconds_count", {"command": "help"}),
        "sent": sample("paperdrop_messages_sent_total", sent_ok),
        "waits": sample("paperdrop_rate_limit_waits_total", telegram),
        "waited": sample("paperdrop_rate_limit_wait_seconds_total", telegram),
        "events": sample("paperdrop_events_total", {"platform": "telegram", "kind": "message"}),
    }
    bot = await serving()
    await tg.wait_for_poll()
    tg.fail_next(429, retry_after=3, chat=4242)  # the answer is rate limited once
    tg.user_says(4242, "/help")
    await eventually(lambda: bool(tg.by_chat(4242)))
    assert "/paper" in tg.by_chat(4242)[0].text

    status, content_type, text = await bot.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    metrics = scraped(text)
    assert value(metrics, "paperdrop_commands_total", **help_ok) == before["commands"] + 1
    assert (
        value(metrics, "paperdrop_command_seconds_count", command="help") == before["latency"] + 1
    )
    assert value(metrics, "paperdrop_messages_sent_total", **sent_ok) >= before["sent"] + 1
    assert value(metrics, "paperdrop_rate_limit_waits_total", **telegram) == before["waits"] + 1
    waited = value(metrics, "paperdrop_rate_limit_wait_seconds_total", **telegram)
    assert waited - before["waited"] == pytest.approx(3)
    assert value(metrics, "paperdrop_events_total", platform="telegram", kind="message") == (
        before["events"] + 1
    )
    assert value(metrics, "paperdrop_receiver_running", platform="telegram") == 1
    assert any(name == "paperdrop_build_info" for name, _ in metrics)
    assert any(name == "process_resident_memory_bytes" for name, _ in metrics)
    # Labels are bounded: no chat id, no user text in any series.
    assert "4242" not in "".join(str(labels) for _, labels in metrics)


async def test_metrics_count_the_schedulers_push(
    tg: FakeTelegram, store: Store, serving: Callable[..., Awaitable[Running]], tmp_path: Path
) -> None:
    settings = settings_for(tg, tmp_path)
    sub = Subscription(platform="telegram", chat_id="31", interests=["agents"], time="00:00")
    await store.save_subscription(sub)
    today = dt.datetime.now(dt.UTC).date()
    await put_day_brief(store, profile_for(sub, settings).key, today, built_brief())
    delivered = {"platform": "telegram", "outcome": "delivered"}
    before = {
        "chats": sample("paperdrop_push_chats_total", delivered),
        "parts": sample("paperdrop_brief_parts_total", {"platform": "telegram", "outcome": "sent"}),
        "reused": sample("paperdrop_briefs_total", {"outcome": "reused"}),
        "pushes": sample("paperdrop_pushes_total", {"outcome": "ok"}),
        "ticks": sample("paperdrop_scheduler_ticks_total", {"role": "leader"}),
    }
    bot = await serving(schedule=True)
    await eventually(lambda: is_delivered(store, sub, today))
    await eventually(
        lambda: sample("paperdrop_scheduler_ticks_total", {"role": "leader"}) > before["ticks"]
    )

    _, _, text = await bot.get("/metrics")
    metrics = scraped(text)
    parts = len(tg.by_chat(31))
    assert parts >= 1
    assert value(metrics, "paperdrop_push_chats_total", **delivered) == before["chats"] + 1
    assert value(metrics, "paperdrop_brief_parts_total", platform="telegram", outcome="sent") == (
        before["parts"] + parts
    )
    assert value(metrics, "paperdrop_briefs_total", outcome="reused") == before["reused"] + 1
    assert value(metrics, "paperdrop_pushes_total", outcome="ok") == before["pushes"] + 1
    assert value(metrics, "paperdrop_scheduler_leader") == 1
    assert value(metrics, "paperdrop_scheduler_last_tick_timestamp_seconds") > 0


async def test_each_brief_build_is_timed(tg: FakeTelegram, store: Store, tmp_path: Path) -> None:
    settings = settings_for(tg, tmp_path)
    sub = Subscription(platform="telegram", chat_id="32", interests=["agents"], tz="UTC")
    await store.save_subscription(sub)
    built: list[dt.date] = []

    async def builder(
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = (),
        languages: Collection[Language] | None = None,
    ) -> Brief:  # an old-style builder: it takes no `languages`
        built.append(day)
        return built_brief(papers=2).model_copy(update={"date": day})

    ok = {"outcome": "ok"}
    before = sample("paperdrop_brief_build_seconds_count", ok)
    sender = TelegramSender(settings, sleep=no_sleep)
    try:
        scheduler = Scheduler(settings, store, builder=builder, senders={"telegram": sender})
        report = await scheduler.run_once(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC))
    finally:
        await sender.aclose()
    assert built == [dt.date(2026, 6, 1)] and report.pushes[0].briefs_built == 1
    assert sample("paperdrop_brief_build_seconds_count", ok) == before + 1
    assert sample("paperdrop_briefs_total", {"outcome": "built"}) >= 1


# --- /readyz -------------------------------------------------------------------------------


async def test_readyz_is_200_when_the_store_answers_and_503_once_it_is_closed(
    store: Store, serving: Callable[..., Awaitable[Running]]
) -> None:
    bot = await serving()
    status, body = await bot.get_json("/readyz")
    assert status == 200 and body == {"ok": True, "platforms": ["telegram"]}
    status, _, _ = await bot.get("/healthz")
    assert status == 200
    await store.close()
    status, body = await bot.get_json("/readyz")
    assert status == 503 and body["ok"] is False
    [reason] = body["reasons"]
    assert reason.startswith("store: StoreError")
    status, _, _ = await bot.get("/healthz")
    assert status == 200  # alive all the same: readiness is not liveness


async def test_readyz_is_503_when_a_receiver_stopped(
    serving: Callable[..., Awaitable[Running]],
) -> None:
    bot = await serving()
    [receiver] = bot.service.receivers
    assert getattr(receiver, "running", None) is True
    await receiver.stop()
    status, body = await bot.get_json("/readyz")
    assert status == 503 and body["reasons"] == ["telegram: not connected: stopped"]
    _, _, text = await bot.get("/metrics")
    assert value(scraped(text), "paperdrop_receiver_running", platform="telegram") == 0


async def test_not_ready_from_the_moment_shutdown_begins(
    serving: Callable[..., Awaitable[Running]],
) -> None:
    bot = await serving()
    assert await readiness(bot.service) == []
    bot.stop.set()
    await stop_service(bot.service, bot.task, grace=1.0)
    assert "shutting down" in await readiness(bot.service)
