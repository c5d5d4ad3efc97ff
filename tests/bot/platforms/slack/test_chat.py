"""Chatting with paperdrop on Slack: slash commands, mentions, DMs and 👍 clicks.

Each test is a short conversation in the fake Slack workspace (tests/fakes/slack_server.py),
delivered through the real SDKs: over HTTP, Slack's signed POSTs reach the receiver's
route on a local aiohttp server, and bolt verifies them; in Socket Mode, envelopes reach
bolt's AsyncSocketModeHandler. The bot answers through a real Conversation on a real Store
(SQLite and Redis). No network: arXiv, Hugging Face and GitHub point at a closed local port,
and what a command needs of a paper is in the Store. The only waits are bounded waits for
the bot's answer (fake.wait_until, WAIT seconds); `finish()` is the bot's graceful
shutdown, after which every answer it was going to give has been given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.core.chat import ReceiverDeps
from bot.core.reconnect import Backoff
from bot.platforms import PLATFORMS
from bot.platforms.slack.receive import EVENTS_PATH, SlackReceiver
from bot.platforms.slack.render import render_slack
from bot.platforms.slack.send import SlackSender
from digest.chatstate import feedback_buttons, get_votes, put_papers, thread_key
from digest.errors import ConfigError
from digest.models import Button, Document, Paper, Reply, Subscription
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import Args, HandlerContext
from handlers.registry import COMMANDS, command
from tests.chat_helpers import serve_routes
from tests.fakes import slack_events as ev
from tests.fakes.slack_server import (
    ACK_DEADLINE,
    BOT_USER_ID,
    AppReply,
    FakeSlack,
    SlackMessage,
    SlackResponse,
)
from tests.platform_settings import make_settings, updated

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the signing secret Slack and the bot share
WAIT = 10.0  # seconds: a bound on waiting for the bot's answer, never a sleep
OFFLINE = "http://127.0.0.1:9"  # a closed local port: sources fail at once, nothing leaves
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


def _settings(fake: FakeSlack, *, socket_mode: bool = False) -> Settings:
    return make_settings(
        slack_bot_token=SecretStr(fake.token),
        slack_api_url=fake.base_url,
        slack_app_token=SecretStr(fake.app_token or "") if socket_mode else None,
        slack_signing_secret=None if socket_mode else SecretStr(SECRET),
        hf_base_url=OFFLINE,
        arxiv_api_url=OFFLINE,
        github_api_url=OFFLINE,
        http_retries=0,
        llm_api_key=None,
        language="en",
    )


def _shown(blocks: list[dict[str, Any]] | None) -> str:
    """Every text string in the blocks: what the reader sees, markup and all."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    out.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks or [])
    return "\n".join(out)


@dataclass
class Workspace:
    """A Slack workspace with paperdrop installed, seen from the people in it."""

    fake: FakeSlack
    store: Store
    conversation: Conversation
    receiver: SlackReceiver
    sender: SlackSender
    url: str

    async def send(self, kind: ev.PayloadKind, payload: dict[str, Any], **kw: Any) -> AppReply:
        return await self.fake.deliver(self.url, kind, payload, signing_secret=SECRET, **kw)

    async def slash(
        self, text: str, *, user: str = "U1", channel: str = "C1"
    ) -> tuple[AppReply, SlackResponse]:
        """`user` types `/paperdrop <text>`: Slack's HTTP reply (the ack) and the answer
        at the command's response_url."""
        command = self.fake.slash_command(text, user_id=user, channel_id=channel)
        ack = await self.send("slash_commands", command)
        url = command["response_url"]
        await self.fake.wait_until(lambda: bool(self.fake.responses_to(url)), WAIT)
        return ack, self.fake.responses_to(url)[0]

    async def say(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        thread_ts: str | None = None,
        mention: bool = False,
        wait: float = WAIT,
    ) -> tuple[dict[str, Any], SlackMessage]:
        """`user` posts `text` (with `mention`, as an @paperdrop mention): the event Slack
        delivered and the bot's answer (waited for at most `wait` seconds)."""
        before = len(self.fake.by_channel(channel))
        event = self.fake.user_message(
            text, channel=channel, user=user, thread_ts=thread_ts, mention=mention
        )
        reply = await self.send("events_api", ev.event_callback(event))
        assert reply.status == 200
        await self.fake.wait_until(lambda: len(self.fake.by_channel(channel)) > before, wait)
        return event, self.fake.by_channel(channel)[before]

    async def post_pick(self, channel: str = "C1") -> str:
        """The bot posts a pick with 👍/👎 (as the morning brief does); its ts."""
        pick = Reply.text("en", PAPER.title, title="Top pick")
        pick.buttons = list(feedback_buttons(PAPER.paper_id))
        pick.paper_id = PAPER.paper_id
        [msg] = render_slack(pick)
        return await self.sender.send(Subscription(platform="slack", chat_id=channel), msg, None)

    async def finish(self) -> None:
        """Shut the bot down in order: no new events, answers in flight completed."""
        await self.receiver.stop()
        await self.conversation.close()


