"""Chats with the bot on Feishu/Lark: a user writes, the bot answers, as people would see it.

The real receiver (`bot.platforms.feishu.receive.FeishuReceiver`, with its native event
checks and long-connection client, which speak what lark-oapi speaks: see
tests/bot/platforms/feishu/test_events.py) takes the fake open platform's events
(`tests.fakes.feishu_server.FakeFeishu`): in HTTP mode as the exact bodies Feishu POSTs
(encrypted and signed, or plain with the verification token) to its route on a local
aiohttp server; in long-connection mode as frames on the fake's WebSocket. A real
`Conversation` on a real Store (SQLite and Redis, the `store` fixture) answers; replies go
out through the real `FeishuSender` to the fake. Nothing reaches the network: the paper
sources point at a closed port and no LLM is configured.

Nothing sleeps on a wall clock: each step waits (at most `WAIT` seconds) until the
conversation has finished with the event the fake made.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import json
import logging
import socket
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.chat.outbox import THREAD_TTL
from bot.core.chat import Answer, Incoming, ReceiverDeps
from bot.core.ports import Sender
from bot.platforms.feishu import FeishuAdapter
from bot.platforms.feishu.receive import EVENTS_PATH, FeishuReceiver
from bot.platforms.feishu.render import render_feishu
from bot.platforms.feishu.send import FeishuSender
from digest.chatstate import feedback_buttons, get_votes, put_papers, thread_key
from digest.errors import ConfigError
from digest.models import Document, Paper, Reply, Subscription
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import Args, HandlerContext
from handlers.registry import COMMANDS
from tests.chat_helpers import WAIT, Signal
from tests.fakes import feishu_events as fe
from tests.fakes.feishu_server import FakeFeishu, FeishuMessage
from tests.platform_settings import make_settings

CLOSED = "http://127.0.0.1:9"  # sources point here: any network use fails at once

TEAM = "oc_team"  # a group
DM = "oc_dm_alice"  # Alice's p2p chat with the bot
ALICE = "ou_alice"  # a group member
OWNER = "ou_owner"  # the group's owner
MANAGER = "ou_manager"  # one of its managers
BOB = ("@_user_2", "ou_bob", "Bob")  # someone else mentioned
PICK = "2605.29559"

Mode = Literal["http", "http-plain", "ws"]


class WatchedConversation(Conversation):
    """The real conversation, observed: what it was asked and what it answered."""

    def __init__(self, settings: Settings, store: Store, signal: Signal) -> None:
        super().__init__(settings, store)
        self.signal = signal
        self.started: list[Incoming] = []
        self.answered: list[tuple[Incoming, list[Answer]]] = []
        self.spawned: list[asyncio.Task[Any]] = []

    async def respond(self, incoming: Incoming, sender: Sender, **kwargs: Any) -> list[Answer]:
        self.started.append(incoming)
        self.signal.poke()
        answers = await super().respond(incoming, sender, **kwargs)
        self.answered.append((incoming, answers))
        self.signal.poke()
        return answers

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        task = super().spawn(work)
        if task is not None:
            self.spawned.append(task)
            task.add_done_callback(lambda _t: self.signal.poke())
        return task


@dataclass
class Bot:
    """The bot as a chat participant: what users do, and what the bot did in return."""

    fs: FakeFeishu
    mode: Mode
    settings: Settings
    store: Store
    conversation: WatchedConversation
    sender: FeishuSender | None
    receiver: FeishuReceiver
    signal: Signal
    origin: str | None = None  # of the local HTTP server (HTTP modes)

    @property
    def encrypt_key(self) -> str | None:
        return self.fs.encrypt_key if self.mode == "http" else None

    def took(self, event_id: str) -> int:
        return sum(i.event_id == event_id for i in self.conversation.started)

    async def settle(self, event_id: str, times: int = 1) -> None:
        """Until the conversation took `event_id` `times` times in all and every answer
        it started is finished."""
        await self.signal.until(lambda: self.took(event_id) >= times, f"event {event_id}")
        await asyncio.wait_for(asyncio.gather(*self.conversation.spawned), WAIT)

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """Feishu's POST of an event request to the bot's route."""
        assert self.origin is not None
        async with httpx.AsyncClient(timeout=WAIT) as http:
            return await http.post(self.origin + EVENTS_PATH, content=body, headers=headers)

    async def deliver(self, payload: dict[str, Any]) -> Any:
        """Feishu delivers `payload`: POSTed (HTTP modes) or pushed on the long connection;
        what the bot answered (the HTTP body, or the long connection's ack data)."""
        if self.mode == "ws":
            ack = await self.fs.ws_ack(await self.fs.ws_send_event(payload, parts=2), WAIT)
            assert ack.code == 200
            return ack.data
        body, headers = fe.event_request(payload, encrypt_key=self.encrypt_key)
        response = await self.post(body, headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def says(
        self,
        chat_id: str,
        text: str,
        *,
        user: str = ALICE,
        chat_type: fe.ChatType = "group",
        times: int = 1,
        taken: bool = True,
        **kwargs: Any,
    ) -> list[FeishuMessage]:
        """A user writes in `chat_id` (``@_user_1`` is the bot): what the bot then wrote
        there. `times` > 1: Feishu delivers the same event again (its retries). `taken`
        False: the receiver is expected to drop it (it is done once delivered)."""
        before = len(self.fs.messages)
        payload = self.fs.message_event(
            text, chat_id=chat_id, sender_open_id=user, chat_type=chat_type, **kwargs
        )
        event_id = payload["header"]["event_id"]
        before_taken = self.took(event_id)  # an event_id given again: counted from here
        for _ in range(times):
            await self.deliver(payload)
        if taken:
            await self.settle(event_id, before_taken + times)
        else:
            await asyncio.wait_for(asyncio.gather(*self.conversation.spawned), WAIT)
        return [m for m in self.fs.messages[before:] if m.chat == chat_id]

    async def clicks(self, message_id: str, value: dict[str, Any], *, user: str = ALICE) -> str:
        """A user presses a card button: the toast the bot answered the callback with."""
        payload = self.fs.card_action_event(value, open_id=user, open_message_id=message_id)
        answer = await self.deliver(payload)
        await asyncio.wait_for(asyncio.gather(*self.conversation.spawned), WAIT)
        assert answer["toast"]["type"] == "info"
        return str(answer["toast"]["content"])

    async def posts(self, chat_id: str, message: Reply) -> FeishuMessage:
        """The bot posts `message` itself (as a brief would), buttons and all."""
        [out] = render_feishu(message, mode="app")
        sender = self.sender or FeishuSender(self.settings)
        try:
            ref = await sender.send(Subscription(platform="feishu", chat_id=chat_id), out, None)
        finally:
            if sender is not self.sender:
                await sender.aclose()
        posted = self.fs.message(ref)
        assert posted is not None
        return posted

    def asked(self) -> Incoming:
        """The last message the conversation was asked about."""
        return [i for i in self.conversation.started if i.button is None][-1]


def _settings(fs: FakeFeishu, mode: Mode, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "feishu_app_id": fs.app_id,
        "feishu_app_secret": SecretStr(fs.app_secret),
        "feishu_base_url": fs.base_url,
        "feishu_event_mode": "ws" if mode == "ws" else "http",
        "feishu_verification_token": SecretStr(fs.verification_token),
        "feishu_encrypt_key": SecretStr(fs.encrypt_key) if mode == "http" else None,
        "hf_base_url": CLOSED,
        "arxiv_api_url": CLOSED,
        "github_api_url": CLOSED,
        "llm_api_key": None,
        "http_timeout": 5.0,
        "http_retries": 0,
        "language": "en",
        "shutdown_grace": WAIT,
    }
    values.update(overrides)
    return make_settings(**values)


@contextlib.asynccontextmanager
async def feishu_bot(
    store: Store,
    mode: Mode = "http",
    *,
    own_sender: bool = False,
    identity: bool = True,
    **receiver_kwargs: Any,
) -> AsyncIterator[Bot]:
    """The bot on the fake Feishu: its route on a local server, or the long connection."""
    async with FakeFeishu(chats=[TEAM]) as fs:
        fs.set_chat_admins(TEAM, OWNER, managers=[MANAGER], name="Team")
        config = _settings(fs, mode)
        signal = Signal()
        sender = None if own_sender else FeishuSender(config)
        conversation = WatchedConversation(config, store, signal)
        deps = ReceiverDeps(settings=config, store=store, conversation=conversation, sender=sender)
        if identity:
            receiver_kwargs.setdefault("bot_open_id", fs.bot_open_id)
        receiver = FeishuReceiver(deps, **receiver_kwargs)
        runner: web.AppRunner | None = None
        origin = None
        try:
            if mode != "ws":
                app = web.Application()
                for method, path, handler in receiver.routes():
                    app.router.add_route(method, path, handler)
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind(("127.0.0.1", 0))
                origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
                runner = web.AppRunner(app)
                await runner.setup()
                await web.SockSite(runner, sock).start()
            await asyncio.wait_for(receiver.start(), WAIT)
            if mode == "ws":
                await fs.ws_wait_connected(WAIT)
            yield Bot(fs, mode, config, store, conversation, sender, receiver, signal, origin)
        finally:
            await asyncio.wait_for(receiver.stop(), WAIT)
            await conversation.close(grace=WAIT)
            if sender is not None:
                await sender.aclose()
            if runner is not None:
                await runner.cleanup()


def _visible(message: FeishuMessage) -> str:
    """What a reader sees of a card or text message (entities decoded)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("tag") in ("markdown", "plain_text") and isinstance(
                value.get("content"), str
            ):
                parts.append(value["content"])
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    if message.msg_type == "text":
        return str(message.content.get("text", ""))
    walk(message.content)
    return html.unescape("\n".join(parts))


def _callbacks(message: FeishuMessage) -> list[dict[str, Any]]:
    """The callback values of a card's buttons, as Feishu sends them back on a click."""
    card = message.card or {}
    return [
        behavior["value"]
        for element in card["body"]["elements"]
        if element.get("tag") == "button"
        for behavior in element["behaviors"]
        if behavior["type"] == "callback"
    ]


def _pick_card() -> Reply:
    return Reply(
        language="en",
        title="Sparse Mixtures for Long Contexts",
        paper_id=PICK,
        buttons=list(feedback_buttons(PICK)),
    )


def _id(payload: dict[str, Any]) -> str:
    return str(payload["event"]["message"]["message_id"])


# -- the request URL ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["http-plain", "http"])
async def test_the_url_verification_challenge_is_answered(store: Store, mode: Mode) -> None:
    async with feishu_bot(store, mode) as bot:
        check = fe.url_verification("challenge-123", bot.fs.verification_token)
        body, headers = fe.event_request(check, encrypt_key=bot.encrypt_key)
        if mode == "http":
            assert set(json.loads(body)) == {"encrypt"}  # sealed with the encrypt key
        answer = await bot.post(body, headers)
        wrong = fe.url_verification("challenge-123", "not-the-token")
        body, headers = fe.event_request(wrong, encrypt_key=bot.encrypt_key)
        refused = await bot.post(body, headers)
    assert (answer.status_code, answer.json()) == (200, {"challenge": "challenge-123"})
    assert refused.status_code == 403 and "challenge" not in refused.text
    assert bot.conversation.started == []


# -- commands ---------------------------------------------------------------------------------


async def test_help_mentioning_the_bot_in_a_group_is_a_reply_to_the_asker(store: Store) -> None:
    async with feishu_bot(store) as bot:
        [answer] = await bot.says(TEAM, "@_user_1 /help")
        asked = bot.asked()
    text = _visible(answer)
    for listed in ("/paper", "/ideas", "/subscribe", "/interests", "/lang", "/help"):
        assert listed in text
    assert "/feedback" not in text and "/ask" not in text  # hidden
    assert answer.parent_id == asked.message_ref  # a reply to the asker's message
    assert answer.via == "app" and answer.msg_type == "interactive"
    assert (asked.text, asked.chat_id, asked.user_id) == ("/help", TEAM, ALICE)
    assert asked.is_group and asked.addressed
    assert asked.reply_ref == asked.message_ref and asked.thread_refs == ()
    assert bot.fs.rejections == []


async def test_paper_with_a_bad_id_in_a_p2p_chat_gets_a_clear_answer(store: Store) -> None:
    async with feishu_bot(store) as bot:
        [answer] = await bot.says(DM, "/paper 9999.99999", chat_type="p2p")
        asked = bot.asked()
    text = _visible(answer)
    assert "“9999.99999” is not an arXiv id" in text
    assert "/paper 2605.29559" in text  # and what would work
    assert answer.parent_id is None  # a p2p chat is a conversation already: no reply
    assert not asked.is_group and asked.addressed


async def test_an_unknown_command_points_to_help(store: Store) -> None:
    async with feishu_bot(store) as bot:
        [answer] = await bot.says(DM, "/frobnicate now", chat_type="p2p")
    assert _visible(answer) == "Unknown command /frobnicate. /help lists what I can do."


async def test_a_group_message_without_the_bots_mention_is_ignored(store: Store) -> None:
    # As if the app could read every group message: only mentions are for the bot.
    async with feishu_bot(store) as bot:
        command = await bot.says(TEAM, "/help", taken=False)
        chatter = await bot.says(TEAM, "@_user_2 look at this paper", mentions=[BOB], taken=False)
        to_bob = bot.receiver.message_incoming(
            bot.fs.message_event(
                "@_user_2 look at this paper", chat_id=TEAM, sender_open_id=ALICE, mentions=[BOB]
            )
        )
    assert command == [] and chatter == []
    assert bot.conversation.started == []  # not even asked
    assert to_bob is not None and not to_bob.addressed
    assert to_bob.text == "@Bob look at this paper"  # other mentions read as names


async def test_other_mentions_become_names_and_the_bots_is_removed(store: Store) -> None:
    async with feishu_bot(store) as bot:
        [answer] = await bot.says(TEAM, "@_user_2 @_user_1 /frobnicate", mentions=[BOB])
        asked = bot.asked()
    assert asked.text == "@Bob /frobnicate" and asked.addressed
    # Not a command at its start: the pointer to /help, as a reply.
    assert _visible(answer).startswith("I answer commands: /help lists them")
    assert answer.parent_id == asked.message_ref


async def test_a_picture_gets_the_pointer_in_a_p2p_chat_and_nothing_in_a_group(
    store: Store,
) -> None:
    image: dict[str, Any] = {"message_type": "image", "content": {"image_key": "img_v2_fake"}}
    async with feishu_bot(store) as bot:
        [answer] = await bot.says(DM, "", chat_type="p2p", **image)
        in_group = await bot.says(TEAM, "", taken=False, **image)
    assert _visible(answer).startswith("I answer commands: /help lists them")
    assert in_group == []


async def test_a_rich_text_message_is_read_as_its_text(store: Store) -> None:
    post: dict[str, Any] = {
        "message_type": "post",
        "content": {
            "title": "",
            "content": [
                [
                    {"tag": "at", "user_id": "@_user_1", "user_name": fe.BOT_NAME},
                    {"tag": "text", "text": " /frobnicate "},
                    {"tag": "a", "href": "https://example.org", "text": "example"},
                ]
            ],
        },
        "mentions": [("@_user_1", fe.BOT_OPEN_ID, fe.BOT_NAME)],
    }
    async with feishu_bot(store) as bot:
        [answer] = await bot.says(TEAM, "", **post)
        asked = bot.asked()
    assert asked.text == "/frobnicate example" and asked.addressed
    assert _visible(answer) == "Unknown command /frobnicate. /help lists what I can do."


# -- admins -----------------------------------------------------------------------------------


async def test_subscribe_in_a_group_is_for_its_owner_and_managers(store: Store) -> None:
    async with feishu_bot(store) as bot:
        [refused] = await bot.says(TEAM, "@_user_1 /subscribe", user=ALICE)
        nothing = await store.get_subscription("feishu", TEAM)
        [done] = await bot.says(TEAM, "@_user_1 /subscribe 08:00 Asia/Shanghai", user=OWNER)
        [moved] = await bot.says(TEAM, "@_user_1 /subscribe 09:30", user=MANAGER)
        sub = await store.get_subscription("feishu", TEAM)
    assert _visible(refused) == "Only chat admins can use /subscribe in a group."
    assert nothing is None
    assert _visible(done).startswith("Subscribed")
    assert "09:30" in _visible(moved)
    assert sub is not None and (sub.time, sub.tz, sub.active) == ("09:30", "Asia/Shanghai", True)
    assert all(m.parent_id is not None for m in (refused, done, moved))


async def test_subscribe_in_a_p2p_chat_needs_no_admin(store: Store) -> None:
    async with feishu_bot(store) as bot:
        [done] = await bot.says(DM, "/subscribe", chat_type="p2p")
        sub = await store.get_subscription("feishu", DM)
    assert _visible(done).startswith("Subscribed")
    assert sub is not None and sub.chat_id == DM


async def test_admins_are_asked_once_a_minute_and_a_new_manager_then_counts(
    store: Store,
) -> None:
    now = [0.0]
    async with feishu_bot(store, clock=lambda: now[0]) as bot:
        [refused] = await bot.says(TEAM, "@_user_1 /subscribe", user=ALICE)
        bot.fs.set_chat_admins(TEAM, OWNER, managers=[MANAGER, ALICE], name="Team")
        [still] = await bot.says(TEAM, "@_user_1 /unsubscribe", user=ALICE)  # cached
        now[0] += 61
        [done] = await bot.says(TEAM, "@_user_1 /subscribe", user=ALICE)
    assert _visible(refused) == "Only chat admins can use /subscribe in a group."
    assert _visible(still) == "Only chat admins can use /unsubscribe in a group."
    assert _visible(done).startswith("Subscribed")


async def test_admin_only_commands_fail_closed_when_feishu_cannot_say(store: Store) -> None:
    async with feishu_bot(store) as bot:
        bot.fs.fail_next(status=500, endpoint="im.chat.get", chat=TEAM)
        [refused] = await bot.says(TEAM, "@_user_1 /subscribe", user=OWNER)
        [done] = await bot.says(TEAM, "@_user_1 /subscribe", user=OWNER)  # asks again
    assert _visible(refused) == "Only chat admins can use /subscribe in a group."
    assert _visible(done).startswith("Subscribed")


async def test_an_expired_tenant_token_is_renewed_for_the_admin_check(store: Store) -> None:
    async with feishu_bot(store) as bot:
        await bot.says(DM, "/frobnicate", chat_type="p2p")  # a token is fetched and cached
        bot.fs.expire_tokens()
        [done] = await bot.says(TEAM, "@_user_1 /subscribe", user=OWNER)
    assert _visible(done).startswith("Subscribed")
    assert len(bot.fs.tokens_issued) == 2


# -- threads ----------------------------------------------------------------------------------


async def test_a_question_in_a_picks_thread_is_answered_there_about_that_pick(
    store: Store,
) -> None:
    paper = Paper(
        paper_id=PICK,
        title="Sparse Mixtures for Long Contexts",
        abstract=(
            "We study long-context language models. We train the router with a load "
            "balancing loss on 2T tokens. Results improve retrieval by 12 points."
        ),
    )
    async with feishu_bot(store) as bot:
        await put_papers(store, [paper])
        pick = await bot.posts(TEAM, _pick_card())
        pick_id = str(pick.message_id)
        key = thread_key("feishu", TEAM, pick_id)
        await store.save_thread(key, {"paper_id": PICK}, THREAD_TTL)
        [answer] = await bot.says(
            TEAM,
            "@_user_1 how is the router trained?",
            parent_id=pick_id,
            root_id=pick_id,
            thread_id="omt_fake_pick_thread",
        )
        asked = bot.asked()
        thread = await store.get_thread(key)
    assert asked.thread_refs == (pick_id,)  # parent and root are the same message
    assert answer.parent_id == asked.message_ref
    assert answer.thread_id == "omt_fake_pick_thread"  # it stays in the thread
    assert "router" in _visible(answer)  # quoted from the abstract (no LLM here)
    assert thread is not None
    assert [h["q"] for h in thread["history"]] == ["how is the router trained?"]


# -- buttons ------------------------------------------------------------------------------------


async def test_a_thumbs_up_is_toasted_in_time_and_counted_once(store: Store) -> None:
    async with feishu_bot(store) as bot:
        pick = await bot.posts(TEAM, _pick_card())
        up, _down = _callbacks(pick)
        assert up == {"action": "fb", "value": f"up:{PICK}"}
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = await bot.clicks(str(pick.message_id), up)
        took = loop.time() - started
        again = await bot.clicks(str(pick.message_id), up)
        votes = await get_votes(store, f"feishu:{TEAM}")
        clicks = [i for i in bot.conversation.started if i.button is not None]
    assert first.startswith("Thanks! More like this in your next briefs.")
    assert again == "Already noted — thanks."
    assert took < 3.0  # Feishu's deadline for a callback's answer
    assert [(v.paper_id, v.value) for v in votes] == [(PICK, 1)]
    # The toasts were not also posted in the chat.
    assert [m.message_id for m in bot.fs.by_chat(TEAM)] == [pick.message_id]
    assert [i.button for i in clicks] == [("fb", f"up:{PICK}")] * 2
    assert clicks[0].thread_refs == (pick.message_id,) and clicks[0].user_id == ALICE
    assert clicks[0].event_id != clicks[1].event_id


async def test_a_slow_click_gets_a_quick_toast_and_finishes_in_the_background(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    finished: list[str] = []

    async def slow(ctx: HandlerContext, args: Args) -> Document:
        await release.wait()
        finished.append(args.text)
        return Reply.text(ctx.language, "Noted, late.")

    feedback = dataclasses.replace(COMMANDS["feedback"], handler=slow)
    monkeypatch.setitem(COMMANDS, "feedback", feedback)
    async with feishu_bot(store, click_deadline=0.2) as bot:
        pick = await bot.posts(TEAM, _pick_card())
        payload = bot.fs.card_action_event(
            _callbacks(pick)[0], open_id=ALICE, open_message_id=str(pick.message_id)
        )
        answer = await bot.deliver(payload)
        pending = [t for t in bot.conversation.spawned if not t.done()]
        release.set()
        await asyncio.wait_for(asyncio.gather(*bot.conversation.spawned), WAIT)
    assert answer == {"toast": {"type": "info", "content": "Got it."}}
    assert pending  # answered before the work was done
    assert finished == [f"up:{PICK}"]
    assert [m.message_id for m in bot.fs.by_chat(TEAM)] == [pick.message_id]  # no late post


async def test_a_click_on_a_button_we_never_made_gets_a_polite_toast(store: Store) -> None:
    async with feishu_bot(store) as bot:
        pick = await bot.posts(TEAM, _pick_card())
        toast = await bot.clicks(str(pick.message_id), {"action": "zz", "value": "1"})
        admin = await bot.clicks(str(pick.message_id), {"action": "subscribe", "value": ""})
    assert toast == admin == "This button no longer works. /help lists what I can do."
    assert bot.conversation.started == []


# -- Feishu's retries and forgeries -------------------------------------------------------------


async def test_the_same_question_twice_is_answered_twice(store: Store) -> None:
    # Two messages (two events), the same answer: Feishu must not take the second send
    # for a retry of the first (its `uuid` deduplicates sends for an hour).
    async with feishu_bot(store) as bot:
        [first] = await bot.says(DM, "/frobnicate", chat_type="p2p")
        second = await bot.says(DM, "/frobnicate", chat_type="p2p")
    assert len(second) == 1 and second[0].message_id != first.message_id
    assert bot.fs.deduplicated == []


async def test_an_event_delivered_twice_is_answered_once(store: Store) -> None:
    async with feishu_bot(store) as bot:
        answers = await bot.says(TEAM, "@_user_1 /help", times=2)
        answered = bot.conversation.answered
    assert len(answers) == 1
    assert len({i.event_id for i, _ in answered}) == 1
    # The retry got nothing (it may finish first: it has nothing to do).
    assert sorted(len(a) for _, a in answered) == [0, 1]


async def test_forged_or_unreadable_requests_get_401_or_403_and_change_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with feishu_bot(store) as bot:
        fs = bot.fs
        key = fs.encrypt_key
        event = fs.message_event("@_user_1 /help", chat_id=TEAM, sender_open_id=ALICE)
        body, headers = fe.event_request(event, encrypt_key=key)
        forged = await bot.post(body, {**headers, "X-Lark-Signature": "0" * 64})
        unsigned = await bot.post(body, {"Content-Type": "application/json"})
        wrong = fs.message_event(
            "@_user_1 /help", chat_id=TEAM, sender_open_id=ALICE, token="not-the-token"
        )
        wrong_token = await bot.post(*fe.event_request(wrong, encrypt_key=key))
        # Sealed and signed with another key: the signature is what fails.
        other_key = await bot.post(*fe.event_request(event, encrypt_key="another-key"))
        garbage = json.dumps({"encrypt": "bm90IHJlYWxseSBlbmNyeXB0ZWQ="}).encode()
        stamp: dict[str, Any] = {"timestamp": 1_780_000_000, "nonce": "n1"}
        unreadable = await bot.post(garbage, fe.sign_headers(garbage, key, **stamp))
        plain = await bot.post(*fe.event_request(event, encrypt_key=None))  # not signed
        not_json = await bot.post(b"<xml/>", fe.sign_headers(b"<xml/>", key, **stamp))
        refused_then = (list(fs.messages), list(bot.conversation.started))
        # The genuine delivery of the same event is still answered: nothing was used up.
        genuine = await bot.post(body, headers)
        await bot.settle(event["header"]["event_id"])
    codes = [r.status_code for r in (forged, unsigned, wrong_token, other_key, unreadable, plain)]
    assert codes == [403, 401, 403, 403, 401, 401]
    assert not_json.status_code == 400
    assert refused_then == ([], [])
    assert genuine.status_code == 200 and len(fs.messages) == 1
    for secret in (key, fs.verification_token, fs.app_secret):
        assert secret not in caplog.text
    assert "signature mismatch" in caplog.text  # refusals are logged, with the reason


async def test_plain_events_with_a_verification_token(store: Store) -> None:
    async with feishu_bot(store, "http-plain") as bot:
        [answer] = await bot.says(DM, "/frobnicate", chat_type="p2p")
        wrong = bot.fs.message_event(
            "/help", chat_id=DM, chat_type="p2p", sender_open_id=ALICE, token="not-the-token"
        )
        refused = await bot.post(*fe.event_request(wrong, encrypt_key=None))
        # Encrypted, but this bot has no encrypt key: it cannot read it.
        sealed = await bot.post(*fe.event_request(wrong, encrypt_key=bot.fs.encrypt_key))
    assert _visible(answer) == "Unknown command /frobnicate. /help lists what I can do."
    assert (refused.status_code, sealed.status_code) == (403, 401)
    assert len(bot.conversation.started) == 1


async def test_http_events_without_a_token_or_key_do_not_start(store: Store) -> None:
    async with FakeFeishu() as fs:
        settings = _settings(fs, "http-plain", feishu_verification_token=None)
        conversation = Conversation(settings, store)
        deps = ReceiverDeps(settings=settings, store=store, conversation=conversation)
        receiver = FeishuAdapter().make_receiver(deps)
        assert isinstance(receiver, FeishuReceiver)
        with pytest.raises(ConfigError, match="VERIFICATION_TOKEN"):
            await receiver.start()
        await receiver.stop()
        await conversation.close()


async def test_events_of_other_kinds_are_acknowledged_and_ignored(store: Store) -> None:
    async with feishu_bot(store) as bot:
        other = {
            "schema": "2.0",
            "header": {
                "event_id": "ev-other",
                "event_type": "im.chat.member.bot.added_v1",
                "token": bot.fs.verification_token,
                "app_id": bot.fs.app_id,
            },
            "event": {"chat_id": TEAM},
        }
        answer = await bot.post(*fe.event_request(other, encrypt_key=bot.encrypt_key))
    assert answer.status_code == 200  # else Feishu would retry it for hours
    assert bot.conversation.started == []


async def test_after_stop_events_are_turned_away(store: Store) -> None:
    async with feishu_bot(store) as bot:
        await bot.receiver.stop()
        event = bot.fs.message_event("/help", chat_id=DM, chat_type="p2p", sender_open_id=ALICE)
        answer = await bot.post(*fe.event_request(event, encrypt_key=bot.encrypt_key))
    assert answer.status_code == 503  # Feishu retries: the restarted bot answers then
    assert bot.conversation.started == [] and bot.fs.messages == []


async def test_without_its_identity_the_bot_takes_a_leading_mention_as_its_own(
    store: Store,
) -> None:
    # The fake has no bot/v3/info: the receiver cannot learn its open_id.
    async with feishu_bot(store, identity=False) as bot:
        assert not bot.receiver.identity.known
        [answer] = await bot.says(TEAM, "@_user_1 /frobnicate")
        asked = bot.asked()
    assert asked.text == "/frobnicate" and asked.addressed
    assert _visible(answer) == "Unknown command /frobnicate. /help lists what I can do."


async def test_without_a_sender_the_receiver_makes_and_closes_its_own(store: Store) -> None:
    async with feishu_bot(store, own_sender=True) as bot:
        [answer] = await bot.says(DM, "/frobnicate", chat_type="p2p")
    assert _visible(answer) == "Unknown command /frobnicate. /help lists what I can do."


# -- the long connection ------------------------------------------------------------------------


async def test_the_long_connection_delivers_a_message_and_the_bot_replies(store: Store) -> None:
    async with feishu_bot(store, "ws") as bot:
        assert bot.receiver.routes() == []  # no public URL needed
        [answer] = await bot.says(TEAM, "@_user_1 /help")
        asked = bot.asked()
        pick = await bot.posts(TEAM, _pick_card())
        toast = await bot.clicks(str(pick.message_id), _callbacks(pick)[0])
        again = await bot.says(TEAM, "@_user_1 /help", event_id=asked.event_id)
        votes = await get_votes(store, f"feishu:{TEAM}")
    assert "/subscribe" in _visible(answer) and answer.parent_id == asked.message_ref
    assert toast.startswith("Thanks! More like this in your next briefs.")
    assert [(v.paper_id, v.value) for v in votes] == [(PICK, 1)]
    assert again == []  # the same event_id again: answered once
    assert all(a.code == 200 for a in bot.fs.ws_acks)


async def test_stop_closes_the_long_connection_promptly(store: Store) -> None:
    async with feishu_bot(store, "ws") as bot:
        ws = bot.receiver._ws
        assert ws is not None and ws.connected
        loop = asyncio.get_running_loop()
        started = loop.time()
        await bot.receiver.stop()
        took = loop.time() - started
        after = bot.receiver._ws
    assert took < 3.0
    assert not ws.connected and not [t for t in asyncio.all_tasks() if "feishu" in t.get_name()]
    assert after is None and bot.fs.ws_connections == 1


async def test_an_endpoint_failure_is_retried_in_the_background_and_stop_is_prompt(
    store: Store,
) -> None:
    async with FakeFeishu() as fs:
        fs.fail_next(status=500, endpoint="ws.endpoint")
        # start() tries once (within http_timeout), then keeps trying in the background.
        settings = _settings(fs, "ws", http_timeout=0.5)
        conversation = Conversation(settings, store)
        deps = ReceiverDeps(settings=settings, store=store, conversation=conversation)
        receiver = FeishuReceiver(deps, bot_open_id=fs.bot_open_id)
        await asyncio.wait_for(receiver.start(), WAIT)  # no error: it is reconnecting
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(receiver.stop(), WAIT)
        took = loop.time() - started
        await conversation.close()
    assert took < 3.0  # the reconnect wait (up to 30 s) was cancelled
    assert fs.rejections[0].method == "ws.endpoint"


async def test_a_refused_app_secret_fails_start(store: Store) -> None:
    async with FakeFeishu() as fs:
        settings = _settings(fs, "ws", feishu_app_secret=SecretStr("wrong-secret"))
        conversation = Conversation(settings, store)
        deps = ReceiverDeps(settings=settings, store=store, conversation=conversation)
        receiver = FeishuReceiver(deps, bot_open_id=fs.bot_open_id)
        with pytest.raises(ConfigError, match="10003"):
            await asyncio.wait_for(receiver.start(), WAIT)
        await asyncio.wait_for(receiver.stop(), WAIT)
        await conversation.close()
    assert fs.ws_connections == 0 and fs.rejections[-1].method == "ws.endpoint"
    assert "wrong-secret" not in repr(receiver)
