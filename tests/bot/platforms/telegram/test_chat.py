"""Chats with the bot on Telegram: a user writes, the bot answers, as people would see it.

The real receiver (`bot.platforms.telegram.receive.TelegramReceiver`, a python-telegram-bot
`Application`) long-polls the fake Bot API (`tests.fakes.telegram_server.FakeTelegram`) or
takes its webhook deliveries on a local aiohttp server; a real `Conversation` on a real
Store (SQLite and Redis, the `store` fixture) answers; replies go out through the real
`TelegramSender`. Nothing reaches the network: the paper sources point at a closed port
and no LLM is configured.

Nothing sleeps on a wall clock: each step waits (at most `WAIT` seconds) until the
conversation has finished with the update the fake made, or until a condition the bot's
own calls make true. 429s are waited out on a fake `sleep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
import telegram
from aiohttp import web
from pydantic import SecretStr

from bot.chat.conversation import Conversation
from bot.chat.outbox import THREAD_TTL
from bot.core.chat import Answer, Incoming, ReceiverDeps
from bot.core.ports import Sender
from bot.platforms.telegram.receive import SECRET_HEADER, WEBHOOK_PATH, TelegramReceiver
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.send import TelegramSender
from bot.platforms.telegram.settings import telegram_settings
from digest.chatstate import get_votes, put_papers, thread_key
from digest.errors import ConfigError
from digest.models import Button, Document, Paper, Reply, Subscription
from digest.settings import Settings
from digest.store.base import Store
from handlers.context import Args, HandlerContext
from handlers.registry import COMMANDS, Command
from tests.chat_helpers import WAIT, Signal
from tests.fakes.telegram_server import FakeTelegram, TelegramMessage
from tests.platform_settings import make_settings, updated

T = TypeVar("T")

SECRET = "hook-secret_0123"
CLOSED = "http://127.0.0.1:9"  # sources point here: any network use fails at once

DM = 4242  # a private chat: its id is the user's id
GROUP = -1001234567  # a supergroup
ADA = 7  # a group member
GRACE = 8  # a group admin (when a test says so)
PICK = "2605.29559"


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

    def incoming(self, event_id: str) -> Incoming:
        return next(i for i in self.started if i.event_id == event_id)

    def answers_to(self, event_id: str) -> list[list[Answer]]:
        return [answers for i, answers in self.answered if i.event_id == event_id]


class WatchedSender(TelegramSender):
    """The real sender; every finished Bot API call wakes the test."""

    def __init__(self, settings: Settings, signal: Signal, sleeps: list[float]) -> None:
        async def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)  # 429s and backoff are waited out at once

        super().__init__(settings, sleep=fake_sleep)
        self.signal = signal

    async def call(self, chat_id: str, make: Callable[[Any], Awaitable[T]], **kwargs: Any) -> T:
        try:
            return await super().call(chat_id, make, **kwargs)
        finally:
            self.signal.poke()


@dataclass
class Bot:
    """The bot as a chat participant: what users do, and what the bot did in return."""

    tg: FakeTelegram
    settings: Settings
    store: Store
    conversation: WatchedConversation
    sender: WatchedSender
    receiver: TelegramReceiver
    signal: Signal
    sleeps: list[float] = field(default_factory=list)
    webhook_origin: str | None = None

    @property
    def name(self) -> str:
        return self.tg.username

    async def start(self) -> None:
        await asyncio.wait_for(self.receiver.start(), WAIT)

    async def settle(self, event_id: str, times: int = 1) -> None:
        """Until the conversation took `event_id` (`times` deliveries) and every answer
        it started is finished (sent, toasts answered)."""
        await self.signal.until(
            lambda: sum(i.event_id == event_id for i in self.conversation.started) >= times,
            f"update {event_id}",
        )
        await asyncio.wait_for(asyncio.gather(*self.conversation.spawned), WAIT)

    async def says(self, chat_id: int, text: str, **kwargs: Any) -> list[TelegramMessage]:
        """A user writes in `chat_id`: what the bot then wrote in that chat."""
        before = len(self.tg.messages)
        update = self.tg.user_says(chat_id, text, **kwargs)
        if self.receiver.webhook:
            assert await self.tg.deliver_webhook() == 1
        await self.settle(f"u{update['update_id']}")
        return [m for m in self.tg.messages[before:] if m.chat_id == chat_id]

    async def clicks(self, chat_id: int, message_id: int, data: str, **kwargs: Any) -> str | None:
        """A user presses a button: the toast the bot answered the click with."""
        update = self.tg.user_clicks(chat_id, message_id, data, **kwargs)
        query_id = update["callback_query"]["id"]
        await self.signal.until(
            lambda: any(qid == query_id for qid, _ in self.tg.callback_answers),
            f"answering click {query_id}",
        )
        await asyncio.wait_for(asyncio.gather(*self.conversation.spawned), WAIT)
        [text] = [text for qid, text in self.tg.callback_answers if qid == query_id]
        return text

    async def posts(self, chat_id: int, message: Reply) -> TelegramMessage:
        """The bot posts `message` itself (as a brief would), buttons and all."""
        [out] = render_telegram(message)
        sub = Subscription(platform="telegram", chat_id=str(chat_id))
        ref = await self.sender.send(sub, out, None)
        return self.tg.message(chat_id, int(ref))

    async def webhook_post(self, body: bytes, secret: str | None) -> httpx.Response:
        assert self.webhook_origin is not None
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with httpx.AsyncClient() as http:
            return await http.post(
                self.webhook_origin + WEBHOOK_PATH, content=body, headers=headers
            )


def _settings(tg: FakeTelegram, webhook_url: str | None = None) -> Settings:
    return make_settings(
        telegram_token=SecretStr(tg.token),
        telegram_api_url=tg.base_url,
        telegram_webhook_url=webhook_url,
        telegram_webhook_secret=SecretStr(SECRET) if webhook_url else None,
        hf_base_url=CLOSED,
        arxiv_api_url=CLOSED,
        github_api_url=CLOSED,
        llm_api_key=None,
        http_timeout=5.0,
        http_retries=0,
        language="en",
    )


@contextlib.asynccontextmanager
async def telegram_bot(
    store: Store,
    *,
    webhook: bool = False,
    privacy_mode: bool = True,
    start: bool = True,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[Bot]:
    """The bot on the fake Telegram (long polling, or a webhook on a local server)."""
    async with FakeTelegram(privacy_mode=privacy_mode) as tg:
        runner: web.AppRunner | None = None
        origin = None
        sock = None
        if webhook:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = _settings(tg, origin + WEBHOOK_PATH if origin else None)
        signal = Signal()
        sleeps: list[float] = []
        sender = WatchedSender(settings, signal, sleeps)
        conversation = WatchedConversation(settings, store, signal)
        deps = ReceiverDeps(
            settings=settings, store=store, conversation=conversation, sender=sender
        )
        receiver = TelegramReceiver(deps) if clock is None else TelegramReceiver(deps, clock=clock)
        bot = Bot(tg, settings, store, conversation, sender, receiver, signal, sleeps, origin)
        try:
            if sock is not None:
                app = web.Application()
                for method, path, handler in receiver.routes():
                    app.router.add_route(method, path, handler)
                runner = web.AppRunner(app)
                await runner.setup()
                await web.SockSite(runner, sock).start()
            if start:
                await bot.start()
            yield bot
        finally:
            await asyncio.wait_for(receiver.stop(), WAIT)
            await conversation.close(grace=WAIT)
            await sender.aclose()
            if runner is not None:
                await runner.cleanup()
            elif sock is not None:
                sock.close()


# -- commands in a private chat --------------------------------------------------------------


async def test_help_in_a_private_chat_lists_the_commands(store: Store) -> None:
    async with telegram_bot(store) as bot:
        [answer] = await bot.says(DM, "/help")
    for listed in ("/paper", "/ideas", "/subscribe", "/interests", "/lang", "/help"):
        assert listed in answer.text
    assert "/feedback" not in answer.text and "/ask" not in answer.text  # hidden
    assert answer.reply_to is None  # a DM is a conversation already: no reply quote
    assert answer.parse_mode == "HTML"


async def test_the_command_menu_is_registered_from_the_registry(store: Store) -> None:
    async with telegram_bot(store) as bot:
        menu = {c["command"]: c["description"] for c in bot.tg.commands}
        chinese = {c["command"] for c in bot.tg.commands_for(None, "zh")}
    assert {"paper", "ideas", "subscribe", "interests", "lang", "help"} <= set(menu)
    assert "feedback" not in menu and "ask" not in menu
    assert menu["help"] == "List the commands."
    assert "<arXiv id" in menu["paper"]  # the usage helps in Telegram's menu
    assert chinese == set(menu)  # the same commands, described in Chinese
    assert all(1 <= len(d) <= 256 for d in menu.values())


async def test_an_unknown_command_points_to_help(store: Store) -> None:
    async with telegram_bot(store) as bot:
        [answer] = await bot.says(DM, "/frobnicate now")
    assert answer.text == "Unknown command /frobnicate. /help lists what I can do."


async def test_start_in_a_new_private_chat_gets_the_help(store: Store) -> None:
    async with telegram_bot(store) as bot:
        # What Telegram sends when someone opens the bot (here from a deep link).
        [answer] = await bot.says(DM, "/start from-the-website")
    assert "/paper" in answer.text and "Unknown command" not in answer.text


async def test_plain_chatter_in_a_private_chat_gets_the_pointer(store: Store) -> None:
    async with telegram_bot(store) as bot:
        [answer] = await bot.says(DM, "good morning! what can you do?")
    assert answer.text.startswith("I answer commands: /help lists them")


# -- groups -----------------------------------------------------------------------------------


async def test_paper_with_a_bad_id_in_a_group_replies_to_the_asker(store: Store) -> None:
    async with telegram_bot(store) as bot:
        [answer] = await bot.says(GROUP, f"/paper@{bot.name} 9999.99999", user_id=ADA)
        [asked] = bot.conversation.started
    assert "“9999.99999” is not an arXiv id" in answer.text
    assert "/paper 2605.29559" in answer.text  # and what would work
    assert answer.reply_to == int(asked.message_ref or 0)  # quoting the asker
    assert (asked.chat_id, asked.user_id, asked.is_group, asked.addressed) == (
        str(GROUP),
        str(ADA),
        True,
        True,
    )
    assert asked.bot_name == bot.name and asked.event_id is not None
    assert asked.event_id.startswith("u")


async def test_a_command_for_another_bot_is_ignored(store: Store) -> None:
    async with telegram_bot(store, privacy_mode=False) as bot:
        assert await bot.says(GROUP, "/paper@other_bot x", user_id=ADA) == []
        [(_, answers)] = bot.conversation.answered
    assert answers == []
    assert bot.tg.by_chat(GROUP) == []


async def test_group_chatter_not_meant_for_the_bot_gets_nothing(store: Store) -> None:
    async with telegram_bot(store, privacy_mode=False) as bot:
        assert await bot.says(GROUP, "anyone read the new llama paper?", user_id=ADA) == []
        [chatter] = bot.conversation.started
        assert not chatter.addressed
        # Mentioning the bot addresses it; the mention itself is not part of the text.
        mention = await bot.says(GROUP, f"@{bot.name} hello", user_id=ADA)
        asked = bot.conversation.started[-1]
    assert (asked.text, asked.addressed) == ("hello", True)
    [answer] = mention
    assert answer.text.startswith("I answer commands")
    assert answer.reply_to == int(asked.message_ref or 0)


async def test_subscribe_in_a_group_is_for_admins_only(store: Store) -> None:
    async with telegram_bot(store) as bot:
        bot.tg.set_member(GROUP, GRACE, "administrator")
        [refusal] = await bot.says(GROUP, "/subscribe", user_id=ADA, first_name="Ada")
        assert await store.get_subscription("telegram", str(GROUP)) is None
        [done] = await bot.says(GROUP, f"/subscribe@{bot.name} 07:30", user_id=GRACE)
        checks = [p for m, p in bot.tg.requests if m == "getChatMember"]
    assert refusal.text == "Only chat admins can use /subscribe in a group."
    assert refusal.reply_to is not None
    assert done.text.startswith("Subscribed: the brief arrives every day at 07:30")
    sub = await store.get_subscription("telegram", str(GROUP))
    assert sub is not None and sub.active and sub.time == "07:30"
    assert [(str(c["chat_id"]), str(c["user_id"])) for c in checks] == [
        (str(GROUP), str(ADA)),
        (str(GROUP), str(GRACE)),
    ]


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_new_admin_is_recognised_once_the_short_cache_expires(store: Store) -> None:
    clock = ManualClock()
    async with telegram_bot(store, clock=clock) as bot:
        [refused] = await bot.says(GROUP, "/lang zh", user_id=ADA)
        bot.tg.set_member(GROUP, ADA, "creator")
        [still] = await bot.says(GROUP, "/lang zh", user_id=ADA)  # the answer is cached
        clock.now += 61
        [done] = await bot.says(GROUP, "/lang zh", user_id=ADA)
        checks = [m for m, _ in bot.tg.requests if m == "getChatMember"]
    assert refused.text == still.text == "Only chat admins can use /lang in a group."
    assert "Only chat admins" not in done.text
    assert len(checks) == 2


async def test_a_question_in_reply_to_a_pick_is_answered_about_that_pick(store: Store) -> None:
    paper = Paper(
        paper_id=PICK,
        title="Sparse Mixtures for Long Contexts",
        abstract=(
            "We study long-context language models. We train the router with a load "
            "balancing loss on 2T tokens. Results improve retrieval by 12 points."
        ),
    )
    async with telegram_bot(store) as bot:
        await put_papers(store, [paper])
        pick = await bot.posts(GROUP, Reply.text("en", "Sparse Mixtures for Long Contexts"))
        key = thread_key("telegram", str(GROUP), str(pick.message_id))
        await store.save_thread(key, {"paper_id": PICK}, THREAD_TTL)
        # Privacy mode is on: a reply to the bot's message still reaches it.
        [answer] = await bot.says(
            GROUP, "how is the router trained?", user_id=ADA, reply_to=pick.message_id
        )
        asked = bot.conversation.started[-1]
        thread = await store.get_thread(key)
    assert asked.thread_refs == (str(pick.message_id),) and asked.addressed
    assert answer.reply_to == int(asked.message_ref or 0)
    assert "router" in answer.text  # quoted from the abstract (no LLM here)
    assert thread is not None
    assert [h["q"] for h in thread["history"]] == ["how is the router trained?"]


# -- buttons ------------------------------------------------------------------------------------


def _pick_with_votes() -> Reply:
    return Reply(
        language="en",
        title="Sparse Mixtures for Long Contexts",
        paper_id=PICK,
        buttons=[
            Button(label="👍", action="fb", value=f"up:{PICK}"),
            Button(label="👎", action="fb", value=f"down:{PICK}"),
        ],
    )


async def test_a_thumbs_up_is_answered_once_and_counted_once(store: Store) -> None:
    async with telegram_bot(store) as bot:
        pick = await bot.posts(GROUP, _pick_with_votes())
        assert pick.callback_data() == [f"fb|up:{PICK}", f"fb|down:{PICK}"]
        first = await bot.clicks(GROUP, pick.message_id, f"fb|up:{PICK}", user_id=ADA)
        again = await bot.clicks(GROUP, pick.message_id, f"fb|up:{PICK}", user_id=ADA)
        votes = await get_votes(store, f"telegram:{GROUP}")
        answers = list(bot.tg.callback_answers)
        clicks = [i for i in bot.conversation.started if i.button is not None]
    assert first.startswith("Thanks! More like this in your next briefs.")
    assert again == "Already noted — thanks."
    assert [(v.paper_id, v.value) for v in votes] == [(PICK, 1)]
    # Each click answered exactly once, and the toasts were not also posted in the chat.
    assert len(answers) == 2 and len({qid for qid, _ in answers}) == 2
    assert [m.message_id for m in bot.tg.by_chat(GROUP)] == [pick.message_id]
    assert [i.button for i in clicks] == [("fb", f"up:{PICK}")] * 2
    assert clicks[0].thread_refs == (str(pick.message_id),)
    assert bot.tg.rejections == []


async def test_a_click_on_a_button_we_never_made_gets_a_polite_toast(store: Store) -> None:
    legacy = Reply(
        language="en",
        title="old",
        buttons=[
            Button(label="?", action="zz", value="1"),
            Button(label="Subscribe", action="subscribe", value="08:00"),
        ],
    )
    async with telegram_bot(store) as bot:
        pick = await bot.posts(DM, legacy)
        toast = await bot.clicks(DM, pick.message_id, "zz|1")
        # No button of ours runs an admin-only command (as on Feishu): such a click is not.
        admin = await bot.clicks(DM, pick.message_id, "subscribe|08:00")
    assert toast is not None and "no longer works" in toast
    assert admin == toast
    assert bot.conversation.started == []


async def test_a_click_whose_handling_crashes_still_stops_the_spinner(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def crash(ctx: HandlerContext, args: Args) -> Document:
        raise RuntimeError("boom")

    monkeypatch.setitem(COMMANDS, "feedback", _command("feedback", crash, hidden=True))
    async with telegram_bot(store) as bot:
        pick = await bot.posts(DM, _pick_with_votes())
        with caplog.at_level(logging.ERROR):
            toast = await bot.clicks(DM, pick.message_id, f"fb|down:{PICK}")
    assert len(bot.tg.callback_answers) == 1  # answered, once
    # The apology is the toast or (as bot.chat.conversation words it today) a message.
    shown = [toast, *(m.text for m in bot.tg.by_chat(DM)[1:])]
    assert "Something went wrong, try again." in shown
    assert "command failed" in caplog.text
    assert await get_votes(store, f"telegram:{DM}") == []


# -- webhook mode ---------------------------------------------------------------------------


async def test_webhook_mode_registers_the_webhook_and_answers_through_it(store: Store) -> None:
    async with telegram_bot(store, webhook=True) as bot:
        assert (bot.tg.webhook_url, bot.tg.webhook_secret) == (
            telegram_settings(bot.settings).webhook_url,
            SECRET,
        )
        [answer] = await bot.says(DM, "/help")
    assert "/paper" in answer.text
    # Stopping leaves the webhook to the replicas still serving it.
    assert bot.tg.webhook_url == telegram_settings(bot.settings).webhook_url


async def test_a_webhook_post_before_start_is_left_for_telegram_to_redeliver(
    store: Store,
) -> None:
    async with telegram_bot(store, webhook=True, start=False) as bot:
        early = json.dumps(bot.tg.user_says(DM, "/help", queue=False)).encode()
        answer = await bot.webhook_post(early, SECRET)
    assert answer.status_code == 503
    assert bot.conversation.started == []


async def test_a_redelivered_webhook_update_is_answered_once(store: Store) -> None:
    async with telegram_bot(store, webhook=True) as bot:
        update = bot.tg.user_says(DM, "/help")
        assert await bot.tg.deliver_webhook() == 1
        # Telegram redelivers an update when our 200 got lost on the way.
        again = await bot.webhook_post(json.dumps(update).encode(), SECRET)
        assert again.status_code == 200
        await bot.settle(f"u{update['update_id']}", times=2)
        answers = bot.conversation.answers_to(f"u{update['update_id']}")
    assert sorted(len(a) for a in answers) == [0, 1]  # one answer, one duplicate
    assert len(bot.tg.by_chat(DM)) == 1


async def test_webhook_posts_without_the_right_secret_change_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with telegram_bot(store, webhook=True) as bot:
        forged = json.dumps(bot.tg.user_says(DM, "/subscribe", queue=False)).encode()
        with caplog.at_level(logging.WARNING):
            missing = await bot.webhook_post(forged, None)
            wrong = await bot.webhook_post(forged, "not-the-secret")
        garbage = await bot.webhook_post(b"{not json", SECRET)
        not_an_update = await bot.webhook_post(b"[1, 2]", SECRET)
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert (garbage.status_code, not_an_update.status_code) == (400, 400)
    assert bot.conversation.started == []
    assert bot.tg.by_chat(DM) == []
    assert await store.get_subscription("telegram", str(DM)) is None
    assert "secret token" in caplog.text and SECRET not in caplog.text


# -- starting and stopping --------------------------------------------------------------------


async def test_a_429_on_get_me_at_start_is_waited_out(store: Store) -> None:
    async with telegram_bot(store, start=False) as bot:
        bot.tg.fail_next(429, retry_after=3, method="getMe")
        await bot.start()
        assert bot.receiver.bot_name == bot.name
        [answer] = await bot.says(DM, "/help")
    assert bot.sleeps == [3.0]
    assert [(r.method, r.status) for r in bot.tg.rejections] == [("getMe", 429)]
    assert "/paper" in answer.text


async def test_polling_starts_even_if_a_webhook_was_left_set(store: Store) -> None:
    async with telegram_bot(store, start=False) as bot:
        async with telegram.Bot(bot.tg.token, base_url=bot.tg.base_url) as earlier:
            await earlier.set_webhook("https://old-deployment.example.com/telegram")
        bot.tg.fail_next(502, method="deleteWebhook")  # a hiccup: retried
        await bot.start()
        assert bot.tg.webhook_url is None
        [answer] = await bot.says(DM, "/frobnicate")
    assert answer.text.startswith("Unknown command /frobnicate")
    assert not any(r.method == "getUpdates" and r.status == 409 for r in bot.tg.rejections)


def _command(name: str, handler: Any, *, hidden: bool = False) -> Command:
    return Command(
        name=name,
        handler=handler,
        usage="",
        summary_en=f"{name} (a test command)",
        summary_zh="",
        llm=False,
        admin=False,
        hidden=hidden,
    )


class SlowAnswer:
    """A command whose answer takes as long as the test wants (an LLM thinking)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False

    async def __call__(self, ctx: HandlerContext, args: Args) -> Document:
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return Reply.text(ctx.language, "Here is the slow answer.")