@asynccontextmanager
async def _workspace(store: Store, *, socket_mode: bool = False) -> AsyncIterator[Workspace]:
    async with FakeSlack() as fake:
        fake.add_user("U1", name="ben")
        fake.add_user("UADMIN", name="ada", is_admin=True)
        settings = _settings(fake, socket_mode=socket_mode)
        conversation = Conversation(settings, store)
        sender = SlackSender(settings)
        deps = ReceiverDeps(settings, store, conversation, sender)
        receiver = PLATFORMS["slack"].make_receiver(deps)
        assert isinstance(receiver, SlackReceiver)
        try:
            async with serve_routes(receiver, EVENTS_PATH) as url:
                await receiver.start()
                yield Workspace(fake, store, conversation, receiver, sender, url)
        finally:
            await receiver.stop()  # before the fake goes: a socket would try to reconnect
            await conversation.close()
            await sender.aclose()


@pytest.fixture
async def slack(store: Store) -> AsyncIterator[Workspace]:
    async with _workspace(store) as workspace:
        yield workspace


# -- slash commands --------------------------------------------------------------------


async def test_slash_help_is_acked_at_once_and_answered_at_the_response_url(
    slack: Workspace,
) -> None:
    ack, answer = await slack.slash("help")
    # The ack is the HTTP reply itself, well inside Slack's 3 s, and says nothing.
    assert (ack.status, ack.text) == (200, "")
    assert ack.elapsed < ACK_DEADLINE
    assert answer.response_type == "in_channel" and answer.replace_original is False
    shown = _shown(answer.blocks)
    assert "/paper" in shown and "/subscribe" in shown and "/feedback" not in shown
    assert answer.text  # the notification fallback goes with the blocks
    assert slack.fake.messages == [] and slack.fake.warnings == []


async def test_slash_with_no_text_is_help(slack: Workspace) -> None:
    _, answer = await slack.slash("")
    assert "/subscribe" in _shown(answer.blocks)


async def test_slash_paper_with_a_bad_id_gets_a_clear_answer(slack: Workspace) -> None:
    ack, answer = await slack.slash("paper 9999.99999")
    # A command that may take a while says so in its ack (an ephemeral note).
    assert (ack.status, ack.text) == (200, "Working on it…")
    assert "“9999.99999” is not an arXiv id" in _shown(answer.blocks)
    assert answer.response_type == "in_channel"


async def test_slash_unknown_command_points_to_help(slack: Workspace) -> None:
    _, answer = await slack.slash("frobnicate")
    # Slack's own /help is not ours: the pointer names the slash command that works here.
    assert "Unknown command /paperdrop frobnicate. /paperdrop help lists" in _shown(answer.blocks)


