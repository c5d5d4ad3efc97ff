"""The delivery commands through typer's CliRunner, on a temporary SQLite store."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.main import register_delivery as register
from bot.core.profiles import profile_for
from bot.platforms.feishu.render import render_feishu
from bot.platforms.telegram.render import render_telegram
from digest.chatstate import BRIEF_NS
from digest.models import Subscription
from digest.settings import Settings
from digest.store import SQLiteStore
from tests.delivery_helpers import built_brief
from tests.fakes.telegram_server import FakeTelegram

S = TypeVar("S")
HOOK = "https://open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-secret-token"


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer(pretty_exceptions_enable=False)
    register(cli)
    return cli


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "paperdrop.sqlite3"


@pytest.fixture
def env(db: Path) -> dict[str, str]:
    return {
        "PAPERDROP_SQLITE_PATH": str(db),
        "PAPERDROP_REDIS_URL": "",
        "PAPERDROP_FEISHU_APP_ID": "",
        "PAPERDROP_FEISHU_APP_SECRET": "",
        "PAPERDROP_TELEGRAM_TOKEN": "",
        "PAPERDROP_LANGUAGE": "",
        "COLUMNS": "200",  # rich wraps tables to the terminal width
    }


@pytest.fixture
def invoke(app: typer.Typer, env: dict[str, str]) -> Callable[..., Any]:
    runner = CliRunner()

    def run(*args: str, input: str | None = None, extra: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, list(args), env={**env, **(extra or {})}, input=input)

    return run


def stored(db: Path) -> list[Subscription]:
    async def go() -> list[Subscription]:
        async with await SQLiteStore.open(db) as store:
            return await store.list_subscriptions()

    return asyncio.run(go())


def test_subscribe_and_list(invoke: Callable[..., Any], db: Path) -> None:
    out = invoke(
        "subscribe", "--platform", "telegram", "--chat", "-100123", "--time", "7:30",
        "--tz", "Asia/Shanghai", "--interests", "LLM agents; code models ;", "--lang", "zh",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "subscribed telegram:-100123" in out.output
    (sub,) = stored(db)
    assert (sub.time, sub.tz, sub.language) == ("07:30", "Asia/Shanghai", "zh")
    assert sub.interests == ["LLM agents", "code models"]
    listed = invoke("subscriptions")
    assert listed.exit_code == 0
    assert "-100123" in listed.output and "Asia/Shanghai" in listed.output


def test_webhook_and_secret_are_stored_but_never_shown(
    invoke: Callable[..., Any], db: Path
) -> None:
    out = invoke(
        "subscribe", "--platform", "feishu", "--chat", "team-room", "--webhook", HOOK,
        "--secret", "sign-me-please",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    (sub,) = stored(db)
    assert sub.option("webhook") == HOOK and sub.option("secret") == "sign-me-please"
    listed = invoke("subscriptions")
    assert "secret-token" not in listed.output and "sign-me-please" not in listed.output
    assert "(set)" in listed.output
    assert "secret-token" not in out.output


def test_profile_file_sets_language(invoke: Callable[..., Any], db: Path, tmp_path: Path) -> None:
    profile = tmp_path / "me.toml"
    profile.write_text('name = "me"\nlanguage = "zh"\ninterests = ["agents"]\n', encoding="utf-8")
    out = invoke("subscribe", "--platform", "slack", "--chat", "C0123", "--profile", str(profile))
    assert out.exit_code == 0, out.output
    (sub,) = stored(db)
    assert sub.profile_path == str(profile.resolve()) and sub.language == "zh"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "telegram", "--chat", "1", "--time", "25:00"], "invalid time"),
        (["--platform", "telegram", "--chat", "1", "--tz", "Mars/Base"], "unknown time zone"),
        (["--platform", "telegram", "--chat", "hello world"], "not a telegram chat id"),
        (["--platform", "slack", "--chat", "C1", "--profile", "/nope/x.toml"], "not found"),
        (
            ["--platform", "feishu", "--chat", "x", "--webhook", "http://example.com/hook/abc"],
            "must be an https:// URL",
        ),
        (["--platform", "feishu", "--chat", "oc_1"], "needs --webhook"),
        (["--platform", "feishu", "--chat", "x", "--secret", "s"], "give --webhook too"),
        (
            ["--platform", "slack", "--chat", "C1", "--webhook", HOOK],
            "--webhook is for Feishu only",
        ),
        (
            ["--platform", "slack", "--chat", "C1", "--interests", "a", "--profile", "p.toml"],
            "not both",
        ),
        (["--platform", "slack", "--chat", "C1", "--interests", " ; "], "at least one phrase"),
        (["--platform", "irc", "--chat", "C1"], "irc"),
    ],
)
def test_subscribe_usage_errors_exit_2(
    invoke: Callable[..., Any], db: Path, args: list[str], message: str
) -> None:
    out = invoke("subscribe", *args)
    assert out.exit_code == 2, out.output
    assert message in out.output
    assert "example.com/hook/abc" not in out.output  # a webhook URL is never echoed
    assert not db.exists() or stored(db) == []


def test_feishu_app_mode_needs_credentials_only(invoke: Callable[..., Any], db: Path) -> None:
    out = invoke(
        "subscribe", "--platform", "feishu", "--chat", "oc_1",
        extra={"PAPERDROP_FEISHU_APP_ID": "cli_a", "PAPERDROP_FEISHU_APP_SECRET": "s"},
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert stored(db)[0].options == {}


def test_loopback_http_webhook_allowed_for_tests(invoke: Callable[..., Any]) -> None:
    out = invoke(
        "subscribe", "--platform", "feishu", "--chat", "local",
        "--webhook", "http://127.0.0.1:8080/open-apis/bot/v2/hook/t",
    )  # fmt: skip
    assert out.exit_code == 0, out.output


def test_unsubscribe(invoke: Callable[..., Any], db: Path) -> None:
    assert (
        invoke("subscribe", "--platform", "slack", "--chat", "C9", "--interests", "a").exit_code
        == 0
    )
    out = invoke("unsubscribe", "--platform", "slack", "--chat", "C9")
    assert out.exit_code == 0 and stored(db) == []
    # An unknown chat is bad input: exit 2, like every usage error.
    again = invoke("unsubscribe", "--platform", "slack", "--chat", "C9")
    assert again.exit_code == 2 and "no subscription for slack:C9" in again.output


def test_render_reads_a_file_or_stdin(invoke: Callable[..., Any], tmp_path: Path) -> None:
    brief = built_brief()
    path = tmp_path / "brief.json"
    path.write_text(brief.model_dump_json(), encoding="utf-8")
    out = invoke("render", "--platform", "telegram", "--input", str(path))
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == [m.payload for m in render_telegram(brief)]
    piped = invoke("render", "--platform", "feishu", "--mode", "app", input=brief.model_dump_json())
    assert piped.exit_code == 0
    assert json.loads(piped.stdout) == [m.payload for m in render_feishu(brief, mode="app")]
    threads = invoke("render", "--platform", "slack", "--threads", "--input", str(path))
    assert threads.exit_code == 0 and len(json.loads(threads.stdout)) > 1


@pytest.mark.parametrize("text", ["", "{not json", '{"date": "2026-05-31"}'])
def test_render_bad_input_exit_2(invoke: Callable[..., Any], text: str) -> None:
    out = invoke("render", "--platform", "slack", input=text)
    assert out.exit_code == 2
    assert "error:" in out.output and len(out.output.strip().splitlines()) == 1


# --- push and serve against a fake Telegram (running on its own loop) -------------------


@contextmanager
def fake_telegram_in_thread() -> Iterator[FakeTelegram]:
    """The CLI runs its own asyncio.run, so the fake serves from another thread's loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeTelegram()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def cache_brief(db: Path, sub: Subscription, day: dt.date) -> list[str]:
    """Put the day's brief in the store, as an earlier (interrupted) push would have."""
    brief = built_brief(papers=4).model_copy(update={"date": day})
    key = f"{profile_for(sub, Settings(_env_file=None)).key}|{day.isoformat()}"  # type: ignore[call-arg]

    async def go() -> None:
        async with await SQLiteStore.open(db) as store:
            await store.cache_set(BRIEF_NS, key, brief.model_dump_json())

    asyncio.run(go())
    return [m.text for m in render_telegram(brief)]


