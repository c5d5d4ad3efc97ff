"""Delivery: complete, never twice, never half, against the fakes and a real Store.

Every test that takes `store` runs twice: on SQLite and on the real local Redis.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.core.leases import STORE_LINK
from bot.core.messages import OutMessage
from bot.core.observability import hashed
from bot.core.ports import Sender
from bot.core.profiles import profile_for
from bot.core.ratelimit import RateLimiter
from bot.delivery.deliver import deliver, is_delivered
from bot.delivery.push import push, render_for
from bot.platforms import PLATFORMS
from bot.platforms.feishu.render import render_feishu
from bot.platforms.feishu.send import FeishuSender
from bot.platforms.slack.render import render_slack
from bot.platforms.slack.send import SlackSender
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.send import TRANSIENT_RETRIES, TelegramSender
from bot.runtime.scheduler import push_status
from digest.chatstate import BRIEF_NS
from digest.errors import ConfigError, DeliveryError, ProfileError, SourceError
from digest.models import Brief, Language, Platform, Subscription
from digest.profile import Profile
from digest.settings import Settings
from digest.store.base import Store
from tests.delivery_helpers import VirtualClock, built_brief, reference_or_built_brief
from tests.fakes.feishu_server import FakeFeishu
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import FakeTelegram
from tests.platform_settings import make_settings
from tests.store_helpers import Switchable

DAY = dt.date(2026, 5, 31)


class SimulatedCrash(Exception):
    """The process dies: not a DeliveryError, so nothing handles it."""


@dataclass
class Platforms:
    tg: FakeTelegram
    slack: FakeSlack
    fs: FakeFeishu
    settings: Settings
    clock: VirtualClock
    limiter: RateLimiter
    hook_url: str = ""
    senders: dict[Platform, Sender] = field(default_factory=dict)

    def make_senders(self) -> dict[Platform, Sender]:
        """A fresh set of senders, as a restarted process would have."""
        kw = {"limiter": self.limiter, "sleep": self.clock.sleep}
        made: dict[Platform, Sender] = {
            "telegram": TelegramSender(self.settings, **kw),  # type: ignore[arg-type]
            "slack": SlackSender(self.settings, **kw),  # type: ignore[arg-type]
            "feishu": FeishuSender(self.settings, **kw),  # type: ignore[arg-type]
        }
        self._all.extend(made.values())
        return made

    def __post_init__(self) -> None:
        self._all: list[Sender] = []

    async def close(self) -> None:
        for sender in self._all:
            await sender.aclose()


@pytest.fixture
async def platforms() -> AsyncIterator[Platforms]:
    async with (
        FakeTelegram() as tg,
        FakeSlack() as slack,
        FakeFeishu(chats=["oc_team", "oc_lab"]) as fs,
    ):
        settings = make_settings(
            telegram_token=SecretStr(tg.token),
            telegram_api_url=tg.base_url,
            slack_bot_token=SecretStr(slack.token),
            slack_api_url=slack.base_url,
            feishu_base_url=fs.base_url,
            feishu_app_id=fs.app_id,
            feishu_app_secret=SecretStr(fs.app_secret),
        )
        clock = VirtualClock()
        p = Platforms(tg, slack, fs, settings, clock, RateLimiter(clock=clock, sleep=clock.sleep))
        p.hook_url = fs.register_webhook("hook-tok", secret="hook-secret")
        p.senders = p.make_senders()
        try:
            yield p
        finally:
            await p.close()


class Builder:
    """A brief builder that counts its calls (the pipeline's signature)."""

    def __init__(self, brief: Brief | None = None, fail_for: str | None = None) -> None:
        self.brief = brief or reference_or_built_brief()
        self.calls: list[tuple[str, list[str]]] = []
        self.made: list[Brief] = []
        self.fail_for = fail_for

    async def __call__(
        self,
        settings: Settings,
        profile: Profile,
        day: dt.date,
        *,
        store: Store,
        readers: Sequence[str] = (),
        languages: Collection[Language] | None = None,
    ) -> Brief:
        self.calls.append((profile.name, list(readers)))
        if self.fail_for is not None and self.fail_for in profile.interests:
            raise SourceError("Hugging Face", "HTTP 503")
        made = self.brief.model_copy(update={"language": profile.language, "reader": profile.name})
        self.made.append(made)
        return made


def subs(p: Platforms) -> list[Subscription]:
    team = ["LLM agents", "code intelligence"]
    return [
        Subscription(platform="telegram", chat_id="1001", interests=team),
        Subscription(platform="telegram", chat_id="-100200", interests=team),
        Subscription(platform="slack", chat_id="C1", interests=team, threads=True),
        Subscription(platform="slack", chat_id="C2", interests=team),
        Subscription(platform="feishu", chat_id="oc_team", interests=team),
        Subscription(
            platform="feishu",
            chat_id="hook-team",
            interests=team,
            options={"webhook": SecretStr(p.hook_url), "secret": SecretStr("hook-secret")},
        ),
    ]


def received(p: Platforms, sub: Subscription) -> list[str]:
    """The visible texts a chat holds, in arrival order."""
    if sub.platform == "telegram":
        return [m.text for m in p.tg.by_chat(sub.chat_id)]
    if sub.platform == "slack":
        return [m.text or "" for m in p.slack.by_channel(sub.chat_id)]
    chat = "hook-tok" if sub.option("webhook") else sub.chat_id
    return [str(m.content.get("header")) for m in p.fs.by_chat(chat)]


def expected(brief: Brief, sub: Subscription) -> list[str]:
    msgs = render_for(brief, sub)
    if sub.platform == "feishu":
        card_key = "card" if sub.option("webhook") else "content"
        out = []
        for m in msgs:
            import json

            card = m.payload[card_key]
            card = json.loads(card) if isinstance(card, str) else card
            out.append(str(card.get("header")))
        return out
    if sub.platform == "slack":
        return [m.payload["text"] for m in msgs]
    return [m.text for m in msgs]


async def save_all(store: Store, items: list[Subscription]) -> None:
    for sub in items:
        await store.save_subscription(sub)


# --- push on all three platforms --------------------------------------------------------


async def test_push_delivers_everywhere_once_and_builds_once(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    everyone = subs(p)
    await save_all(store, everyone)
    builder = Builder()
    report = await push(p.settings, store, DAY, builder=builder, senders=p.senders)

    assert report.failed == 0 and report.delivered == len(everyone), report.outcomes
    # One profile, one language: one build for all six chats, their keys as readers.
    assert len(builder.calls) == 1
    assert sorted(builder.calls[0][1]) == sorted(s.key for s in everyone)
    assert p.tg.rejections == [] and p.slack.rejections == [] and p.fs.rejections == []
    assert p.slack.warnings == []
    brief = builder.made[0]
    for sub in everyone:
        assert received(p, sub) == expected(brief, sub), sub.key
        assert await is_delivered(store, sub, DAY)
        assert set(await store.delivered_parts(sub.key, DAY)) == set(
            range(len(render_for(brief, sub)))
        )
        assert await store.seen(sub.key) == set(brief.paper_ids())
    # Slack with threads: the first message is the parent, the rest hang under it.
    c1 = p.slack.by_channel("C1")
    assert c1[0].thread_ts is None and all(m.thread_ts == c1[0].ts for m in c1[1:])
    assert all(m.thread_ts is None for m in p.slack.by_channel("C2"))

    # A second push the same day sends nothing and builds nothing.
    before = (len(p.tg.messages), len(p.slack.messages), len(p.fs.messages))
    again = await push(p.settings, store, DAY, builder=builder, senders=p.senders)
    assert (len(p.tg.messages), len(p.slack.messages), len(p.fs.messages)) == before
    assert again.sent == 0 and again.delivered == len(everyone)
    assert len(builder.calls) == 1 and again.briefs_reused == 1


async def test_groups_by_profile_and_language(platforms: Platforms, store: Store) -> None:
    p = platforms
    await save_all(
        store,
        [
            Subscription(platform="telegram", chat_id="1", interests=["agents"]),
            Subscription(platform="slack", chat_id="C1", interests=["agents"]),
            Subscription(platform="telegram", chat_id="2", interests=["agents"], language="zh"),
            Subscription(platform="telegram", chat_id="3", interests=["robotics"]),
        ],
    )
    builder = Builder(built_brief(papers=2))
    report = await push(p.settings, store, DAY, builder=builder, senders=p.senders)
    assert report.failed == 0
    readers = sorted(sorted(r) for _, r in builder.calls)
    assert readers == [["slack:C1", "telegram:1"], ["telegram:2"], ["telegram:3"]]


async def test_each_group_is_delivered_as_soon_as_its_brief_is_built(
    platforms: Platforms, store: Store
) -> None:
    # The robotics brief is built only once the agents chat has its brief: a push that
    # waited for every build before sending anything would never finish this build.
    p = platforms
    await save_all(
        store,
        [
            Subscription(platform="telegram", chat_id="1", interests=["agents"]),
            Subscription(platform="telegram", chat_id="3", interests=["robotics"]),
        ],
    )
    inner = Builder(built_brief(papers=1))
    first_delivered = asyncio.Event()

    async def builder(settings: Settings, profile: Profile, day: dt.date, **kw: Any) -> Brief:
        if "robotics" in profile.interests:
            await asyncio.wait_for(first_delivered.wait(), 30)  # a bound, not a pace
        return await inner(settings, profile, day, **kw)

    class Watching:
        def __init__(self, sender: Sender) -> None:
            self.sender = sender

        def __getattr__(self, name: str) -> Any:
            return getattr(self.sender, name)

        async def send(self, sub: Subscription, *args: Any, **kw: Any) -> str:
            ref = await self.sender.send(sub, *args, **kw)
            if sub.chat_id == "1":
                first_delivered.set()
            return ref

    senders = {**p.senders, "telegram": Watching(p.senders["telegram"])}
    report = await push(p.settings, store, DAY, builder=builder, senders=senders)  # type: ignore[arg-type]
    assert report.failed == 0 and report.delivered == 2
    assert [m.chat_id for m in p.tg.messages][:1] == [1]


async def test_429_waited_out_and_delivered_exactly_once(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    sub = Subscription(platform="telegram", chat_id="1001", interests=["agents"])
    await save_all(store, [sub])
    p.tg.fail_next(429, retry_after=5, count=1, chat="1001")
    p.slack.fail_next(429, retry_after=6, count=1)
    builder = Builder()
    report = await push(p.settings, store, DAY, builder=builder, senders=p.senders)
    assert report.failed == 0
    assert 5.0 in p.clock.sleeps
    texts = received(p, sub)
    assert texts == expected(builder.made[0], sub)
    assert len(texts) == len(set(texts))  # nothing twice


async def test_403_deactivates_and_others_still_get_theirs(
    platforms: Platforms, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    p = platforms
    everyone = subs(p)
    await save_all(store, everyone)
    p.tg.block_chat("1001")
    p.slack.block_channel("C2", "not_in_channel")
    caplog.set_level(logging.INFO)
    builder = Builder()
    report = await push(p.settings, store, DAY, builder=builder, senders=p.senders)

    gone = {o.sub.key for o in report.outcomes if o.result is not None and o.result.gone}
    assert gone == {"telegram:1001", "slack:C2"}
    for key in gone:
        platform, chat_id = key.split(":", 1)
        saved = await store.get_subscription(platform, chat_id)  # type: ignore[arg-type]
        assert saved is not None and not saved.active and saved.inactive_reason
        assert not await store.seen(key)
    brief = builder.made[0]
    for sub in everyone:
        if sub.key not in gone:
            assert received(p, sub) == expected(brief, sub), sub.key
    # The blocked chats got no retries: one refused attempt each.
    assert len([r for r in p.tg.rejections if r.target == "1001"]) == 1
    # Logged with the chat's hashed id, never the raw one.
    assert f"chat={hashed('telegram:1001')}" in caplog.text and "chat=1001" not in caplog.text
    # A later push skips the inactive chats.
    again = await push(p.settings, store, DAY, builder=Builder(), senders=p.senders)
    assert {o.sub.key for o in again.outcomes}.isdisjoint(gone)
    assert p.tg.token not in caplog.text and p.slack.token not in caplog.text


async def test_other_refusal_fails_that_chat_only_and_is_retried_next_push(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    a = Subscription(platform="telegram", chat_id="11", interests=["agents"])
    b = Subscription(platform="telegram", chat_id="12", interests=["agents"])
    await save_all(store, [a, b])
    p.tg.fail_next(500, count=TRANSIENT_RETRIES + 1, chat="11", description="Internal Server Error")
    first = Builder()
    report = await push(p.settings, store, DAY, builder=first, senders=p.senders)
    outcome = {o.sub.key: o for o in report.outcomes}
    assert not outcome["telegram:11"].ok and outcome["telegram:12"].ok
    assert "Internal Server Error" in (outcome["telegram:11"].result.errors[0])  # type: ignore[union-attr]
    assert received(p, a) == []
    assert not await store.seen("telegram:11")
    saved = await store.get_subscription("telegram", "11")
    assert saved is not None and saved.active  # not gone: only a failed attempt
    # The next push delivers it, from the same cached brief, and nothing twice.
    builder = Builder()
    again = await push(p.settings, store, DAY, builder=builder, senders=p.senders)
    assert again.failed == 0 and builder.calls == []
    assert received(p, a) == expected(first.made[0], a)
    assert received(p, b) == expected(first.made[0], b)


async def test_brief_failure_of_one_group_does_not_stop_others(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    ok = Subscription(platform="slack", chat_id="C1", interests=["agents"])
    bad = Subscription(platform="slack", chat_id="C2", interests=["broken source"])
    await save_all(store, [ok, bad])
    report = await push(
        p.settings, store, DAY, builder=Builder(fail_for="broken source"), senders=p.senders
    )
    outcome = {o.sub.key: o for o in report.outcomes}
    assert outcome["slack:C1"].ok
    assert "no brief: Hugging Face: HTTP 503" in (outcome["slack:C2"].error or "")
    assert p.slack.by_channel("C2") == []


async def test_dry_run_sends_and_records_nothing(platforms: Platforms, store: Store) -> None:
    p = platforms
    everyone = subs(p)
    await save_all(store, everyone)
    report = await push(p.settings, store, DAY, dry_run=True, builder=Builder(), senders=p.senders)
    assert report.dry_run and report.failed == 0
    assert all(o.parts > 0 and len(o.preview) == o.parts for o in report.outcomes)
    assert p.tg.messages == [] and p.slack.messages == [] and p.fs.messages == []
    for sub in everyone:
        assert await store.delivered_parts(sub.key, DAY) == {}
        assert await store.seen(sub.key) == set()
    assert "dry run" in report.summary()


async def test_push_one_chat(platforms: Platforms, store: Store) -> None:
    p = platforms
    everyone = subs(p)
    await save_all(store, everyone)
    report = await push(p.settings, store, DAY, chat="C2", builder=Builder(), senders=p.senders)
    assert [o.sub.key for o in report.outcomes] == ["slack:C2"]
    assert p.tg.messages == [] and p.fs.messages == []
    with pytest.raises(ConfigError, match="no active subscription"):
        await push(p.settings, store, DAY, chat="nope", builder=Builder(), senders=p.senders)


async def test_missing_platform_credentials_fail_those_chats_only(store: Store) -> None:
    async with FakeSlack() as slack:
        settings = make_settings(
            slack_bot_token=SecretStr(slack.token),
            slack_api_url=slack.base_url,
        )
        await save_all(
            store,
            [
                Subscription(platform="telegram", chat_id="5", interests=["agents"]),
                Subscription(platform="slack", chat_id="C7", interests=["agents"]),
            ],
        )
        # No senders given: push makes its own from the settings, and closes them.
        report = await push(settings, store, DAY, builder=Builder(built_brief(papers=2)))
    outcome = {o.sub.key: o for o in report.outcomes}
    assert outcome["slack:C7"].ok and len(slack.by_channel("C7")) >= 1
    assert "PAPERDROP_TELEGRAM_TOKEN" in (outcome["telegram:5"].error or "")


# --- deliver: crash and resume ----------------------------------------------------------


class CrashAfter:
    """Delegates to a real sender, and "dies" when asked for more than `k` parts."""

    def __init__(self, inner: Sender, k: int, *, after_accept: bool = False) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.k = k
        self.after_accept = after_accept
        self.count = 0

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        if self.count >= self.k and not self.after_accept:
            raise SimulatedCrash(f"died before part {msg.part}")
        ref = await self.inner.send(sub, msg, thread_ref, day=day)
        self.count += 1
        if self.after_accept and self.count > self.k:
            raise SimulatedCrash(f"died after part {msg.part} was accepted, before recording")
        return ref

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("k", [0, 1, 3])
async def test_crash_then_resume_telegram_each_part_once_in_order(
    platforms: Platforms, store: Store, k: int
) -> None:
    p = platforms
    sub = Subscription(platform="telegram", chat_id="-100777")
    messages = render_telegram(built_brief(papers=40))
    assert len(messages) > 3
    with pytest.raises(SimulatedCrash):
        await deliver(sub, DAY, messages, store=store, sender=CrashAfter(p.senders["telegram"], k))
    assert sorted(await store.delivered_parts(sub.key, DAY)) == list(range(k))
    # A "restarted process": new sender, same store.
    fresh = p.make_senders()["telegram"]
    result = await deliver(sub, DAY, messages, store=store, sender=fresh)
    assert result.complete and result.skipped == k and result.sent == len(messages) - k
    assert [m.text for m in p.tg.by_chat("-100777")] == [m.text for m in messages]
    # And a third run is a no-op.
    result = await deliver(sub, DAY, messages, store=store, sender=fresh)
    assert result.sent == 0 and result.skipped == len(messages)
    assert len(p.tg.by_chat("-100777")) == len(messages)


async def test_crash_then_resume_slack_thread_uses_recorded_parent(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    sub = Subscription(platform="slack", chat_id="C42", threads=True)
    messages = render_slack(reference_or_built_brief(), threads=True)
    assert len(messages) >= 3
    with pytest.raises(SimulatedCrash):
        await deliver(sub, DAY, messages, store=store, sender=CrashAfter(p.senders["slack"], 2))
    result = await deliver(sub, DAY, messages, store=store, sender=p.make_senders()["slack"])
    assert result.complete
    got = p.slack.by_channel("C42")
    assert [m.text for m in got] == [m.payload["text"] for m in messages]
    parent = got[0].ts
    assert (await store.delivered_parts(sub.key, DAY))[0] == parent
    assert got[0].thread_ts is None and all(m.thread_ts == parent for m in got[1:])


async def test_crash_after_accept_feishu_app_deduplicated_by_uuid(
    platforms: Platforms, store: Store
) -> None:
    """The worst moment: Feishu accepted part k but the record was never written.

    The resend carries the same uuid, so Feishu itself answers the first message."""
    p = platforms
    sub = Subscription(platform="feishu", chat_id="oc_lab")
    messages = render_feishu(built_brief(papers=120), mode="app")
    assert len(messages) >= 2
    crash = CrashAfter(p.senders["feishu"], 0, after_accept=True)
    with pytest.raises(SimulatedCrash):
        await deliver(sub, DAY, messages, store=store, sender=crash)
    assert await store.delivered_parts(sub.key, DAY) == {}
    result = await deliver(sub, DAY, messages, store=store, sender=p.make_senders()["feishu"])
    assert result.complete and result.sent == len(messages)
    got = p.fs.by_chat("oc_lab")
    assert len(got) == len(messages)
    assert p.fs.deduplicated == [got[0].uuid]
    assert (await store.delivered_parts(sub.key, DAY))[0] == got[0].message_id


class StoreGoesAwayAfter:
    """A real sender that switches the Store off the moment part `k` was accepted (Redis
    restarting just then), and on again once the delivery has waited `waits` times."""

    def __init__(self, inner: Sender, store: Switchable, k: int) -> None:
        self.inner, self.store, self.k = inner, store, k
        self.platform = inner.platform
        self.count = 0

    async def send(
        self,
        sub: Subscription,
        msg: OutMessage,
        thread_ref: str | None,
        *,
        day: dt.date | None = None,
    ) -> str:
        ref = await self.inner.send(sub, msg, thread_ref, day=day)
        self.count += 1
        if self.count == self.k:
            self.store.down = True
        return ref

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("k", [1, 3])
async def test_the_store_down_mid_delivery_pauses_it_and_every_part_goes_once(
    platforms: Platforms, store: Store, k: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis goes away right after part k was accepted: the part is recorded once it is
    back (not lost, not sent again), and the delivery goes on from there."""
    caplog.set_level(logging.WARNING)
    STORE_LINK.up()  # the process's view of the Store: up as this test starts
    p = platforms
    flaky = Switchable(store)
    sub = Subscription(platform="telegram", chat_id="-100555")
    messages = render_telegram(built_brief(papers=40))
    sender = StoreGoesAwayAfter(p.senders["telegram"], flaky, k)
    waits: list[float] = []

    async def redis_back_after_five_waits(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 5:
            flaky.down = False
        await asyncio.sleep(0)

    result = await asyncio.wait_for(
        deliver(sub, DAY, messages, store=flaky, sender=sender, sleep=redis_back_after_five_waits),
        20,
    )
    assert result.complete and result.sent == len(messages)
    assert [m.text for m in p.tg.by_chat("-100555")] == [m.text for m in messages]
    assert len(waits) == 5 and waits == sorted(waits)  # backing off, not spinning
    assert sorted(await store.delivered_parts(sub.key, DAY)) == list(range(len(messages)))
    downs = [r for r in caplog.records if "store: connection down" in r.getMessage()]
    ups = [r for r in caplog.records if "store: connection up again" in r.getMessage()]
    assert len(downs) == 1 and len(ups) == 1


async def test_failure_mid_way_stops_in_order_then_resumes(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    sub = Subscription(platform="telegram", chat_id="808")
    messages = render_telegram(reference_or_built_brief())
    sender = p.senders["telegram"]
    # Part 2 is refused once (HTTP 400): parts after it must wait, not go out of order.
    with pytest.raises(SimulatedCrash):
        await deliver(sub, DAY, messages, store=store, sender=CrashAfter(sender, 2))
    p.tg.fail_next(400, count=1, chat="808", description="Bad Request: something odd")
    result = await deliver(sub, DAY, messages, store=store, sender=sender)
    assert result.sent == 0 and result.skipped == 2 and result.failed == len(messages) - 2
    assert not result.complete and "something odd" in result.errors[0].lower()
    assert not await is_delivered(store, sub, DAY)
    result = await deliver(sub, DAY, messages, store=store, sender=sender)
    assert result.complete
    assert [m.text for m in p.tg.by_chat(808)] == [m.text for m in messages]


async def test_deliver_delivery_error_not_swallowed_as_crash(store: Store) -> None:
    class Refusing:
        platform: Platform = "telegram"

        async def send(self, sub, msg, thread_ref, *, day=None):  # type: ignore[no-untyped-def]
            raise DeliveryError("telegram", sub.chat_id, "message is too long")

        async def aclose(self) -> None:
            return None

    sub = Subscription(platform="telegram", chat_id="1")
    msgs = render_telegram(built_brief(papers=2))
    result = await deliver(sub, DAY, msgs, store=store, sender=Refusing())
    assert result.failed == len(msgs) and "message is too long" in result.errors[0]
    assert await store.delivered_parts(sub.key, DAY) == {}


# --- profiles ---------------------------------------------------------------------------


def test_profile_for_file_inline_and_errors(tmp_path: Path) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    path = tmp_path / "p.toml"
    path.write_text('name = "lab"\nlanguage = "en"\ninterests = ["agents"]\n', encoding="utf-8")
    from_file = profile_for(
        Subscription(platform="slack", chat_id="C1", profile_path=str(path), language="zh"),
        settings,
    )
    assert from_file.name == "lab" and from_file.language == "zh"
    inline = profile_for(
        Subscription(platform="slack", chat_id="C1", interests=["a", "b"]), settings
    )
    assert inline.name == "a, b" and inline.interests == ["a", "b"]  # titles the brief
    assert inline.categories == Profile.model_fields["categories"].get_default(
        call_default_factory=True
    )
    with pytest.raises(ProfileError):
        profile_for(
            Subscription(platform="slack", chat_id="C1", profile_path=str(tmp_path / "no.toml")),
            settings,
        )


async def test_bad_profile_fails_its_chat_only(
    platforms: Platforms, store: Store, tmp_path: Path
) -> None:
    p = platforms
    await save_all(
        store,
        [
            Subscription(platform="slack", chat_id="C1", profile_path=str(tmp_path / "x.toml")),
            Subscription(platform="slack", chat_id="C2", interests=["agents"]),
        ],
    )
    report = await push(p.settings, store, DAY, builder=Builder(), senders=p.senders)
    outcome = {o.sub.key: o for o in report.outcomes}
    assert "profile file not found" in (outcome["slack:C1"].error or "")
    assert outcome["slack:C2"].ok


async def test_cached_brief_is_reused_after_partial_delivery(
    platforms: Platforms, store: Store
) -> None:
    p = platforms
    sub = Subscription(platform="telegram", chat_id="9", interests=["agents"])
    await save_all(store, [sub])
    p.tg.fail_next(500, count=TRANSIENT_RETRIES + 1, chat="9")
    first = Builder()
    await push(p.settings, store, DAY, builder=first, senders=p.senders)
    cached = [
        k
        for k in [f"{profile_for(sub, p.settings).key}|{DAY.isoformat()}"]
        if await store.cache_get(BRIEF_NS, k)
    ]
    assert cached
    # A builder that would now produce a different brief is not asked.
    other = Builder(built_brief(papers=3))
    await push(p.settings, store, DAY, builder=other, senders=p.senders)
    assert other.calls == []
    assert received(p, sub) == expected(first.made[0], sub)


# --- shutdown ---------------------------------------------------------------------------


class StopAfterFirstPart:
    """A sender wrapper that asks for shutdown once the first part was accepted."""

    def __init__(self, inner: Sender, stop: asyncio.Event) -> None:
        self.inner, self.stop, self.platform = inner, stop, inner.platform

    async def send(
        self, sub: Subscription, msg: Any, thread_ref: str | None, *, day: Any = None
    ) -> str:
        ref = await self.inner.send(sub, msg, thread_ref, day=day)
        self.stop.set()  # SIGTERM arrives while this part was on its way
        return ref

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_shutdown_finishes_the_part_being_sent_and_resumes_later(
    platforms: Platforms, store: Store
) -> None:
    sub = Subscription(platform="telegram", chat_id="1001", interests=["LLM agents"])
    await store.save_subscription(sub)
    stop = asyncio.Event()
    wrapped = StopAfterFirstPart(platforms.senders["telegram"], stop)
    report = await push(
        platforms.settings, store, DAY, builder=Builder(), senders={"telegram": wrapped}, stop=stop
    )
    [outcome] = report.outcomes
    assert outcome.result is not None and outcome.result.sent == 1 and not outcome.ok
    assert "shutting down" in (outcome.result.errors[0])
    assert list(await store.delivered_parts(sub.key, DAY)) == [0]  # recorded as it is
    # The next run sends exactly the rest.
    again = await push(platforms.settings, store, DAY, builder=Builder(), senders=platforms.senders)
    assert again.outcomes[0].result is not None
    assert again.outcomes[0].result.skipped == 1 and again.outcomes[0].ok
    texts = [m.text for m in platforms.tg.by_chat(1001)]
    assert len(texts) == len(set(texts)) == outcome.parts


async def test_shutdown_during_the_build_abandons_it_and_sends_nothing(
    platforms: Platforms, store: Store
) -> None:
    sub = Subscription(platform="telegram", chat_id="1001", interests=["LLM agents"])
    await store.save_subscription(sub)
    stop = asyncio.Event()
    started = asyncio.Event()

    async def slow_builder(*args: Any, **kw: Any) -> Brief:
        started.set()
        await asyncio.Event().wait()  # arXiv taking its time
        raise AssertionError("unreachable")

    async def sigterm() -> None:
        await started.wait()
        stop.set()

    report, _ = await asyncio.gather(
        push(
            platforms.settings,
            store,
            DAY,
            builder=slow_builder,
            senders=platforms.senders,
            stop=stop,
        ),
        sigterm(),
    )
    assert [o.error for o in report.outcomes] == ["stopped: shutting down"]
    assert platforms.tg.by_chat(1001) == []


async def test_chats_sharing_a_brief_share_one_render(
    platforms: Platforms, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = PLATFORMS["telegram"]
    calls: list[str] = []
    real = adapter.render

    def counting(doc: Any, sub: Subscription) -> Any:
        calls.append(sub.chat_id)
        return real(doc, sub)

    monkeypatch.setattr(adapter, "render", counting)
    same = ["LLM agents"]
    for chat in ("11", "12", "13", "-100900"):
        await store.save_subscription(
            Subscription(platform="telegram", chat_id=chat, interests=same)
        )
    await store.save_subscription(
        Subscription(platform="telegram", chat_id="14", interests=same, threads=True)
    )
    report = await push(
        platforms.settings, store, DAY, builder=Builder(), senders=platforms.senders
    )
    assert report.delivered == 5
    assert len(calls) == 2  # one plain render for four chats, one threaded
    first = [m.text for m in platforms.tg.by_chat(11)]
    assert first and first == [m.text for m in platforms.tg.by_chat(-100900)]


async def test_status_shows_each_chats_day_at_a_glance(platforms: Platforms, store: Store) -> None:
    team = ["LLM agents"]
    ok = Subscription(platform="telegram", chat_id="1001", interests=team)
    blocked = Subscription(platform="telegram", chat_id="1002", interests=team)
    refusing = Subscription(platform="telegram", chat_id="1003", interests=team)
    later = Subscription(platform="slack", chat_id="C9", interests=team, time="23:59")
    for sub in (ok, blocked, refusing, later):
        await store.save_subscription(sub)
    platforms.tg.block_chat("1002")
    platforms.tg.fail_next(400, chat="1003", description="Bad Request: something odd")
    now = dt.datetime.combine(DAY, dt.time(9, 0), tzinfo=dt.UTC)
    subs = [ok, blocked, refusing]
    await push(
        platforms.settings, store, DAY, builder=Builder(), senders=platforms.senders,
        subscriptions=subs,
    )  # fmt: skip
    rows = {r["chat"]: r for r in await push_status(store, now)}
    assert rows["telegram:1001"]["state"] == "delivered"
    assert rows["telegram:1002"]["state"] == "inactive"
    assert "blocked" in (rows["telegram:1002"]["error"] or "")
    assert rows["telegram:1003"]["state"] == "failed"
    assert "something odd" in (rows["telegram:1003"]["error"] or "").lower()
    assert rows["slack:C9"]["state"] == "scheduled" and rows["slack:C9"]["day"] == str(DAY)
    assert platforms.tg.token not in str(rows)