async def test_slash_subscribe_is_for_admins_in_channels(slack: Workspace) -> None:
    _, refused = await slack.slash("subscribe", user="U1")
    assert "Only chat admins can use /paperdrop subscribe" in _shown(refused.blocks)
    assert await slack.store.get_subscription("slack", "C1") is None

    _, done = await slack.slash("subscribe 07:30 Europe/Berlin", user="UADMIN")
    assert "Subscribed" in _shown(done.blocks)
    sub = await slack.store.get_subscription("slack", "C1")
    assert sub is not None and (sub.time, sub.tz) == ("07:30", "Europe/Berlin")
    asked = [p.get("user") for m, p in slack.fake.requests if m == "users.info"]
    assert asked == ["U1", "UADMIN"]


async def test_slash_subscribe_in_a_dm_needs_no_admin(slack: Workspace) -> None:
    _, done = await slack.slash("subscribe", user="U1", channel="D1")
    assert "Subscribed" in _shown(done.blocks)
    assert await slack.store.get_subscription("slack", "D1") is not None
    assert not [m for m, _ in slack.fake.requests if m == "users.info"]


@pytest.fixture
def whoami(slack: Workspace) -> Iterator[str]:
    """A command whose answer is private (Reply.private), registered like any handler."""

    @command("whoami")
    async def whoami_command(ctx: HandlerContext, args: Args) -> Document:
        """Who you are to the bot."""
        reply = Reply.text(ctx.language, f"You are {ctx.user.user_id} in {ctx.chat.chat_id}.")
        reply.private = True
        return reply

    yield "whoami"
    del COMMANDS["whoami"]


async def test_private_answer_to_a_slash_command_is_ephemeral(
    slack: Workspace, whoami: str
) -> None:
    _, answer = await slack.slash(whoami, user="U1", channel="C1")
    assert answer.response_type == "ephemeral" and answer.user == "U1"
    assert "You are U1 in C1." in _shown(answer.blocks)
    assert slack.fake.messages == []


async def test_private_answer_to_a_mention_is_ephemeral_in_its_thread(
    slack: Workspace, whoami: str
) -> None:
    event = slack.fake.user_message(
        f"<@{BOT_USER_ID}> {whoami}", channel="C1", user="U1", mention=True
    )
    await slack.send("events_api", ev.event_callback(event))
    await slack.fake.wait_until(lambda: bool(slack.fake.ephemerals), WAIT)
    [note] = slack.fake.ephemerals
    assert (note.channel, note.user, note.thread_ts) == ("C1", "U1", event["ts"])
    assert "You are U1 in C1." in _shown(note.blocks)
    assert slack.fake.messages == []


async def test_answer_falls_back_to_a_message_when_the_response_url_fails(
    slack: Workspace,
) -> None:
    command = slack.fake.slash_command("help", user_id="U1", channel_id="C1")
    url_id = command["response_url"].rsplit("/", 1)[-1]
    slack.fake.fail_next(500, method="response_url", chat=url_id)
    await slack.send("slash_commands", command)
    await slack.fake.wait_until(lambda: bool(slack.fake.by_channel("C1")), WAIT)
    [message] = slack.fake.by_channel("C1")
    assert "/subscribe" in _shown(message.blocks) and message.thread_ts is None
    assert slack.fake.responses == []


# -- mentions, DMs, threads --------------------------------------------------------------


async def test_mention_in_a_channel_is_answered_in_a_thread_under_it(slack: Workspace) -> None:
    mention, answer = await slack.say(f"<@{BOT_USER_ID}> paper x", mention=True)
    assert answer.thread_ts == mention["ts"]
    assert "“x” is not an arXiv id" in _shown(answer.blocks)


async def test_dm_help_is_answered_in_the_dm(slack: Workspace) -> None:
    _, answer = await slack.say("help", channel="D1")
    assert "/subscribe" in _shown(answer.blocks)
    assert answer.thread_ts is None  # a DM is a conversation already


