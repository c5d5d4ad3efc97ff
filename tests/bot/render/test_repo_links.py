"""A "Repo" link only where a repository is known to exist.

A day on the local Hugging Face and GitHub fakes: one paper names its repo through HF's
githubRepo; three others only in their abstracts: "coming soon" at a repo GitHub answers
404 for, a repo that exists, and "will be released" at a repo that exists but is empty.
Built with the real pipeline, the real GitHub client and its Store cache, rendered by
every renderer: a link is "Repo" only when HF names it or GitHub answered (now or from the
cache); unverified, it is "code announced: github.com/…" as plain text; a 404 is no link.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core.messages import OutMessage
from bot.platforms.feishu.render import render_feishu
from bot.platforms.slack.render import render_slack
from bot.platforms.telegram.render import render_telegram
from bot.render.html import render_html
from bot.render.markdown import render_markdown
from digest.models import Brief, PaperItem, RepoItem, SourceItem
from digest.pipeline import build_brief
from digest.profile import Profile
from digest.settings import Settings
from digest.sources.github import code_promised
from digest.store.sqlite import SQLiteStore
from handlers.paper import paper_card
from tests.fakes.sources_server import FakeGitHub, FakeHF, github_repo_json

DAY = dt.date(2026, 5, 8)
NOW = dt.datetime(2026, 5, 8, 0, 30, tzinfo=dt.UTC)
HF_NAMED, COMING_404, EXISTS, EMPTY = "2605.40001", "2605.40002", "2605.40003", "2605.40004"
ABSTRACTS = {
    HF_NAMED: "We study causal belief models for agents. Our code is public.",
    COMING_404: "We study causal belief models with memory. "
    "Code is coming soon at https://github.com/zjunlp/CBM.",
    EXISTS: "We study causal belief models for planning. Code: https://github.com/org/exists.",
    EMPTY: "We study causal belief models for tools. "
    "The code will be released at https://github.com/org/placeholder.",
}
REPOS = {
    "org/hf-named": github_repo_json("org/hf-named", 300),
    "org/exists": github_repo_json("org/exists", 42),
    "org/placeholder": github_repo_json("org/placeholder", 3, size=0),
}
READER = Profile(
    name="r", language="en", interests=["causal belief models"], categories=[], top_picks=4
)


def item(pid: str, abstract: str, repo: str | None = None, title: str = "") -> dict[str, Any]:
    paper: dict[str, Any] = {
        "id": pid,
        "title": title or f"Causal Belief Models {pid[-1]}",
        "summary": abstract,
        "publishedAt": "2026-05-08T00:00:00.000Z",
        "submittedOnDailyAt": "2026-05-08T00:00:00.000Z",
        "upvotes": 10 - int(pid[-1]),
        "authors": [{"name": "A. Author"}],
    }
    if repo:
        paper["githubRepo"] = repo
    return {"paper": paper, "title": paper["title"], "numComments": 0}


DAILY = [
    item(HF_NAMED, ABSTRACTS[HF_NAMED], "https://github.com/org/hf-named"),
    *(item(pid, ABSTRACTS[pid]) for pid in (COMING_404, EXISTS, EMPTY)),
    # Unrelated papers of the day, so the four are picks and glance items among others.
    *(
        item(f"2605.5000{n}", f"Image editing with diffusion, setting {n}.", None, f"Edit {n}")
        for n in range(4)
    ),
]


@pytest.fixture
async def store() -> AsyncIterator[SQLiteStore]:
    s = await SQLiteStore.open(":memory:")
    yield s
    await s.close()


def settings(hf: FakeHF, gh: FakeGitHub) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        hf_base_url=hf.base_url,
        github_api_url=gh.base_url,
        llm_api_key=None,
        min_candidates=1,
        http_retries=0,
    )


async def brief_with(gh: FakeGitHub, store: SQLiteStore) -> Brief:
    async with FakeHF(DAILY) as hf:
        return await build_brief(
            settings(hf, gh), READER, DAY, store=store, include_seen=True, now=lambda: NOW
        )


def links(brief: Brief) -> dict[str, tuple[str | None, str | None]]:
    """(Repo, announced) of every paper card of the brief, by id."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for section in brief.sections:
        for i in section.items:
            if isinstance(i, PaperItem):
                out.setdefault(i.paper_id, (i.links.repo, i.links.announced))
    return out


def rendered(brief: Brief) -> dict[str, str]:
    """Everything each renderer sends (messages' payloads whole), by renderer."""

    def sent(messages: list[OutMessage]) -> str:
        return "\n".join(json.dumps(m.payload, ensure_ascii=False) for m in messages)

    return {
        "markdown": render_markdown(brief),
        "html": render_html(brief),
        "telegram": sent(render_telegram(brief)),
        "slack": sent(render_slack(brief)),
        "feishu": sent(render_feishu(brief)) + sent(render_feishu(brief, mode="app")),
    }


def assert_never_verified(brief: Brief, url: str) -> None:
    """`url` is never a link anywhere the brief is shown (announced, it is shown without
    its scheme, as text)."""
    for name, text in rendered(brief).items():
        assert url not in text, name