def test_push_dry_run_then_real_then_nothing_twice(invoke: Callable[..., Any], db: Path) -> None:
    day = dt.date(2026, 5, 31)
    with fake_telegram_in_thread() as tg:
        extra = {"PAPERDROP_TELEGRAM_TOKEN": tg.token, "PAPERDROP_TELEGRAM_API_URL": tg.base_url}
        sub_out = invoke(
            "subscribe", "--platform", "telegram", "--chat", "4242", "--interests", "agents"
        )
        assert sub_out.exit_code == 0
        expected = cache_brief(db, stored(db)[0], day)

        dry = invoke("push", "--date", day.isoformat(), "--dry-run", extra=extra)
        assert dry.exit_code == 0, dry.output
        assert "telegram:4242" in dry.output and "dry run" in dry.output
        # The dry run shows the messages themselves, and sends none.
        assert all(text in dry.stdout for text in expected[:1])
        assert tg.messages == []

        real = invoke("push", "--date", day.isoformat(), extra=extra)
        assert real.exit_code == 0, real.output
        assert [m.text for m in tg.by_chat(4242)] == expected
        assert "1/1 chat(s) complete" in real.output

        again = invoke("push", "--date", day.isoformat(), "--chat", "4242", extra=extra)
        assert again.exit_code == 0 and "0 message(s) sent" in again.output
        assert len(tg.by_chat(4242)) == len(expected)
        assert tg.token not in real.output + again.output


