"""The `paperdrop` command line's conventions, through typer's CliRunner: `--version`,
`-h`, `-v` after the command, help without type placeholders on flags and with defaults
shown, bad input exiting 2 with one clean line, and a first run with nothing configured
(the sample, a push preview, the warnings that say what is missing)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.common import Progress, clean_message
from bot.cli.reading import sample_hint
from digest.models import Brief, SourceItem
from digest.pipeline import NoBrief
from tests.fakes.sources_server import FakeHF
from tests.fakes.threaded import in_thread

COMMANDS = [
    "brief", "paper", "ideas", "subscribe", "unsubscribe", "subscriptions", "push", "serve",
    "render",
]  # fmt: skip
CLOSED = "http://127.0.0.1:9"  # nothing listens: any request fails at once


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return {
        "PAPERDROP_SQLITE_PATH": str(tmp_path / "store.sqlite3"),
        "PAPERDROP_REDIS_URL": "",
        "PAPERDROP_LLM_API_KEY": None,
        "OPENAI_API_KEY": None,
        "PAPERDROP_LANGUAGE": None,
        "PAPERDROP_PROFILE_PATH": None,
        "PAPERDROP_TELEGRAM_TOKEN": None,
        "PAPERDROP_SLACK_BOT_TOKEN": None,
        "PAPERDROP_FEISHU_APP_ID": None,
        "PAPERDROP_FEISHU_APP_SECRET": None,
        # The sample and the previews must not touch the network.
        "PAPERDROP_HF_BASE_URL": CLOSED,
        "PAPERDROP_GITHUB_API_URL": CLOSED,
        "PAPERDROP_ARXIV_API_URL": CLOSED,
        "PAPERDROP_HTTP_RETRIES": "0",
        "PAPERDROP_ARXIV_DELAY": "0",
        "COLUMNS": "200",  # rich wraps help and tables to the terminal width
    }


@pytest.fixture
def run(env: dict[str, str | None]) -> Iterator[Callable[..., Any]]:
    def invoke(*args: str, **extra: str | None) -> Any:
        return CliRunner().invoke(app, list(args), env={**env, **extra})

    yield invoke
    logging.getLogger().setLevel(logging.WARNING)


def test_version(run: Callable[..., Any]) -> None:
    out = run("--version")
    assert out.exit_code == 0
    assert out.stdout.strip() == f"paperdrop {version('paperdrop')}"


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_h_is_help_and_flags_have_no_type(run: Callable[..., Any], command: str) -> None:
    args = [command] if command else []
    short, long = run(*args, "-h"), run(*args, "--help")
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout and "Usage: paperdrop" in short.stdout
    assert "<bool>" not in short.stdout
    assert "--verbose" in short.stdout and "-v" in short.stdout


def test_help_shows_defaults_and_capital_arguments(run: Callable[..., Any]) -> None:
    brief = run("brief", "-h").stdout
    assert "YYYY-MM-DD" in brief and "today, UTC" in brief
    assert "the profile's" in brief and "markdown|json|html" in brief
    assert "today, UTC" in run("push", "-h").stdout
    paper = run("paper", "-h").stdout
    assert "PAPER_ID" in paper and "paper_id" not in paper
    ideas = run("ideas", "-h").stdout
    assert "[TOPIC]" in ideas and "[topic]" not in ideas
    subscribe = run("subscribe", "-h").stdout
    assert "HH:MM" in subscribe and "08:00" in subscribe and "ZONE" in subscribe


def test_verbose_before_or_after_the_command(run: Callable[..., Any]) -> None:
    root = logging.getLogger()
    for args in (("-v", "subscriptions"), ("subscriptions", "-v"), ("subscriptions", "--verbose")):
        assert run(*args).exit_code == 0
        assert root.level == logging.INFO, args
        assert run("subscriptions").exit_code == 0
        assert root.level == logging.WARNING  # each run sets it afresh


def bad_profile(tmp_path: Path) -> str:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\ninterests = ["a"]\ncategories = ["cs CL!"]\n', "utf-8")
    return str(path)


BAD_INPUT: list[tuple[list[str], dict[str, str], str]] = [
    (["brief", "--date", "31/05/2026"], {}, "invalid date"),
    (["brief", "--date", "2999-01-01"], {}, "in the future"),
    (["brief", "--format", "xml"], {}, "xml"),
    (["brief", "--lang", "fr"], {}, "fr"),
    (["brief", "--sample", "--date", "2026-05-08"], {}, "drop --date"),
    (["brief", "--profile", "/nope/me.toml"], {}, "not found"),
    (["brief", "--profile", "BAD"], {}, "not arXiv categories"),
    (["brief", "--sample"], {"PAPERDROP_HTTP_RETRIES": "99"}, "PAPERDROP_HTTP_RETRIES"),
    (["paper", "not-an-id"], {}, "is not an arXiv id"),
    (["paper"], {}, "PAPER_ID"),
    (["unsubscribe", "--platform", "slack", "--chat", "C404"], {}, "no subscription"),
    (["push", "--chat", "nobody", "--dry-run"], {}, "no active subscription for chat nobody"),
    (["push", "--sample"], {}, "add --dry-run"),
    (["push", "--dry-run", "--sample", "--date", "2026-05-08"], {}, "drop --date"),
    (["subscribe", "--platform", "telegram", "--chat", "1", "--tz", "Mars/Base"], {}, "time zone"),
    (
        ["render", "--platform", "slack", "--input", "/nope.json"],
        {},
        "cannot read /nope.json: there is no such file",
    ),
    (["serve", "--interval", "0"], {}, "interval"),
    (["nonsense"], {}, "nonsense"),
]


@pytest.mark.parametrize(("args", "extra", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_clean_line(
    run: Callable[..., Any], tmp_path: Path, args: list[str], extra: dict[str, str], message: str
) -> None:
    args = [bad_profile(tmp_path) if a == "BAD" else a for a in args]
    out = run(*args, **extra)
    assert out.exit_code == 2, out.output
    assert message in out.output
    assert "Traceback" not in out.output
    # pydantic's prefix for a validator's message never reaches the reader.
    assert "Value error" not in out.output and "Assertion failed" not in out.output


def test_clean_message() -> None:
    assert clean_message("profile p: categories: Value error, not arXiv categories: x") == (
        "profile p: categories: not arXiv categories: x"
    )
    assert clean_message("two\nlines") == "two lines"


def test_subscribe_warns_when_the_platform_token_is_missing(run: Callable[..., Any]) -> None:
    out = run("subscribe", "--platform", "telegram", "--chat", "4242", "--interests", "agents")
    assert out.exit_code == 0, out.output
    assert "warning:" in out.stderr and "PAPERDROP_TELEGRAM_TOKEN" in out.stderr
    assert "subscribed telegram:4242" in out.stdout
    slack = run("subscribe", "--platform", "slack", "--chat", "C0123", "--interests", "agents")
    assert "PAPERDROP_SLACK_BOT_TOKEN" in slack.stderr
    token = run(
        "subscribe", "--platform", "telegram", "--chat", "4243", "--interests", "agents",
        PAPERDROP_TELEGRAM_TOKEN="123:abc",
    )  # fmt: skip
    assert token.exit_code == 0 and "warning" not in token.stderr
    hook = run(
        "subscribe", "--platform", "feishu", "--chat", "team",
        "--webhook", "https://open.feishu.cn/open-apis/bot/v2/hook/x",
    )  # fmt: skip
    assert hook.exit_code == 0 and "warning" not in hook.stderr  # a webhook needs no app


def test_push_preview_with_nothing_configured(run: Callable[..., Any]) -> None:
    out = run("push", "--dry-run", "--sample")
    assert out.exit_code == 0, out.output
    # No subscription yet: the sample as each platform would show it, and what to do next.
    for platform in ("Telegram", "Slack", "Feishu"):
        assert re.search(rf"^{platform} · \d+ message\(s\)", out.stdout, re.M), platform
    assert out.stdout.count("2026-05-08 AI 研究简报") >= 3  # the sample is Chinese
    assert "nothing was sent" in out.stdout and "paperdrop subscribe" in out.stdout
    assert "Traceback" not in out.output


def test_push_preview_of_a_subscription(run: Callable[..., Any]) -> None:
    assert (
        run(
            "subscribe", "--platform", "telegram", "--chat", "4242", "--interests",
            "LLM agents; agent memory", "--lang", "en",
        ).exit_code
        == 0
    )  # fmt: skip
    out = run("push", "--dry-run", "--sample")
    assert out.exit_code == 0, out.output
    assert re.search(r"^telegram:4242 · \d+ message\(s\)", out.stdout, re.M)
    assert "AI research brief · 2026-05-08" in out.stdout
    assert "dry run" in out.stdout and "offline sample" in out.stdout
    # Without a token the real push would fail there: the dry run says so.
    assert "PAPERDROP_TELEGRAM_TOKEN" in out.stderr and "would fail" in out.stderr


def test_push_with_no_subscription_says_what_to_do(run: Callable[..., Any]) -> None:
    out = run("push")
    assert out.exit_code == 0
    assert "paperdrop subscribe" in out.stdout and "--dry-run --sample" in out.stdout


def test_brief_sample_as_a_web_page_to_a_file(run: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "brief.html"
    out = run("brief", "--sample", "--lang", "en", "--format", "html", "-o", str(path))
    assert out.exit_code == 0, out.output
    assert out.stdout == "" and f"wrote {path}" in out.stderr
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<table class="glance">' in page
    assert "AI research brief · 2026-05-08" in page


def test_brief_sample_json_is_the_model(run: Callable[..., Any]) -> None:
    out = run("brief", "--sample", "--format", "json", "-v")
    assert out.exit_code == 0, out.output
    assert Brief.model_validate_json(out.stdout).language == "zh"
    assert "loading the offline sample" in out.stderr  # progress on stderr


def test_offline_brief_ends_with_the_sample_hint(run: Callable[..., Any]) -> None:
    """Every source down (here: nothing listens) is exit 1; the error says once per
    source what failed, in the command line's language (English unless --lang, whatever
    the profile's), and the last line suggests the offline sample."""
    for args, hint in (
        ((), "No source answered: try `paperdrop brief --sample` for the offline sample."),
        (("--lang", "zh"), "没有数据源应答:可以先用 `paperdrop brief --sample` 看离线样例。"),
    ):
        out = run("brief", "--no-llm", *args)  # the example profile is Chinese
        assert out.exit_code == 1, out.output
        assert out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert lines[-1] == hint
        error = lines[-2]
        for source in ("Hugging Face", "arXiv"):
            assert error.count(source) == 1, error  # once per source, never nested
        if args:
            assert error.startswith("error: ") and "没有收集到任何论文" in error
            assert "获取" in error and "失败" in error
        else:
            assert error.startswith("error: no papers could be collected for ")
            assert "Hugging Face failed for " in error and "arXiv failed for " in error
            assert not re.search(r"[\u4e00-\u9fff]", error), error  # no Chinese


