"""Chatting with paperdrop on Discord: slash commands, 👍/👎 buttons and a pick's thread.

Each test is a short conversation with the fake Discord (tests/fakes/discord_server.py):
it signs interactions with its Ed25519 key and POSTs them to the receiver's route on a
local aiohttp server, as Discord does to a bot's interactions endpoint, and it answers
the bot's REST calls (httpx) under Discord's limits. The bot answers through a real
Conversation on a real Store (SQLite and Redis). No network: the sources point at a
closed local port, and what a command needs of a paper is in the Store. The only waits
are bounded waits for the bot's answer (`fake.wait_until`); `finish()` is the bot's
graceful shutdown, after which every answer it was going to give has been given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.core.chat import ReceiverDeps
from bot.core.reconnect import Backoff
from bot.delivery.deliver import deliver, delivery_writes
from bot.platforms.discord import DiscordAdapter
from bot.platforms.discord.receive import INTERACTIONS_PATH, DiscordReceiver
from bot.platforms.discord.render import EMBED_TOTAL_MAX, render_discord
from bot.platforms.discord.send import DiscordSender
from bot.platforms.discord.settings import DiscordSettings
from bot.runtime.serve import start_service, stop_service
from digest.chatstate import get_votes, last_briefs, put_papers
from digest.errors import ChatGone, ConfigError
from digest.models import (
    Brief,
    Document,
    Paper,
    PaperItem,
    PaperLinks,
    Reply,
    Section,
    Subscription,
    abs_url,
    pdf_url,
)
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import Args, HandlerContext
from handlers.registry import COMMANDS, command
from tests.chat_helpers import WAIT, serve_routes
from tests.fakes.discord_server import DiscordMessage, FakeDiscord, InteractionReply
from tests.fixtures_reference import reference_brief

OFFLINE = "http://127.0.0.1:9"  # a closed local port: sources fail at once, nothing leaves
CHANNEL = "100000000000000001"
GUILD = "300000000000000001"
ADMIN_BITS = 1 << 3
PAPER = Paper(
    paper_id="2605.29559",
    title="Agents that plan with world models",
    abstract=(
        "We train a world model on video and use it to plan. "
        "The agent is trained with reinforcement learning inside the learned model. "
        "It beats model-free baselines on 12 of 14 tasks."
    ),
    authors=["Ada Lovelace"],
    published=dt.date(2026, 5, 29),
)


class Clock:
    """The fake's clock (interaction tokens, rate windows), moved by the test or by the
    bot's own waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def _own(fake: FakeDiscord) -> DiscordSettings:
    return DiscordSettings(
        _env_file=None,
        bot_token=fake.token,
        application_id=fake.application_id,
        public_key=fake.public_key,
        api_url=fake.base_url,
    )


def _settings() -> Settings:
    return Settings(
        _env_file=None,
        hf_base_url=OFFLINE,
        arxiv_api_url=OFFLINE,
        github_api_url=OFFLINE,
        http_retries=0,
        llm_api_key=None,
        language="en",
    )


def _brief(paper: Paper, title: str = "Brief") -> Brief:
    day = dt.date(2026, 5, 31)
    pick = PaperItem(
        paper_id=paper.paper_id,
        title=paper.title,
        links=PaperLinks(abs=abs_url(paper.paper_id), pdf=pdf_url(paper.paper_id)),
        contribution="A world model to plan in.",
    )
    return Brief(
        date=day,
        language="en",
        reader="r",
        title=title,
        overview="One paper today.",
        mode="extractive",
        generated_at=dt.datetime(2026, 5, 31, 8),
        window_start=day,
        window_end=day,
        sections=[Section(kind="top_picks", title="Top picks", items=[pick])],
    )