def test_the_texts_say_when_code_is_coming() -> None:
    assert code_promised(ABSTRACTS[COMING_404]) and code_promised(ABSTRACTS[EMPTY])
    assert not code_promised(ABSTRACTS[EXISTS])
    assert code_promised("Code and models will be made publicly available upon acceptance.")


async def test_only_repos_known_to_exist_are_linked(store: SQLiteStore) -> None:
    async with FakeGitHub(REPOS) as gh:
        brief = await brief_with(gh, store)
        asked = sorted(gh.requests)
    got = links(brief)
    assert set(got) >= {HF_NAMED, COMING_404, EXISTS, EMPTY}
    assert got[HF_NAMED] == ("https://github.com/org/hf-named", None)
    # "Coming soon" at a repo GitHub says does not exist: no link at all.
    assert got[COMING_404] == (None, None)
    # Named only by the abstract, and GitHub answered 200: a verified Repo.
    assert got[EXISTS] == ("https://github.com/org/exists", None)
    # It exists but holds nothing yet, and the text says the code is coming: announced.
    assert got[EMPTY] == (None, "https://github.com/org/placeholder")
    # Every repo was asked about once, picks and glance items alike.
    assert asked == sorted(
        f"/repos/{n}" for n in ("org/hf-named", "zjunlp/CBM", "org/exists", "org/placeholder")
    )
    repos = brief.section("repos")
    assert repos is not None
    listed = {i.full_name for i in repos.items if isinstance(i, RepoItem)}
    assert listed == {"org/hf-named", "org/exists"}
    assert_never_verified(brief, "https://github.com/zjunlp/CBM")
    assert_never_verified(brief, "https://github.com/org/placeholder")
    shown = rendered(brief)
    assert "code announced: github.com/org/placeholder" in shown["markdown"]
    assert "[Repo](<https://github.com/org/exists>)" in shown["markdown"]
    for name, text in shown.items():  # every renderer: the verified link, the announced text
        assert "https://github.com/org/exists" in text, name
        assert "github.com/org/placeholder" in text, name
    assert "zjunlp/CBM" not in shown["markdown"] and "zjunlp/CBM" not in shown["html"]


async def test_a_rate_limited_run_verifies_nothing_it_did_not_ask(store: SQLiteStore) -> None:
    async with FakeGitHub(REPOS, limit=1) as gh:
        brief = await brief_with(gh, store)
    got = links(brief)
    # HF names its repo: still a Repo. The abstracts' repos could not all be checked:
    # those GitHub did not answer are announced, never verified.
    assert got[HF_NAMED][0] == "https://github.com/org/hf-named"
    unchecked = [pid for pid in (COMING_404, EXISTS, EMPTY) if got[pid][0] is None]
    assert len(unchecked) >= 2
    for pid in unchecked:
        url = re.search(r"https://github\.com/\S+?(?=\.?$)", ABSTRACTS[pid])
        assert url is not None and got[pid] == (None, url.group())
        assert_never_verified(brief, url.group())
    sources = brief.section("sources")
    assert sources is not None
    [note] = [i for i in sources.items if isinstance(i, SourceItem) and i.source == "GitHub"]
    assert note.status == "partial", note


async def test_the_stores_cache_of_repo_facts_verifies_a_later_run(store: SQLiteStore) -> None:
    async with FakeGitHub(REPOS) as gh:
        await brief_with(gh, store)
    # GitHub refuses everything now; the facts it gave earlier are in the Store.
    async with FakeGitHub(REPOS, limit=0) as gh:
        brief = await brief_with(gh, store)
        assert gh.requests == []
    got = links(brief)
    assert got[EXISTS] == ("https://github.com/org/exists", None)
    assert got[COMING_404] == (None, None)  # the cached 404
    assert got[EMPTY] == (None, "https://github.com/org/placeholder")


async def test_paper_cards_follow_the_same_rule(store: SQLiteStore) -> None:
    async with FakeGitHub(REPOS, limit=0) as gh:
        await brief_with(gh, store)  # the papers are now in the Store, nothing verified
        async with FakeHF(DAILY) as hf:
            config = settings(hf, gh)
            card, _ = await paper_card(EXISTS, settings=config, store=store, profile=READER)
            assert links(card)[EXISTS] == (None, "https://github.com/org/exists")
            assert_never_verified(card, "https://github.com/org/exists")
            zh = READER.model_copy(update={"language": "zh"})
            card, _ = await paper_card(EXISTS, settings=config, store=store, profile=zh)
            assert "代码(尚未验证):github.com/org/exists" in render_markdown(card)
            gh.limit = None  # the budget is back
            card, _ = await paper_card(EXISTS, settings=config, store=store, profile=READER)
            assert links(card)[EXISTS] == ("https://github.com/org/exists", None)
            card, _ = await paper_card(COMING_404, settings=config, store=store, profile=READER)
            assert links(card)[COMING_404] == (None, None)
            assert "zjunlp/CBM" not in render_markdown(card)