async def test_dm_link_is_read_as_its_url(slack: Workspace) -> None:
    # Slack sends a pasted link as <url|label>: the command gets the URL.
    text = "paper <http://arxiv.org/abs/2613.00001|arxiv.org/abs/2613.00001>"
    _, answer = await slack.say(text, channel="D1")
    assert "“http://arxiv.org/abs/2613.00001” is not an arXiv id" in _shown(answer.blocks)


async def test_channel_chatter_without_a_mention_is_ignored(slack: Workspace) -> None:
    event = slack.fake.user_message("paper 2605.29559 looks good", channel="C1", user="U1")
    reply = await slack.send("events_api", ev.event_callback(event))
    await slack.finish()
    assert reply.status == 200 and slack.fake.messages == []


async def test_question_in_a_picks_thread_is_answered_there_about_that_paper(
    slack: Workspace,
) -> None:
    await put_papers(slack.store, [PAPER])
    pick = await slack.post_pick()
    # What delivery remembers about a pick it posted.
    key = thread_key("slack", "C1", pick)
    await slack.store.save_thread(key, {"paper_id": PAPER.paper_id}, dt.timedelta(days=1))
    _, answer = await slack.say(
        f"<@{BOT_USER_ID}> how is the agent trained?", thread_ts=pick, mention=True
    )
    assert answer.thread_ts == pick
    assert "reinforcement learning inside the learned model" in _shown(answer.blocks)


async def test_follow_up_in_the_thread_of_a_paper_card_is_about_that_paper(
    slack: Workspace,
) -> None:
    await put_papers(slack.store, [PAPER])
    # A first /paper in a process loads the text libraries: seconds on a busy machine.
    mention, card = await slack.say(
        f"<@{BOT_USER_ID}> paper {PAPER.paper_id}", mention=True, wait=3 * WAIT
    )
    assert card.thread_ts == mention["ts"] and PAPER.title in _shown(card.blocks)
    _, answer = await slack.say(
        f"<@{BOT_USER_ID}> how is the agent trained?", thread_ts=mention["ts"], mention=True
    )
    assert answer.thread_ts == mention["ts"]
    assert "reinforcement learning inside the learned model" in _shown(answer.blocks)


async def test_event_retried_by_slack_is_answered_once(slack: Workspace) -> None:
    event = slack.fake.user_message(f"<@{BOT_USER_ID}> help", channel="C1", user="U1", mention=True)
    envelope = ev.event_callback(event)
    first = await slack.send("events_api", envelope)
    await slack.fake.wait_until(lambda: bool(slack.fake.by_channel("C1")), WAIT)
    again = await slack.send("events_api", envelope, retry_num=1, retry_reason="http_timeout")
    await slack.finish()
    assert (first.status, again.status) == (200, 200)
    assert len(slack.fake.by_channel("C1")) == 1


# -- buttons -----------------------------------------------------------------------------


async def test_thumbs_up_is_acknowledged_and_counted_once(slack: Workspace) -> None:
    pick = await slack.post_pick()
    replies = []
    for _ in range(2):  # an eager double click
        click = slack.fake.block_actions("fb:0", user_id="U1", channel_id="C1", message_ts=pick)
        replies.append(await slack.send("interactive", click))
        await slack.fake.wait_until(lambda: len(slack.fake.responses) == len(replies), WAIT)
    assert [(r.status, r.text) for r in replies] == [(200, ""), (200, "")]
    thanks, again = slack.fake.responses
    assert "Thanks" in _shown(thanks.blocks) and "Already noted" in _shown(again.blocks)
    for note in (thanks, again):  # seen by the clicker only; the pick stays as it is
        assert (note.response_type, note.replace_original, note.user) == (
            "ephemeral",
            False,
            "U1",
        )
    [vote] = await get_votes(slack.store, "slack:C1")
    assert (vote.paper_id, vote.value) == (PAPER.paper_id, 1)
    assert len(slack.fake.messages) == 1  # nothing said in the channel


