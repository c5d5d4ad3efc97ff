"""`paperdrop brief` and `paperdrop paper` end to end, against local fakes of Hugging Face,
arXiv, GitHub and the LLM, reached only through the settings' base URLs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from digest.cleaning import latex_to_text
from digest.models import Brief, PaperItem, Reply, RepoItem, SourceItem
from tests.fakes.arxiv_atom import entries_from_hf_fixture
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.sources_server import FakeGitHub, FakeHF
from tests.fakes.threaded import in_thread

DAY = "2026-05-08"
KEY = "sk-e2e-secret-key"

PROFILE = """
name = "e2e"
language = "en"
interests = ["LLM agents", "agentic reinforcement learning", "agent memory"]
avoid = ["video generation"]
categories = ["cs.CL", "cs.AI"]
top_picks = 4
"""


class World:
    def __init__(
        self, hf: FakeHF, gh: FakeGitHub, arxiv: ArxivServer, llm: FakeLLMServer, tmp: Path
    ) -> None:
        self.hf, self.gh, self.arxiv, self.llm = hf, gh, arxiv, llm
        self.profile = tmp / "profile.toml"
        self.profile.write_text(PROFILE, encoding="utf-8")
        self.env = {
            "PAPERDROP_HF_BASE_URL": hf.base_url,
            "PAPERDROP_GITHUB_API_URL": gh.base_url,
            "PAPERDROP_ARXIV_API_URL": arxiv.url,
            "PAPERDROP_ARXIV_DELAY": "0",
            "PAPERDROP_HTTP_RETRIES": "0",
            "PAPERDROP_LLM_BASE_URL": llm.base_url,
            "PAPERDROP_LLM_API_KEY": KEY,
            "PAPERDROP_SQLITE_PATH": str(tmp / "store.sqlite3"),
            "PAPERDROP_REDIS_URL": "",
        }

    def run(self, *args: str, **env: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            app, list(args), env={**self.env, **env}, catch_exceptions=False
        )
        return result.exit_code, result.stdout, result.stderr

    def brief(self, *args: str, **env: str) -> Brief:
        code, out, err = self.run(
            "brief", "--date", DAY, "--profile", str(self.profile), "--format", "json", *args, **env
        )
        assert code == 0, err
        return Brief.model_validate_json(out)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERDROP_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    with (
        in_thread(FakeHF()) as hf,
        in_thread(FakeGitHub.for_fixture()) as gh,
        ArxivServer(entries_from_hf_fixture()) as arxiv,
        in_thread(FakeLLMServer(api_key=KEY)) as llm,
    ):
        yield World(hf, gh, arxiv, llm, tmp_path)


def papers(brief: Brief | Reply, kind: str) -> list[PaperItem]:
    section = brief.section(kind)  # type: ignore[arg-type]
    return [i for i in section.items if isinstance(i, PaperItem)] if section else []


def sources(brief: Brief | Reply) -> dict[str, SourceItem]:
    section = brief.section("sources")
    assert section is not None
    return {i.source: i for i in section.items if isinstance(i, SourceItem)}


def test_full_brief_from_live_sources_with_the_llm(world: World) -> None:
    fixture = {i["paper"]["id"]: i["paper"] for i in world.hf.items}
    brief = world.brief()
    assert brief.mode == "llm" and brief.language == "en"
    picks = papers(brief, "top_picks")
    # Four picks; a pick may group related papers, so there may be more papers than picks.
    assert 4 <= len(picks) <= 12
    for item in picks:
        raw = fixture[item.paper_id]
        # Every link and title comes from the source data (its LaTeX resolved).
        assert item.title == latex_to_text(" ".join(raw["title"].split()))
        assert item.links.abs == f"https://arxiv.org/abs/{item.paper_id}"
        assert item.links.repo == raw.get("githubRepo")
        assert item.contribution and item.why and item.relation and item.matched
    assert [s.kind for s in brief.sections][:2] == ["overview", "top_picks"]
    assert brief.section("ideas") is not None and brief.section("must_read") is not None
    # Stars are the ones GitHub answered, never invented.
    for repo in (i for i in brief.section("repos").items if isinstance(i, RepoItem)):  # type: ignore[union-attr]
        assert repo.stars == world.gh.repos[repo.full_name]["stargazers_count"]
    notes = sources(brief)
    assert {"Hugging Face", "arXiv", "GitHub", "LLM"} <= notes.keys()
    assert notes["Hugging Face"].status == "ok" and notes["LLM"].status == "ok"
    assert brief.usage.calls == len(world.llm.calls) > 0
    assert KEY not in brief.model_dump_json()


def test_seen_papers_are_not_picked_again_unless_asked(world: World) -> None:
    first = {p.paper_id for p in papers(world.brief(), "top_picks")}
    second = {p.paper_id for p in papers(world.brief(), "top_picks")}
    assert first and not first & second
    again = {
        p.paper_id for p in papers(world.brief("--include-seen", "--no-mark-seen"), "top_picks")
    }
    assert again & first


def test_summaries_are_cached_across_runs(world: World) -> None:
    world.brief("--no-mark-seen")
    summarize_calls = sum(1 for c in world.llm.calls if c[0] == "summarize")
    world.brief("--no-mark-seen")
    assert sum(1 for c in world.llm.calls if c[0] == "summarize") == summarize_calls


def test_hf_down_the_brief_comes_from_arxiv_and_says_so(world: World) -> None:
    world.hf.down = True
    brief = world.brief("--no-llm")
    assert papers(brief, "top_picks")
    notes = sources(brief)
    assert notes["Hugging Face"].status == "failed" and "503" in notes["Hugging Face"].detail
    assert notes["arXiv"].status == "ok"


def test_every_source_down_is_a_clear_failure(world: World) -> None:
    world.hf.down = True
    world.arxiv.fail_next(503, count=50)
    code, out, err = world.run("brief", "--date", DAY, "--profile", str(world.profile), "--no-llm")
    assert code == 1 and out == ""
    assert "no papers could be collected" in err and "Traceback" not in err
    # The last line says what still works, in the reader's language.
    last = err.strip().splitlines()[-1]
    assert last == "No source answered: try `paperdrop brief --sample` for the offline sample."


def test_bad_llm_key_still_makes_an_honest_brief(world: World) -> None:
    brief = world.brief(PAPERDROP_LLM_API_KEY="sk-wrong-key")
    assert brief.mode == "extractive"
    llm = sources(brief)["LLM"]
    assert llm.status == "failed" and "401" in llm.detail
    assert brief.section("ideas") is not None  # says how to enable them, invents none
    assert not any(i.type == "idea" for i in brief.section("ideas").items)  # type: ignore[union-attr]
    assert "sk-wrong-key" not in brief.model_dump_json()


def test_github_down_marks_stars_not_verified(world: World) -> None:
    world.gh.down = True
    brief = world.brief("--no-llm")
    repos = [i for i in brief.section("repos").items if isinstance(i, RepoItem)]  # type: ignore[union-attr]
    assert repos and all(r.stars is None for r in repos)
    assert sources(brief)["GitHub"].status == "failed"


def test_markdown_output_and_bad_input(world: World) -> None:
    code, out, _ = world.run("brief", "--date", DAY, "--profile", str(world.profile), "--no-llm")
    assert code == 0 and out.startswith("# ") and "https://arxiv.org/abs/" in out
    code, _, err = world.run("brief", "--date", "2026-13-01")
    assert code == 2 and "invalid date" in err
    bad = world.profile.with_name("bad.toml")
    bad.write_text("name = 1\n")
    code, _, err = world.run("brief", "--profile", str(bad))
    assert code == 2 and "profile" in err and "Traceback" not in err


def test_paper_card(world: World) -> None:
    code, out, err = world.run(
        "paper", "arXiv:2605.06614v2", "--profile", str(world.profile), "--format", "json"
    )
    assert code == 0, err
    card = Reply.model_validate_json(out)
    [item] = papers(card, "top_picks")
    assert item.paper_id == "2605.06614" and item.title.startswith("SkillOS")
    assert item.contribution and item.relation
    labels = [d.label for d in item.details]
    assert labels == ["Read from", "Problem", "Method", "Key results", "Limits", "Code and data"]
    # arXiv's web is a closed port here: the card says it read the abstract, and why.
    assert item.details[0].text.startswith("the abstract only: arXiv could not be reached")
    assert "looking up 2605.06614" in err  # progress while it waits


def test_paper_errors_are_one_clear_line(world: World) -> None:
    code, _, err = world.run("paper", "not-an-id")
    assert code == 2 and "is not an arXiv id" in err
    code, _, err = world.run("paper", "2605.99999", "--no-llm")
    assert code == 1 and "not found" in err and "Traceback" not in err


def test_sample_needs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "PAPERDROP_LLM_API_KEY", "PAPERDROP_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    env = {
        "PAPERDROP_SQLITE_PATH": str(tmp_path / "s.sqlite3"),
        # Nothing answers here: the sample must not touch the network at all.
        "PAPERDROP_HF_BASE_URL": "http://127.0.0.1:9",
        "PAPERDROP_GITHUB_API_URL": "http://127.0.0.1:9",
        "PAPERDROP_ARXIV_API_URL": "http://127.0.0.1:9",
    }
    result = CliRunner().invoke(app, ["brief", "--sample", "--format", "json"], env=env)
    assert result.exit_code == 0, result.stderr
    brief = Brief.model_validate_json(result.stdout)
    assert brief.mode == "extractive" and brief.language == "zh"
    assert len(papers(brief, "top_picks")) >= 5
    # The same sample every time: nothing is remembered as seen.
    again = CliRunner().invoke(app, ["brief", "--sample", "--format", "json"], env=env)
    assert json.loads(again.stdout)["sections"][1] == json.loads(result.stdout)["sections"][1]


def test_paper_card_verifies_its_repo(world: World) -> None:
    code, out, err = world.run(
        "paper", "2605.06702", "--lang", "zh", "--no-llm", "--format", "json"
    )
    assert code == 0, err
    card = Reply.model_validate_json(out)
    [repo] = [i for i in card.section("repos").items if isinstance(i, RepoItem)]  # type: ignore[union-attr]
    assert repo.stars == world.gh.repos[repo.full_name]["stargazers_count"]
    github = sources(card)["GitHub"]
    assert github.status == "ok" and "GitHub API" in github.detail and "验证" in github.detail