async def test_stop_returns_at_once_and_close_finishes_the_answer_in_flight(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowAnswer()
    monkeypatch.setitem(COMMANDS, "slowpoke", _command("slowpoke", slow))
    async with telegram_bot(store) as bot:
        bot.tg.user_says(DM, "/slowpoke")
        await asyncio.wait_for(slow.entered.wait(), WAIT)
        await asyncio.wait_for(bot.receiver.stop(), WAIT)  # does not wait for the answer
        [in_flight] = bot.conversation.spawned
        assert not in_flight.done()
        assert not bot.receiver.application.running and not bot.receiver.running
        # Not confirmed to Telegram: its answer was not done when polling stopped.
        assert len(bot.tg.pending_updates) == 1
        slow.release.set()
        await asyncio.wait_for(bot.conversation.close(grace=WAIT), WAIT)
        assert in_flight.done()
        # A restart gets the update again, knows it was answered, and confirms it.
        again = WatchedConversation(bot.settings, store, Signal())
        restarted = TelegramReceiver(ReceiverDeps(bot.settings, store, again, bot.sender))
        await asyncio.wait_for(restarted.start(), WAIT)
        try:
            await again.signal.until(lambda: len(again.answered) == 1, "the redelivery")
            await again.signal.until(lambda: restarted.poller.offset is not None, "handled")
        finally:
            await asyncio.wait_for(restarted.stop(), WAIT)
            await again.close(grace=WAIT)
        assert again.answered[0][1] == []  # a duplicate: not answered twice
    assert [m.text for m in bot.tg.by_chat(DM)] == ["Here is the slow answer."]
    assert bot.tg.pending_updates == []  # confirmed by the restart's stop


async def test_close_cancels_an_answer_that_outlives_the_grace(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowAnswer()
    monkeypatch.setitem(COMMANDS, "slowpoke", _command("slowpoke", slow))
    async with telegram_bot(store) as bot:
        bot.tg.user_says(DM, "/slowpoke")
        await asyncio.wait_for(slow.entered.wait(), WAIT)
        await asyncio.wait_for(bot.receiver.stop(), WAIT)
        await asyncio.wait_for(bot.conversation.close(grace=0.05), WAIT)
    assert slow.cancelled
    assert bot.tg.by_chat(DM) == []


async def test_a_click_while_shutting_down_is_still_answered(store: Store) -> None:
    async with telegram_bot(store) as bot:
        pick = await bot.posts(DM, _pick_with_votes())
        await bot.conversation.close(grace=0)  # takes no new work from here on
        toast = await bot.clicks(DM, pick.message_id, f"fb|up:{PICK}")
    assert toast is None
    assert await get_votes(store, f"telegram:{DM}") == []


async def test_without_a_sender_the_receiver_answers_through_its_own(store: Store) -> None:
    async with FakeTelegram() as tg:
        settings = _settings(tg)
        conversation = WatchedConversation(settings, store, Signal())
        receiver = TelegramReceiver(
            ReceiverDeps(settings=settings, store=store, conversation=conversation)
        )
        await asyncio.wait_for(receiver.start(), WAIT)
        try:
            update = tg.user_says(DM, "/help")
            await conversation.signal.until(
                lambda: len(conversation.answered) == 1, "answering /help"
            )
        finally:
            await asyncio.wait_for(receiver.stop(), WAIT)
            await conversation.close(grace=WAIT)
    [(asked, [answer])] = conversation.answered
    assert asked.event_id == f"u{update['update_id']}"
    assert answer.text.startswith("/paper")
    assert len(tg.by_chat(DM)) == 1


async def test_a_rejected_token_fails_start_without_showing_it(store: Store) -> None:
    async with FakeTelegram() as tg:
        wrong = "987654321:AAWrongTokenForPaperdropTests_987654"
        settings = updated(_settings(tg), telegram_token=SecretStr(wrong))
        signal = Signal()
        sender = WatchedSender(settings, signal, [])
        conversation = WatchedConversation(settings, store, signal)
        deps = ReceiverDeps(
            settings=settings, store=store, conversation=conversation, sender=sender
        )
        receiver = TelegramReceiver(deps)
        # A ConfigError: serve does not keep trying a token Telegram refused.
        with pytest.raises(ConfigError) as failed:
            await asyncio.wait_for(receiver.start(), WAIT)
        await receiver.stop()
        await sender.aclose()
        await conversation.close(grace=0)
    assert "the bot token was rejected" in str(failed.value)
    assert "PAPERDROP_TELEGRAM_TOKEN" in str(failed.value)
    assert wrong not in str(failed.value)
    assert [(r.method, r.status) for r in tg.rejections] == [("getMe", 401)]