async def test_a_click_on_a_button_the_bot_never_makes_is_acknowledged_and_ignored(
    slack: Workspace,
) -> None:
    # Only a click a button of ours may run goes on: not an admin-only command (even an
    # admin's click), not an action nothing runs.
    old = Reply.text("en", "An old message", title="")
    old.buttons = [
        Button(label="Subscribe", action="subscribe", value="08:00"),
        Button(label="?", action="zz", value="1"),
    ]
    [msg] = render_slack(old)
    ts = await slack.sender.send(Subscription(platform="slack", chat_id="C1"), msg, None)
    replies = []
    for action_id in ("subscribe:0", "zz:1"):
        click = slack.fake.block_actions(
            action_id, user_id="UADMIN", channel_id="C1", message_ts=ts
        )
        replies.append(await slack.send("interactive", click))
    await slack.finish()
    assert [(r.status, r.text) for r in replies] == [(200, ""), (200, "")]
    assert slack.fake.responses == [] and len(slack.fake.messages) == 1
    assert await slack.store.get_subscription("slack", "C1") is None


# -- what Slack did not send -------------------------------------------------------------


@pytest.mark.parametrize("case", ["forged signature", "stale timestamp"])
async def test_unsigned_or_stale_requests_get_401_and_change_nothing(
    slack: Workspace, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    kwargs: dict[str, Any] = {}
    if case == "forged signature":
        kwargs["headers"] = {"X-Slack-Signature": "v0=" + "0" * 64}
    else:
        kwargs["timestamp"] = int(time.time()) - ev.MAX_SIGNATURE_AGE - 60
    command = slack.fake.slash_command("subscribe", user_id="UADMIN", channel_id="C1")
    with caplog.at_level(logging.INFO):
        reply = await slack.send("slash_commands", command, **kwargs)
        await slack.finish()
    assert reply.status == 401
    assert await slack.store.get_subscription("slack", "C1") is None
    assert slack.fake.responses == [] and slack.fake.requests == []
    assert "refused an unsigned or stale request" in caplog.text
    assert SECRET not in caplog.text and slack.fake.token not in caplog.text


async def test_url_verification_is_answered(slack: Workspace) -> None:
    reply = await slack.send("events_api", ev.url_verification("3eZbrw1a"))
    assert reply.status == 200 and reply.json() == {"challenge": "3eZbrw1a"}


async def test_after_stop_requests_are_turned_away(slack: Workspace) -> None:
    await slack.receiver.stop()
    command = slack.fake.slash_command("help", user_id="U1", channel_id="C1")
    reply = await slack.send("slash_commands", command)
    await slack.conversation.close()
    assert reply.status == 503  # Slack retries events elsewhere; nothing half-done here
    assert slack.fake.responses == [] and slack.fake.requests == []


# -- Socket Mode ---------------------------------------------------------------------------


async def _until(fake: FakeSlack, predicate: Callable[[], bool]) -> None:
    await fake.wait_until(predicate, WAIT)


async def _polled(predicate: Callable[[], bool]) -> None:
    """Until `predicate()` holds for the receiver's own state (nothing the fake records)."""
    async with asyncio.timeout(WAIT):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


async def test_socket_mode_slash_command_is_acked_and_answered(store: Store) -> None:
    async with _workspace(store, socket_mode=True) as slack:
        assert slack.receiver.routes() == []  # no public URL needed
        fake = slack.fake
        command = fake.slash_command("paper 9999.99999", user_id="U1", channel_id="C1")
        envelope_id = await fake.socket_send("slash_commands", command)
        _, ack = await fake.wait_ack(envelope_id, WAIT)
        await _until(fake, lambda: bool(fake.responses_to(command["response_url"])))
        [answer] = fake.responses_to(command["response_url"])
        help_command = fake.slash_command("help", user_id="U1", channel_id="C1")
        help_ack = await fake.wait_ack(await fake.socket_send("slash_commands", help_command))
        await _until(fake, lambda: bool(fake.responses_to(help_command["response_url"])))
    assert ack == {"text": "Working on it…"} and help_ack[1] is None
    assert fake.ack_latency(envelope_id) < ACK_DEADLINE
    assert "“9999.99999” is not an arXiv id" in _shown(answer.blocks)
    assert answer.response_type == "in_channel"
    assert fake.rejections == []


async def test_socket_mode_dm_retried_is_answered_once(store: Store) -> None:
    async with _workspace(store, socket_mode=True) as slack:
        fake = slack.fake
        envelope = ev.event_callback(fake.user_message("help", channel="D1", user="U1"))
        await fake.wait_ack(await fake.socket_send("events_api", envelope), WAIT)
        await _until(fake, lambda: bool(fake.by_channel("D1")))
        retry = await fake.socket_send("events_api", envelope, retry_attempt=1)
        await fake.wait_ack(retry, WAIT)
        await slack.finish()
    [answer] = fake.by_channel("D1")
    assert "/subscribe" in _shown(answer.blocks)


async def test_socket_mode_stop_returns_promptly_and_closes_the_socket(store: Store) -> None:
    async with _workspace(store, socket_mode=True) as slack:
        await slack.fake.wait_socket(WAIT)
        started = time.monotonic()
        await asyncio.wait_for(slack.receiver.stop(), WAIT)
        stopped_in = time.monotonic() - started
        await _until(slack.fake, lambda: slack.fake.sockets_open == 0)
        await slack.receiver.stop()  # twice is fine
    assert stopped_in < 2.0
    assert slack.fake.socket_connects == 1  # it did not reconnect


async def test_socket_mode_comes_back_by_itself_after_slack_goes_away(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack closes the socket without a word and answers apps.connections.open with 503
    for a while: the receiver reconnects with backoff, says so once each way, and answers."""
    caplog.set_level(logging.WARNING)
    async with FakeSlack() as fake:
        fake.add_user("U1", name="ben")
        settings = _settings(fake, socket_mode=True)
        conversation = Conversation(settings, store)
        receiver = SlackReceiver(
            ReceiverDeps(settings, store, conversation),
            backoff=Backoff(base=0.01, cap=0.05),  # real but tiny waits
            socket_check=0.05,
        )
        await asyncio.wait_for(receiver.start(), WAIT)
        try:
            assert receiver.running
            fake.fail_next(503, count=4, method="apps.connections.open")
            await fake.socket_drop()
            await _polled(lambda: not receiver.running)
            assert receiver.link is not None and receiver.link.reason
            await _polled(lambda: receiver.running and fake.sockets_open == 1)
            envelope = ev.event_callback(fake.user_message("help", channel="D1", user="U1"))
            await fake.wait_ack(await fake.socket_send("events_api", envelope), WAIT)
            await _until(fake, lambda: bool(fake.by_channel("D1")))
        finally:
            await receiver.stop()
            await conversation.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Socket Mode down" in m for m in messages) == 1, messages
    assert sum("Socket Mode up again after 5 failed tries" in m for m in messages) == 1
    assert not any("Traceback" in m or "Failed to connect" in m for m in messages)
    assert fake.socket_connects == 2
    assert fake.app_token not in caplog.text


async def test_socket_mode_with_a_refused_app_token_fails_at_start(store: Store) -> None:
    async with FakeSlack() as fake:
        settings = updated(
            _settings(fake, socket_mode=True), slack_app_token=SecretStr("xapp-1-revoked-token")
        )
        conversation = Conversation(settings, store)
        receiver = SlackReceiver(ReceiverDeps(settings, store, conversation))
        with pytest.raises(ConfigError, match="invalid_auth") as refused:
            await asyncio.wait_for(receiver.start(), WAIT)
        await receiver.stop()
        await conversation.close()
    assert "xapp-1-revoked-token" not in str(refused.value)
    assert fake.socket_connects == 0
