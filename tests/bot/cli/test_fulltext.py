"""`paperdrop paper ID [--abstract-only]` and `paperdrop ask ID QUESTION` end to end: the
chats' code from the terminal, against local fakes reached through the settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from digest.models import PaperItem, Reply, TextItem
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.arxiv_web import FakeArxivWeb, WebPaper, fixture_html
from tests.fakes.sources_server import FakeGitHub, FakeHF
from tests.fakes.threaded import in_thread

EMO = "2605.06663"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERDROP_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    papers = {EMO: WebPaper(html=fixture_html("2605.06663v2.html"), versions=2)}
    with (
        in_thread(FakeHF()) as hf,
        in_thread(FakeGitHub.for_fixture()) as gh,
        ArxivServer(entries_from_hf_fixture()) as arxiv,
        in_thread(FakeArxivWeb(papers, interval=0)) as web,
    ):
        yield {
            "PAPERDROP_HF_BASE_URL": hf.base_url,
            "PAPERDROP_GITHUB_API_URL": gh.base_url,
            "PAPERDROP_ARXIV_API_URL": arxiv.url,
            "PAPERDROP_ARXIV_DELAY": "0",
            "PAPERDROP_ARXIV_HTML_URL": web.html_url,
            "PAPERDROP_ARXIV_PDF_URL": web.pdf_url,
            "PAPERDROP_HTTP_RETRIES": "0",
            "PAPERDROP_SQLITE_PATH": str(tmp_path / "store.sqlite3"),
            "PAPERDROP_REDIS_URL": "",
        }


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_paper_reads_the_full_text_unless_told_not_to(env: dict[str, str]) -> None:
    code, out, err = run(env, "paper", EMO, "--lang", "en", "--format", "json")
    assert code == 0, err
    [item] = [
        i
        for s in Reply.model_validate_json(out).sections
        for i in s.items
        if isinstance(i, PaperItem)
    ]
    assert item.details[0].text == "the full text (arXiv HTML, v2)"
    assert item.links.html is not None
    code, out, err = run(env, "paper", EMO, "--lang", "en", "--abstract-only")
    assert code == 0, err
    assert "Read from**: the abstract only: the full text was not asked for" in out


def test_ask_answers_from_the_paper_and_cites_its_section(env: dict[str, str]) -> None:
    code, out, err = run(
        env, "ask", EMO, "What are the limitations?", "--lang", "en", "--format", "json"
    )
    assert code == 0, err
    [answer] = [
        i
        for s in Reply.model_validate_json(out).sections
        for i in s.items
        if isinstance(i, TextItem)
    ]
    assert answer.text.startswith("What the paper says: “Our study covers a single model size")
    assert [s.label for s in answer.sources] == ["§7 Limitations"]
    code, out, _ = run(env, "ask", EMO, "What is the weather in Paris?", "--lang", "en")
    assert code == 0 and out.startswith("The paper does not seem to say")


def test_ask_refuses_bad_input_in_one_line(env: dict[str, str]) -> None:
    code, _, err = run(env, "ask", "not-an-id", "why?")
    assert code == 2 and "is not an arXiv id" in err
    code, _, err = run(env, "ask", EMO, "  ")
    assert code == 2 and "needs a question" in err