@dataclass
class Server:
    """A Discord server with paperdrop installed, seen from the people in it."""

    fake: FakeDiscord
    clock: Clock
    store: Store
    conversation: Conversation
    receiver: DiscordReceiver
    sender: DiscordSender
    url: str

    async def slash(self, name: str, **options: str) -> tuple[InteractionReply, dict[str, Any]]:
        """Someone uses `/name` in the channel: the HTTP reply and the interaction."""
        payload = self.fake.slash_command(name, options, guild_id=GUILD)
        return await self.fake.interact(self.url, payload), payload

    async def answer_to(self, payload: dict[str, Any], n: int = 1) -> list[DiscordMessage]:
        # A first /paper in a process loads the text libraries: seconds on a busy machine.
        await self.fake.wait_until(lambda: len(self.fake.replies_to(payload)) >= n, 3 * WAIT)
        return self.fake.replies_to(payload)

    async def push(self, brief: Brief) -> list[str]:
        """The morning brief, threaded, delivered to the channel as `push` does."""
        sub = Subscription(platform="discord", chat_id=CHANNEL, threads=True)
        messages = render_discord(brief, threads=True)
        result = await deliver(sub, brief.date, messages, store=self.store, sender=self.sender)
        previous = await last_briefs(self.store, sub.key)
        await self.store.write(delivery_writes(sub, brief, messages, result, previous))
        assert result.complete, result.errors
        return [result.refs[m.part] for m in messages]

    async def finish(self) -> None:
        await self.receiver.stop()
        await self.conversation.close()


@asynccontextmanager
async def _server(store: Store, **fake_kw: Any) -> AsyncIterator[Server]:
    clock = Clock()
    fake = FakeDiscord(clock=clock, **fake_kw)
    async with fake:
        own = _own(fake)
        settings = _settings()
        conversation = Conversation(settings, store)
        sender = DiscordSender(own, sleep=clock.sleep)
        receiver = DiscordAdapter(own).make_receiver(
            ReceiverDeps(settings, store, conversation, sender)
        )
        assert isinstance(receiver, DiscordReceiver)
        try:
            async with serve_routes(receiver, INTERACTIONS_PATH) as url:
                await receiver.start()
                yield Server(fake, clock, store, conversation, receiver, sender, url)
        finally:
            await receiver.stop()
            await conversation.close()
            await sender.aclose()


@pytest.fixture
async def discord(store: Store) -> AsyncIterator[Server]:
    async with _server(store) as server:
        yield server


# -- start, ping, signatures ---------------------------------------------------------------


async def test_start_registers_the_registry_s_commands_and_ping_is_ponged(
    discord: Server,
) -> None:
    names = [c["name"] for c in discord.fake.commands]
    listed = [c.name for c in COMMANDS.values() if not c.hidden]
    assert names == [*listed, "ask"]  # /feedback is a button's, not a command
    paper = next(c for c in discord.fake.commands if c["name"] == "paper")
    assert paper["options"][0]["type"] == 3 and paper["description_localizations"]["zh-CN"]
    reply = await discord.fake.interact(discord.url, discord.fake.ping())
    assert (reply.status, reply.body) == (200, {"type": 1})
    assert discord.receiver.running


