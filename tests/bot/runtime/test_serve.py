"""`paperdrop serve`: receivers, the scheduler and one HTTP server in one process, and an
orderly shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.core.profiles import profile_for
from bot.core.reconnect import Backoff
from bot.delivery.deliver import is_delivered
from bot.runtime.serve import MAX_BODY, readiness, start_service, stop_service
from digest.chatstate import put_day_brief
from digest.models import Subscription
from digest.settings import Settings
from digest.store.base import Store
from tests.delivery_helpers import built_brief
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import FakeTelegram
from tests.paths import ROOT
from tests.platform_settings import make_settings, updated
from tests.waiting import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTelegram, FakeSlack]]:
    async with FakeTelegram() as tg, FakeSlack() as slack:
        yield tg, slack


def settings_for(tg: FakeTelegram, slack: FakeSlack, tmp: Path) -> Settings:
    return make_settings(
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
        slack_bot_token=SecretStr(slack.token),
        slack_api_url=slack.base_url,
        slack_signing_secret=SecretStr("slack-signing-secret"),
        http_port=0,
        sqlite_path=tmp / "serve.sqlite3",
        shutdown_grace=2.0,
        # Sources that do not answer: nothing here needs them.
        hf_base_url="http://127.0.0.1:9",
        arxiv_api_url="http://127.0.0.1:9",
        github_api_url="http://127.0.0.1:9",
    )


async def test_one_process_answers_every_platform_and_serves_healthz(
    fakes: tuple[FakeTelegram, FakeSlack], store: Store, tmp_path: Path
) -> None:
    tg, slack = fakes
    stop = asyncio.Event()
    service, task = await start_service(settings_for(tg, slack, tmp_path), store, stop=stop)
    try:
        assert sorted(service.platforms) == ["slack", "telegram"] and service.errors == []
        assert service.address is not None
        base = f"http://{service.address[0]}:{service.address[1]}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200 and (await resp.json()) == {"ok": True}
            # Slack's events are served by the same server; a forged one is refused.
            async with http.post(
                f"{base}/slack/events",
                data=b'{"type":"event_callback"}',
                headers={"X-Slack-Signature": "v0=forged", "X-Slack-Request-Timestamp": "1"},
            ) as resp:
                assert resp.status == 401
        # Telegram long-polls: a user's /help is answered.
        await tg.wait_for_poll()
        tg.user_says(4242, "/help")
        await eventually(lambda: bool(tg.by_chat(4242)))
        assert "/paper" in tg.by_chat(4242)[0].text
    finally:
        stop.set()
        await asyncio.wait_for(stop_service(service, task, grace=2.0), 15)


async def test_a_platform_that_fails_to_start_does_not_keep_the_others_down(
    fakes: tuple[FakeTelegram, FakeSlack], store: Store, tmp_path: Path
) -> None:
    tg, slack = fakes
    broken = updated(settings_for(tg, slack, tmp_path), telegram_token=SecretStr("999:Refused"))
    stop = asyncio.Event()
    service, task = await start_service(broken, store, stop=stop, schedule=False)
    try:
        # A refused token is not tried again; the other platform answers; /readyz names it.
        assert service.connected == ["slack"] and service.refused.keys() == {"telegram"}
        assert len(service.errors) == 1 and service.errors[0].startswith("telegram")
        assert "RefusedTokenValue" not in service.errors[0]
        assert service.boot_tasks == []
        reasons = await readiness(service)
        assert len(reasons) == 1 and reasons[0].startswith("telegram: not started: ")
        assert "PAPERDROP_TELEGRAM_TOKEN" in reasons[0]
    finally:
        stop.set()
        await stop_service(service, task, grace=1.0)


async def test_a_platform_down_at_boot_is_tried_again_until_it_answers(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram unreachable as serve starts (nothing listens on its port yet): serve
    answers the other platforms, /readyz says 503 naming Telegram and why, the log says it
    once; once Telegram is up the receiver connects by itself and answers."""
    port = free_port()
    async with FakeSlack() as slack:
        tg = FakeTelegram(port=port)
        settings = settings_for(tg, slack, tmp_path)
        stop = asyncio.Event()
        caplog.set_level(logging.WARNING)
        service, task = await start_service(
            settings, store, stop=stop, schedule=False, backoff=Backoff(base=0.05, cap=0.2)
        )
        try:
            assert service.connected == ["slack"]
            reasons = await readiness(service)
            [reason] = reasons
            assert reason.startswith("telegram: not connected: ")
            assert service.address is not None
            base = f"http://{service.address[0]}:{service.address[1]}"
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/readyz") as resp:
                    assert resp.status == 503
                    assert (await resp.json())["reasons"] == reasons
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 200  # liveness is not readiness
            await eventually(lambda: service.booting["telegram"].failures >= 3)
            async with tg:  # Telegram comes back
                await eventually(lambda: sorted(service.connected) == ["slack", "telegram"])
                assert await readiness(service) == []
                await tg.wait_for_poll()
                tg.user_says(4242, "/help")
                await eventually(lambda: bool(tg.by_chat(4242)))
                downs = [r for r in caplog.records if "receiver down" in r.getMessage()]
                ups = [r for r in caplog.records if "receiver up again" in r.getMessage()]
                assert len(downs) == 1 and len(ups) == 1  # once per change, not per try
                assert tg.token not in caplog.text
        finally:
            stop.set()
            await asyncio.wait_for(stop_service(service, task, grace=2.0), 15)


