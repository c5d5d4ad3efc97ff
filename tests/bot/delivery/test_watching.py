"""Watched papers: what counts as news, each told once, checked daily with one lookup."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.core.ratelimit import RateLimiter
from bot.delivery.watching import check_watches
from bot.platforms.telegram.send import TelegramSender
from digest.chatstate import ChatPrefs, save_prefs
from digest.models import Language
from digest.store.base import Store
from digest.watch import (
    MAX_WATCHES,
    PaperState,
    Watch,
    add_watch,
    changes,
    get_watches,
    remove_watch,
    watching_chats,
)
from tests.delivery_helpers import VirtualClock
from tests.fakes.arxiv_atom import AtomEntry
from tests.fakes.arxiv_server import ArxivServer
from tests.fakes.sources_server import FIXTURE, FakeHF
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings, updated

PID = "2605.06614"  # SkillOS, in the HF fixture with 6 upvotes and no githubRepo
DM = 4242
T0 = dt.datetime(2026, 5, 8, 9, tzinfo=dt.UTC)


def watch(**kw: Any) -> Watch:
    fields: dict[str, Any] = {
        "paper_id": PID,
        "title": "SkillOS",
        "platform": "telegram",
        "chat_id": str(DM),
        "since": T0,
        "expires": T0 + dt.timedelta(days=90),
        "version": 1,
        "repo": None,
        "upvotes": 6,
    }
    fields.update(kw)
    return Watch(**fields)


# --- what counts as news ---------------------------------------------------------------------


def test_the_first_repo_a_new_version_and_an_upvote_jump_are_each_told_once() -> None:
    w = watch()
    w, notices = changes(w, PaperState(version=1, repo=None, upvotes=10), upvote_jump=20)
    assert notices == []
    w, notices = changes(
        w, PaperState(version=2, repo="https://github.com/a/b", upvotes=30), upvote_jump=20
    )
    assert sorted(n.event for n in notices) == ["code", "upvotes", "version"]
    # The same state again: nothing new.
    w, notices = changes(
        w, PaperState(version=2, repo="https://github.com/a/b", upvotes=80), upvote_jump=20
    )
    assert notices == []
    # A third version is news again; the upvote jump and the code are not.
    w, notices = changes(w, PaperState(version=3, upvotes=200), upvote_jump=20)
    assert [n.event for n in notices] == ["version"] and w.version == 3


def test_an_unknown_baseline_is_filled_in_without_a_notice() -> None:
    w = watch(version=None, upvotes=None)
    w, notices = changes(w, PaperState(version=4, upvotes=500), upvote_jump=20)
    assert notices == [] and (w.version, w.upvotes) == (4, 500)
    # A gap in today's answer (a source failed) is not news either.
    w, notices = changes(w, PaperState(), upvote_jump=20)
    assert notices == [] and (w.version, w.upvotes) == (4, 500)


# --- kept in the Store -------------------------------------------------------------------


async def test_watches_are_kept_per_chat_renewed_bounded_and_indexed(store: Store) -> None:
    assert await add_watch(store, watch()) == "new"
    later = watch(expires=T0 + dt.timedelta(days=120))
    assert await add_watch(store, later) == "renewed"
    [kept] = await get_watches(store, f"telegram:{DM}")
    assert kept.expires == later.expires
    assert await watching_chats(store) == [f"telegram:{DM}"]
    for n in range(1, MAX_WATCHES):
        assert await add_watch(store, watch(paper_id=f"2605.{n:05d}")) == "new"
    assert await add_watch(store, watch(paper_id="2605.99999")) == "full"
    other = watch(platform="slack", chat_id="C1")
    await add_watch(store, other)
    assert len(await get_watches(store, "slack:C1")) == 1  # one chat's watches are its own
    assert await remove_watch(store, "slack:C1", PID)
    assert not await remove_watch(store, "slack:C1", PID)
    assert await watching_chats(store) == [f"telegram:{DM}"]


# --- the daily check, against local fakes of arXiv, Hugging Face and Telegram --------------


def _hf_items(upvotes: int, repo: str | None = None) -> list[dict[str, Any]]:
    items = copy.deepcopy(json.loads(FIXTURE.read_text("utf-8")))
    for item in items:
        if item["paper"]["id"] == PID:
            item["paper"]["upvotes"] = upvotes
            if repo:
                item["paper"]["githubRepo"] = repo
    return items


def _entry(version: int) -> AtomEntry:
    return AtomEntry(
        arxiv_id=f"{PID}v{version}",
        title="SkillOS: Learning Skill Curation for Self-Evolving Agents",
        summary="We present SkillOS.",
        authors=["Ada Lovelace"],
        published=dt.datetime(2026, 5, 7, tzinfo=dt.UTC),
    )


class Fakes:
    def __init__(self, arxiv: ArxivServer, hf: FakeHF, tg: FakeTelegram) -> None:
        self.arxiv, self.hf, self.tg = arxiv, hf, tg
        self.settings = make_settings(
            arxiv_api_url=arxiv.url,
            arxiv_delay=0,
            hf_base_url=hf.base_url,
            telegram_token=SecretStr(tg.token),
            telegram_api_url=tg.base_url,
            watch_upvote_jump=20,
        )
        clock = VirtualClock()
        self.sender = TelegramSender(
            self.settings, limiter=RateLimiter(clock=clock, sleep=clock.sleep), sleep=clock.sleep
        )

    async def check(self, store: Store, at: dt.datetime) -> Any:
        return await check_watches(self.settings, store, at, senders={"telegram": self.sender})

    def told(self) -> list[str]:
        return [m.text for m in self.tg.by_chat(DM)]


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with ArxivServer([_entry(1)]) as arxiv, FakeHF(_hf_items(6)) as hf, FakeTelegram() as tg:
        made = Fakes(arxiv, hf, tg)
        try:
            yield made
        finally:
            await made.sender.aclose()


async def test_the_daily_check_tells_the_chat_once_of_each_change(
    store: Store, fakes: Fakes
) -> None:
    await add_watch(store, watch(version=None, upvotes=None))
    first = await fakes.check(store, T0)
    assert first is not None and first.checked == 1 and first.told == 0  # baseline only
    assert await fakes.check(store, T0 + dt.timedelta(hours=5)) is None  # once a day
    assert len(fakes.arxiv.requests) == 1  # one batched lookup

    # Overnight: v2 on arXiv, code and 30 more upvotes on Hugging Face.
    fakes.arxiv.entries = [_entry(2)]
    fakes.hf.items = _hf_items(36, repo="https://github.com/example/skillos")
    report = await fakes.check(store, T0 + dt.timedelta(days=1))
    assert report is not None and report.told == 3
    told = " ".join(fakes.told())
    assert "https://github.com/example/skillos" in told
    assert f"https://arxiv.org/abs/{PID}v2" in told and "v2" in told
    assert "6 to 36 upvotes" in told
    # The next day, the same state: nothing more is said.
    await fakes.check(store, T0 + dt.timedelta(days=2))
    assert len(fakes.told()) == 3


async def test_a_watch_expires_after_its_days(store: Store, fakes: Fakes) -> None:
    await add_watch(store, watch())
    report = await fakes.check(store, T0 + dt.timedelta(days=91))
    assert report is not None and report.expired == 1 and report.checked == 0
    assert await get_watches(store, f"telegram:{DM}") == []
    assert await watching_chats(store) == []
    assert fakes.arxiv.requests == []  # nothing to look up, nothing asked


async def test_a_notice_that_cannot_be_sent_is_told_the_next_day(
    store: Store, fakes: Fakes
) -> None:
    await add_watch(store, watch())
    fakes.arxiv.entries = [_entry(2)]
    fakes.tg.block_chat(DM)
    report = await fakes.check(store, T0 + dt.timedelta(days=1))
    assert report is not None and report.told == 0 and report.failed == [f"telegram:{DM}"]
    fakes.tg.unblock_chat(DM)
    report = await fakes.check(store, T0 + dt.timedelta(days=2))
    assert report is not None and report.told == 1
    assert "v2" in fakes.told()[0]


@pytest.mark.parametrize(
    ("chosen", "configured", "expected"),
    [(None, "zh", "zh"), ("en", "zh", "en"), ("zh", None, "zh"), (None, None, "en")],
)
async def test_a_notice_is_in_the_language_the_chat_is_answered_in(
    store: Store, fakes: Fakes, chosen: Language | None, configured: str | None, expected: str
) -> None:
    # A chat without a subscription: the language it chose (/lang), else the configured
    # one (PAPERDROP_LANGUAGE), as its answers are; English only when neither is set.
    fakes.settings = updated(fakes.settings, language=configured)
    if chosen is not None:
        await save_prefs(store, f"telegram:{DM}", ChatPrefs(language=chosen))
    await add_watch(store, watch())
    fakes.arxiv.entries = [_entry(2)]
    await fakes.check(store, T0 + dt.timedelta(days=1))
    [told] = fakes.told()
    assert told.startswith("你关注的" if expected == "zh" else "SkillOS (2605.06614), which you")