def test_push_reports_failure_with_exit_1(invoke: Callable[..., Any], db: Path) -> None:
    day = dt.date(2026, 5, 31)
    with fake_telegram_in_thread() as tg:
        extra = {"PAPERDROP_TELEGRAM_TOKEN": tg.token, "PAPERDROP_TELEGRAM_API_URL": tg.base_url}
        invoke("subscribe", "--platform", "telegram", "--chat", "777", "--interests", "agents")
        cache_brief(db, stored(db)[0], day)
        tg.block_chat(777)
        out = invoke("push", "--date", day.isoformat(), extra=extra)
    assert out.exit_code == 1
    assert "gone" in out.output
    (sub,) = stored(db)
    assert not sub.active and sub.inactive_reason and "blocked" in sub.inactive_reason
    listed = invoke("subscriptions")
    assert "no: " in listed.output


def test_push_usage_errors(invoke: Callable[..., Any]) -> None:
    bad = invoke("push", "--date", "31/05/2026")
    assert bad.exit_code == 2 and "invalid date" in bad.output
    none = invoke("push", "--chat", "nobody", "--dry-run")
    assert none.exit_code == 2 and "no active subscription for chat nobody" in none.output


def test_serve_once_takes_the_lock_and_reports(invoke: Callable[..., Any]) -> None:
    out = invoke("serve", "--once")
    assert out.exit_code == 0, out.output
    assert "leader: 0 chat(s) due" in out.output
    # The lock was released on the way out: a second run leads again.
    assert "leader: 0" in invoke("serve", "--once").output


def test_status_lists_chats_and_their_state_as_a_table_or_json(
    invoke: Callable[..., Any], db: Path
) -> None:
    assert (
        invoke("subscribe", "--platform", "slack", "--chat", "C1", "--time", "00:00").exit_code == 0
    )
    assert (
        invoke("subscribe", "--platform", "slack", "--chat", "C2", "--time", "23:59").exit_code == 0
    )
    table = invoke("status")
    assert table.exit_code == 0, table.output
    assert "slack:C1" in table.output and "queue: none" in table.output
    out = invoke("status", "--format", "json")
    data = json.loads(out.stdout)
    states = {row["chat"]: row["state"] for row in data["chats"]}
    assert set(states) == {"slack:C1", "slack:C2"}
    assert states["slack:C1"] in ("due", "scheduled") and data["summary"]["chats"] == 2


def test_platform_options_by_option_and_by_the_adapter_s_flags(
    invoke: Callable[..., Any], db: Path
) -> None:
    out = invoke(
        "subscribe", "--platform", "feishu", "--chat", "by-option",
        "--option", f"webhook={HOOK}", "--option", "secret=sign-me-please",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    flags = invoke(
        "subscribe", "--platform", "feishu", "--chat", "by-flag", f"--webhook={HOOK}",
        "--secret", "sign-me-please",
    )  # fmt: skip
    assert flags.exit_code == 0, flags.output
    by_option, by_flag = sorted(stored(db), key=lambda s: s.chat_id)
    assert by_option.options == by_flag.options
    assert by_flag.option("webhook") == HOOK and by_flag.option("secret") == "sign-me-please"
    listed = invoke("subscriptions")
    assert listed.output.count("(set)") == 4  # both options of both chats, masked
    assert "secret-token" not in listed.output and "sign-me-please" not in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "telegram", "--chat", "1", "--option", "webhook=x"], "Telegram takes no"),
        (["--platform", "feishu", "--chat", "x", "--option", "color=red"], "takes no option color"),
        (["--platform", "feishu", "--chat", "x", "--option", "webhook"], "NAME=VALUE"),
        (["--platform", "feishu", "--chat", "x", "--webhook"], "--webhook needs a value"),
        (["--platform", "slack", "--chat", "C1", "--colour", "red"], "no such option: --colour"),
        (["--platform", "slack", "--chat", "C1", "stray-s3cret"], "unexpected argument"),
    ],
)
def test_bad_platform_options_exit_2_without_echoing_values(
    invoke: Callable[..., Any], db: Path, args: list[str], message: str
) -> None:
    out = invoke("subscribe", *args)
    assert out.exit_code == 2, out.output
    assert message in out.output and "stray-s3cret" not in out.output
    assert not db.exists() or stored(db) == []


def test_render_mode_is_the_platform_s_own(invoke: Callable[..., Any]) -> None:
    brief = built_brief().model_dump_json()
    hook = invoke("render", "--platform", "feishu", input=brief)  # the default: webhook
    assert json.loads(hook.stdout) == [m.payload for m in render_feishu(built_brief())]
    out = invoke("render", "--platform", "telegram", "--mode", "app", input=brief)
    assert out.exit_code == 2 and "Telegram renders as none" in out.output
    out = invoke("render", "--platform", "feishu", "--mode", "fax", input=brief)
    assert out.exit_code == 2 and "webhook|app" in out.output


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PAPERDROP_FEISHU_EVENT_MODE", "carrier-pigeon"), ("PAPERDROP_HTTP_PORT", "eighty")],
)
def test_a_bad_setting_names_its_variable_core_or_platform(
    invoke: Callable[..., Any], variable: str, value: str
) -> None:
    out = invoke("subscriptions", extra={variable: value})
    assert out.exit_code == 2
    assert f"bad setting {variable}:" in out.output and value not in out.output