async def test_sigterm_stops_serve_in_order_within_seconds(
    fakes: tuple[FakeTelegram, FakeSlack], tmp_path: Path
) -> None:
    tg, _ = fakes
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAPERDROP_", "OPENAI_"))},
        "PAPERDROP_TELEGRAM_TOKEN": tg.token,
        "PAPERDROP_TELEGRAM_API_URL": tg.base_url,
        "PAPERDROP_HTTP_PORT": "0",
        "PAPERDROP_SQLITE_PATH": str(tmp_path / "serve.sqlite3"),
        "PAPERDROP_REDIS_URL": "",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        env=env,
        cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await tg.wait_for_poll(within=60)
        tg.user_says(77, "/help")
        await eventually(lambda: bool(tg.by_chat(77)))  # answered before the stop
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert code == 0, err
    assert "stopping paperdrop serve" in err
    assert tg.token not in err


async def test_the_scheduler_pushes_from_serve(
    fakes: tuple[FakeTelegram, FakeSlack], store: Store, tmp_path: Path
) -> None:
    tg, slack = fakes
    # A chat whose brief is due and already built for today: serve's scheduler sends it.
    settings = settings_for(tg, slack, tmp_path)
    sub = Subscription(platform="telegram", chat_id="31", interests=["agents"], time="00:00")
    await store.save_subscription(sub)
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    await put_day_brief(store, profile_for(sub, settings).key, today, built_brief())
    stop = asyncio.Event()
    service, task = await start_service(settings, store, stop=stop, interval=3600)
    try:
        await eventually(lambda: is_delivered(store, sub, today))
        assert tg.by_chat(31), "the morning brief went out"
    finally:
        stop.set()
        await asyncio.wait_for(stop_service(service, task, grace=2.0), 15)


async def test_webhook_bodies_over_a_megabyte_get_413_on_every_route(
    fakes: tuple[FakeTelegram, FakeSlack], store: Store, tmp_path: Path
) -> None:
    tg, slack = fakes
    settings = updated(
        settings_for(tg, slack, tmp_path),
        telegram_webhook_url="http://127.0.0.1:8443/telegram",
        telegram_webhook_secret=SecretStr("hook-secret"),
        feishu_app_id="cli_fake",
        feishu_app_secret=SecretStr("feishu-secret"),
        feishu_event_mode="http",
        feishu_verification_token=SecretStr("verify-token"),
        feishu_base_url="http://127.0.0.1:9",
    )
    stop = asyncio.Event()
    service, task = await start_service(settings, store, stop=stop, schedule=False)
    try:
        assert service.address is not None
        base = f"http://{service.address[0]}:{service.address[1]}"
        huge = b"x" * (MAX_BODY + 1)
        small = b"{}"
        headers = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
        async with aiohttp.ClientSession() as http:
            for path in ("/telegram", "/slack/events", "/feishu/events"):
                async with http.post(base + path, data=io.BytesIO(huge), headers=headers) as resp:
                    assert resp.status == 413, path
                async with http.post(base + path, data=small, headers=headers) as resp:
                    assert resp.status != 413, path  # a small body is read and judged
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200  # still alive and well
    finally:
        stop.set()
        await asyncio.wait_for(stop_service(service, task, grace=2.0), 15)