def test_the_samples_own_day_suggests_the_sample_at_once(run: Callable[..., Any]) -> None:
    out = run("brief", "--date", "2026-05-08", "--no-llm")
    assert out.exit_code == 1
    lines = out.stderr.strip().splitlines()
    hint = "2026-05-08 is the offline sample's day: `paperdrop brief --sample` shows it"
    first = next(n for n, line in enumerate(lines) if hint in line)
    collecting = next(n for n, line in enumerate(lines) if "collecting candidates" in line)
    assert first < collecting  # before any source was asked, not after their retries


def test_ideas_without_an_llm_exits_1_with_its_one_line(run: Callable[..., Any]) -> None:
    out = run("ideas", "--lang", "en")
    assert out.exit_code == 1, out.output
    assert out.stdout == ""
    [line] = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    assert "Research ideas need an LLM" in line
    assert "Traceback" not in out.output


def test_progress_shows_a_spinner_only_on_a_terminal() -> None:
    plain = io.StringIO()
    with Progress(Console(file=plain, force_terminal=False)) as progress:
        progress("looking up 2605.06614")
    assert plain.getvalue() == "· looking up 2605.06614\n"
    tty = io.StringIO()
    with Progress(Console(file=tty, force_terminal=True, width=80)) as progress:
        progress("looking up 2605.06614")
    assert "looking up 2605.06614" in tty.getvalue()