@pytest.mark.parametrize("case", ["forged signature", "stale timestamp"])
async def test_unsigned_or_stale_requests_get_401_and_nothing_happens(
    discord: Server, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    payload = discord.fake.slash_command("subscribe", guild_id=GUILD)
    before = list(discord.fake.requests)
    with caplog.at_level(logging.INFO):
        if case == "forged signature":
            reply = await discord.fake.interact(discord.url, payload, forge=True)
        else:
            stale = str(int(time.time()) - 3600)
            reply = await discord.fake.interact(discord.url, payload, timestamp=stale)
        await discord.finish()
    assert reply.status == 401
    assert await discord.store.get_subscription("discord", CHANNEL) is None
    assert discord.fake.requests == before and discord.fake.messages == []
    assert "refused an unsigned or stale request" in caplog.text
    assert discord.fake.token not in caplog.text


# -- slash commands ------------------------------------------------------------------------


async def test_help_is_deferred_at_once_then_edits_the_reply(discord: Server) -> None:
    started = time.monotonic()
    reply, payload = await discord.slash("help")
    assert time.monotonic() - started < 3.0  # Discord's deadline for the first answer
    assert (reply.status, reply.body) == (200, {"type": 5})
    [answer] = await discord.answer_to(payload)
    assert answer.via == "original"
    assert "/paper" in answer.text and "/subscribe" in answer.text
    assert "/feedback" not in answer.text


async def test_paper_is_a_deferred_ack_then_a_card_within_the_limits(discord: Server) -> None:
    await put_papers(discord.store, [PAPER])
    reply, payload = await discord.slash("paper", args=PAPER.paper_id)
    assert reply.body == {"type": 5}
    answers = await discord.answer_to(payload)
    await discord.finish()
    answers = discord.fake.replies_to(payload)
    assert answers[0].via == "original"
    shown = "\n".join(m.text for m in answers)
    assert PAPER.title in shown and "We train a world model on video" in shown
    assert f"https://arxiv.org/abs/{PAPER.paper_id}" in str(answers[0].embeds)
    for message in answers:  # the fake refuses what Discord would: these went through
        assert len(message.embeds) <= 10
        assert (
            sum(len(e.get("description", "")) + len(e.get("title", "")) for e in message.embeds)
            <= EMBED_TOTAL_MAX
        )
    assert discord.fake.rejections == []


async def test_a_bad_id_gets_a_clear_answer(discord: Server) -> None:
    _, payload = await discord.slash("paper", args="9999.99999")
    [answer] = await discord.answer_to(payload)
    assert "“9999.99999” is not an arXiv id" in answer.text


async def test_subscribe_is_for_admins_in_a_server(discord: Server) -> None:
    refused = discord.fake.slash_command("subscribe", guild_id=GUILD, admin=False)
    await discord.fake.interact(discord.url, refused)
    [no] = await discord.answer_to(refused)
    assert "Only chat admins can use /subscribe" in no.text
    assert await discord.store.get_subscription("discord", CHANNEL) is None
    _, allowed = await discord.slash("subscribe", args="07:30 Europe/Berlin")
    [yes] = await discord.answer_to(allowed)
    assert "Subscribed" in yes.text
    sub = await discord.store.get_subscription("discord", CHANNEL)
    assert sub is not None and (sub.time, sub.tz) == ("07:30", "Europe/Berlin")


@pytest.fixture
def whoami() -> Iterator[str]:
    """A command whose answer is private (Reply.private), registered like any handler."""

    @command("whoami")
    async def whoami_command(ctx: HandlerContext, args: Args) -> Document:
        """Who you are to the bot."""
        reply = Reply.text(ctx.language, f"You are {ctx.user.user_id}.")
        reply.private = True
        return reply

    yield "whoami"
    del COMMANDS["whoami"]


async def test_a_private_answer_is_ephemeral_and_the_public_reply_is_removed(
    discord: Server, whoami: str
) -> None:
    _, payload = await discord.slash(whoami)
    [note] = await discord.answer_to(payload)
    assert note.ephemeral and note.via == "followup" and "You are" in note.text
    assert discord.fake.deleted_originals == [payload["token"]]


# -- the morning brief, buttons, threads ---------------------------------------------------


async def test_a_pushed_brief_splits_within_the_limits_with_buttons_and_threads(
    discord: Server,
) -> None:
    brief = reference_brief()
    refs = await discord.push(brief)
    messages = discord.fake.in_channel(CHANNEL)
    assert [m.id for m in messages] == refs and len(messages) > 3
    assert discord.fake.rejections == [] and discord.fake.mass_mentions == []
    picks = brief.section("top_picks")
    assert picks is not None
    pick_ids = [i.paper_id for i in picks.items if isinstance(i, PaperItem)]
    with_buttons = [m for m in messages if m.custom_ids]
    assert [m.custom_ids for m in with_buttons] == [
        [f"fb|up:{pid}", f"fb|down:{pid}"] for pid in pick_ids
    ]
    # Each pick's message opened a thread of its own, named after the pick.
    assert sorted(discord.fake.threads) == sorted(m.id for m in with_buttons)
    assert all(name[0].isdigit() for name in discord.fake.thread_names.values())


async def test_a_click_on_thumbs_up_records_the_vote_once(discord: Server) -> None:
    await discord.push(_brief(PAPER))
    [pick] = [m for m in discord.fake.in_channel(CHANNEL) if m.custom_ids]
    replies = []
    for _ in range(2):  # an eager double click
        click = discord.fake.button_click(pick, f"fb|up:{PAPER.paper_id}", guild_id=GUILD)
        replies.append(await discord.fake.interact(discord.url, click))
        await discord.answer_to(click)
    assert [r.body for r in replies] == [{"type": 6}, {"type": 6}]
    notes = [m for m in discord.fake.messages if m.via == "followup"]
    assert [n.ephemeral for n in notes] == [True, True]
    assert "Thanks" in notes[0].text and "Already noted" in notes[1].text
    [vote] = await get_votes(discord.store, f"discord:{CHANNEL}")
    assert (vote.paper_id, vote.value) == (PAPER.paper_id, 1)
    assert pick.edits == 0  # the pick stays as it was


async def test_a_click_on_a_button_the_bot_never_makes_is_acknowledged_and_ignored(
    discord: Server,
) -> None:
    # Only a click a button of ours may run goes on: not an admin-only command (even an
    # admin's click), not an action nothing runs, not a value no button holds.
    await discord.push(_brief(PAPER))
    [pick] = [m for m in discord.fake.in_channel(CHANNEL) if m.custom_ids]
    replies = []
    for data in ("subscribe|08:00", "zz|1", "fb|up 2605.29559"):
        click = discord.fake.button_click(pick, data, guild_id=GUILD)
        replies.append(await discord.fake.interact(discord.url, click))
    await discord.finish()
    assert [r.body for r in replies] == [{"type": 6}] * 3
    assert [m for m in discord.fake.messages if m.via == "followup"] == []
    assert await discord.store.get_subscription("discord", CHANNEL) is None
    assert await get_votes(discord.store, f"discord:{CHANNEL}") == []


async def test_ask_in_a_picks_thread_is_answered_there_about_that_paper(discord: Server) -> None:
    await put_papers(discord.store, [PAPER])
    await discord.push(_brief(PAPER))
    [thread] = discord.fake.threads
    ask = discord.fake.slash_command(
        "ask",
        {"question": "how is the agent trained?"},
        channel_id=thread,
        guild_id=GUILD,
        thread_of=CHANNEL,
    )
    reply = await discord.fake.interact(discord.url, ask)
    [answer] = await discord.answer_to(ask)
    assert reply.body == {"type": 5}
    assert answer.channel_id == thread
    assert "reinforcement learning inside the learned model" in answer.text


# -- limits, markup, expiry ----------------------------------------------------------------


async def test_a_429_with_a_float_retry_after_is_waited_out(store: Store) -> None:
    async with _server(store, enforce_rate_limits=True) as discord:
        sub = Subscription(platform="discord", chat_id=CHANNEL)
        [msg] = render_discord(Reply.text("en", "hello"))
        discord.fake.fail_next(429, method="messages", chat=CHANNEL, retry_after=2)
        first = await discord.sender.send(sub, msg, None)
        # Then the route's bucket, told by X-RateLimit-Remaining: waited for, not hit.
        for _ in range(6):
            await discord.sender.send(sub, msg, None)
    assert first and discord.clock.slept[0] == 2.0
    assert len(discord.fake.in_channel(CHANNEL)) == 7
    assert [r for r in discord.fake.rejections if r.status == 429][:1] and len(
        [r for r in discord.fake.rejections if r.status == 429]
    ) == 1
    assert any(4.9 <= s <= 5.0 for s in discord.clock.slept[1:])


async def test_markup_and_everyone_never_become_markup_or_a_mention(discord: Server) -> None:
    nasty = "@everyone **bold** <@123> [x](https://evil.example) `code` # head"
    paper = PAPER.model_copy(update={"title": nasty})
    await put_papers(discord.store, [paper])
    await discord.push(_brief(paper, title=f"@here {nasty}"))
    messages = discord.fake.in_channel(CHANNEL)
    assert discord.fake.mass_mentions == []
    raw = "\n".join(
        f"{e.get('title', '')}\n{e.get('description', '')}" for m in messages for e in m.embeds
    )
    assert "@everyone" not in raw and "@here" not in raw and "<@123>" not in raw
    assert "[x](https://evil" not in raw and "**bold**" not in raw and r"\<@123\>" in raw
    # A thread's name is plain text (never Markdown); a mass mention is broken all the same.
    [name] = discord.fake.thread_names.values()
    assert "@everyone" not in name and "@\u200beveryone" in name
    _, payload = await discord.slash("paper", args=f"{nasty} 2605.29559")
    [answer] = await discord.answer_to(payload)
    assert "@everyone" not in str(answer.embeds) and discord.fake.mass_mentions == []


@pytest.fixture
def slow() -> Iterator[asyncio.Event]:
    """A command that answers once the test lets it (its interaction may expire)."""
    go = asyncio.Event()

    @command("slow")
    async def slow_command(ctx: HandlerContext, args: Args) -> Document:
        """Takes its time."""
        await go.wait()
        return Reply.text(ctx.language, "Done at last.")

    yield go
    del COMMANDS["slow"]


async def test_an_expired_interaction_token_answers_in_the_channel(
    discord: Server, slow: asyncio.Event
) -> None:
    reply, payload = await discord.slash("slow")
    assert reply.body == {"type": 5}
    discord.clock.now += 16 * 60  # past the token's 15 minutes
    slow.set()
    await discord.fake.wait_until(lambda: bool(discord.fake.in_channel(CHANNEL)), WAIT)
    [answer] = discord.fake.in_channel(CHANNEL)
    assert answer.via == "channel" and "Done at last." in answer.text
    assert discord.fake.replies_to(payload) == []


# -- refusals, secrets, serve --------------------------------------------------------------


async def test_a_channel_the_bot_may_not_post_in_is_gone_and_no_secret_is_told(
    discord: Server, caplog: pytest.LogCaptureFixture
) -> None:
    sub = Subscription(platform="discord", chat_id=CHANNEL)
    [msg] = render_discord(Reply.text("en", "hello"))
    discord.fake.fail_next(403, method="messages", chat=CHANNEL)
    with pytest.raises(ChatGone) as gone:
        await discord.sender.send(sub, msg, None)
    assert "HTTP 403" in gone.value.reason
    assert discord.fake.token not in str(gone.value) + caplog.text + repr(discord.sender)


async def test_a_refused_bot_token_fails_the_start_for_good(store: Store) -> None:
    fake = FakeDiscord()
    async with fake:
        own = _own(fake).model_copy(update={"bot_token": SecretStr("not-the-token")})
        conversation = Conversation(_settings(), store)
        receiver = DiscordReceiver(ReceiverDeps(_settings(), store, conversation), own)
        with pytest.raises(ConfigError, match="PAPERDROP_DISCORD_BOT_TOKEN") as refused:
            await receiver.start()
        await receiver.stop()
        await conversation.close()
    assert "not-the-token" not in str(refused.value) and not receiver.running
    assert fake.commands == []


async def test_serve_mounts_the_endpoint_and_readyz_names_discord_until_it_answers(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDiscord()
    async with fake:
        own = _own(fake)
        for name, value in (
            ("BOT_TOKEN", fake.token),
            ("APPLICATION_ID", own.application_id),
            ("PUBLIC_KEY", own.public_key),
            ("API_URL", own.api_url),
        ):
            monkeypatch.setenv(f"PAPERDROP_DISCORD_{name}", value)
        fake.fail_next(502, method="me", count=3)  # Discord down at boot for a while
        settings = _settings().model_copy(update={"http_port": 0})
        stop = asyncio.Event()
        service, _ = await start_service(
            settings, store, stop=stop, schedule=False, backoff=Backoff(base=0.05, cap=0.1)
        )
        try:
            assert service.address is not None
            base = f"http://{service.address[0]}:{service.address[1]}"
            async with httpx.AsyncClient(base_url=base) as http:
                first = await http.get("/readyz")
                async with asyncio.timeout(WAIT):  # serve's backoff, on real but tiny waits
                    while True:
                        ready = await http.get("/readyz")
                        if ready.status_code == 200:
                            break
                        await asyncio.sleep(0.02)
            pong = await fake.interact(base + INTERACTIONS_PATH, fake.ping())
        finally:
            stop.set()
            await stop_service(service, None, grace=1.0)
    assert first.status_code == 503
    assert any(r.startswith("discord: not connected:") for r in first.json()["reasons"])
    assert ready.json()["platforms"] == ["discord"]
    assert pong.body == {"type": 1}