def test_the_sample_hint_follows_only_an_empty_collection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    down = SourceItem(source="arXiv", status="failed", detail="HTTP 503 …")
    failed = NoBrief("no papers could be collected for 2026-05-08 (arXiv: HTTP 503 …)", [down])
    sample_hint("zh")(failed)
    assert "没有数据源应答" in capsys.readouterr().err
    none = SourceItem(source="arXiv", status="ok", detail="0 papers")
    empty = NoBrief("no papers could be collected for 2026-05-08 (arXiv: 0 papers)", [none])
    sample_hint("en")(empty)
    assert capsys.readouterr().err.startswith("No papers from any source: try `paperdrop")
    sample_hint("en")(NoBrief("all 40 candidates were already shown to this reader"))
    assert capsys.readouterr().err == ""


def test_a_paper_card_shows_no_raw_latex(run: Callable[..., Any]) -> None:
    """Source text is cleaned where it enters: the /paper card (the same code answers
    the chats) quotes plain text, and the title shows A²TGPO, not A^2TGPO."""
    latex = {
        "id": "2605.06200",
        "title": "A^2TGPO: Agentic Turn-Group Policy Optimization",
        "summary": (
            r"We propose A$^2$TGPO, which scales \emph{turn-level} credit by "
            r"$\lambda \cdot k$ as argued \citep{mankiw2020}. It improves accuracy by "
            r"$3.2\%$ on ALFWorld."
        ),
        "ai_summary": r"A$^2$TGPO normalizes \textbf{information gain} per turn.",
        "publishedAt": "2026-05-07T17:59:00.000Z",
        "authors": [{"name": "Ada"}],
    }
    with in_thread(FakeHF([{"paper": latex}])) as hf:
        out = run(
            "paper", "2605.06200", "--no-llm", "--lang", "en", PAPERDROP_HF_BASE_URL=hf.base_url
        )
    assert out.exit_code == 0, out.output
    card = out.stdout
    assert "A²TGPO: Agentic Turn-Group Policy Optimization" in card
    for raw in ("\\emph", "\\citep", "\\lambda", "$", "A^2", "\\textbf", "\\%"):
        assert raw not in card, raw
