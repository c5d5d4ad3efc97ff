"""Contract tests of FakeTelegram's receive side, driven by the real python-telegram-bot.

A real `telegram.ext.Application` long-polls the fake (or takes its webhook deliveries)
and must see what Telegram would send: Update JSON PTB parses, commands it recognises,
callback queries it can answer once, conflicts it reports. Nothing sleeps on a wall
clock: tests wait on events their handlers set, bounded by `WAIT` seconds; callback-query
expiry runs on a fake clock. PTB capitalize()s error descriptions (lower-casing the
rest), hence the ``(?i)`` in some matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import telegram
from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_server import (
    DEFAULT_USER_ID,
    FIRST_UPDATE_ID,
    FakeTelegram,
)

WAIT = 10.0  # seconds: a generous bound on every wait for a handler
WALL = 1_780_000_000.0  # the fake's wall clock: message dates
POLL_TIMEOUT = 1  # getUpdates' long-poll timeout for the Applications under test


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when RetryAfter is built unless opted in; with filterwarnings=error
    # the warning would replace the RetryAfter a 429 should raise.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


class Inbox:
    """What handlers received, with a way to wait for the n-th update."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.args: list[list[str]] = []
        self._changed = asyncio.Event()

    async def record(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.updates.append(update)
        self.args.append(list(context.args or []))
        self._changed.set()

    async def wait_for(self, count: int) -> list[Update]:
        async with asyncio.timeout(WAIT):
            while len(self.updates) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.updates


@contextlib.asynccontextmanager
async def polling_app(
    tg: FakeTelegram, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A real Application long-polling the fake, stopped (and its offset confirmed) after."""
    app = Application.builder().token(tg.token).base_url(tg.base_url).build()
    for handler in handlers:
        app.add_handler(handler)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


# -- polling -------------------------------------------------------------------------------


async def test_a_message_reaches_a_polling_application_and_is_confirmed() -> None:
    inbox = Inbox()
    async with FakeTelegram(wall_clock=lambda: WALL) as tg:
        async with polling_app(tg, MessageHandler(filters.TEXT, inbox.record)):
            sent = tg.user_says(42, "hello bot", first_name="Ada", username="ada")
            [update] = await inbox.wait_for(1)
        assert update.update_id == sent["update_id"] == FIRST_UPDATE_ID
        message = update.message
        assert message is not None and message.text == "hello bot"
        assert message.from_user is not None and message.from_user.id == 42
        assert (message.from_user.first_name, message.from_user.username) == ("Ada", "ada")
        assert message.chat.type == "private" and message.chat.username == "ada"
        assert message.date == dtm.datetime.fromtimestamp(WALL, dtm.UTC)
        # PTB's stop() confirms what it fetched with one last getUpdates(offset=...).
        assert tg.pending_updates == []
        assert tg.confirmed_offset == FIRST_UPDATE_ID + 1

        second = Inbox()
        async with polling_app(tg, MessageHandler(filters.TEXT, second.record)):
            tg.user_says(42, "again")
            [again] = await second.wait_for(1)
        assert again.update_id == FIRST_UPDATE_ID + 1  # the first one was not redelivered
        assert again.message is not None and again.message.message_id == 2
    assert [u.update_id for u in second.updates] == [FIRST_UPDATE_ID + 1]
    assert tg.rejections == []


async def test_a_group_command_addressed_to_the_bot_reaches_command_handler() -> None:
    inbox = Inbox()
    async with FakeTelegram() as tg:
        async with polling_app(tg, CommandHandler("paper", inbox.record)):
            update = tg.user_says(-1001234, f"/paper@{tg.username} 2605.29559", user_id=7)
            [received] = await inbox.wait_for(1)
        entity = update["message"]["entities"][0]
        assert entity == {
            "type": "bot_command",
            "offset": 0,
            "length": len(f"/paper@{tg.username}"),
        }
        assert inbox.args == [["2605.29559"]]
        message = received.message
        assert message is not None and message.chat.type == "supergroup"
        assert message.from_user is not None and message.from_user.id == 7


async def test_privacy_mode_decides_what_the_bot_gets_from_a_group() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        assert bot.bot.can_read_all_group_messages is False  # getMe says so
        group = -1005
        tg.user_says(group, "just chatting")
        tg.user_says(group, "/paper@other_bot 1")
        command = tg.user_says(group, "/paper 2605.29559")
        mention = tg.user_says(group, f"what about this, @{tg.username}?")
        ours = await bot.send_message(group, "today's brief")
        reply = tg.user_says(group, "more like this", reply_to=ours.message_id)
        tg.user_says(-77, "a basic group too")
        updates = await bot.get_updates(timeout=0)
        assert [u.update_id for u in updates] == [
            command["update_id"],
            mention["update_id"],
            reply["update_id"],
        ]
        assert [u["message"]["text"] for u in tg.withheld_updates] == [
            "just chatting",
            "/paper@other_bot 1",
            "a basic group too",
        ]
        tg.set_member(group, tg.bot_id, "administrator")  # admins see everything
        everything = tg.user_says(group, "just chatting again")
        assert [u.update_id for u in await bot.get_updates(timeout=0)][-1] == (
            everything["update_id"]
        )
    async with FakeTelegram(privacy_mode=False) as open_tg:
        open_tg.user_says(-1005, "just chatting")
        assert len(open_tg.pending_updates) == 1


async def test_user_text_gets_telegram_entities_in_utf16_units() -> None:
    text = "🙂 /start@paperdrop_fake_bot then ask @someone_else about https://arxiv.org/abs/2605.29559."
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        tg.user_says(42, text)
        tg.user_says(42, "a/path/start and mail@example.com are not commands or mentions")
        first, second = await bot.get_updates(timeout=0)
    assert first.message is not None and second.message is not None
    # PTB slices entities in UTF-16 units: wrong offsets would cut the emoji in half.
    assert list(first.message.parse_entities().values()) == [
        "/start@paperdrop_fake_bot",
        "@someone_else",
        "https://arxiv.org/abs/2605.29559",
    ]
    assert [e.type for e in first.message.entities] == ["bot_command", "mention", "url"]
    assert first.message.entities[0].offset == 3  # the emoji is two UTF-16 units
    assert [e.type for e in second.message.entities] == ["email"]  # not a mention, no url


async def test_replies_carry_the_replied_message_and_ids_are_shared_per_chat() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        question = tg.user_says(42, "/start")
        ours = await bot.send_message(
            42, "welcome", reply_parameters=ReplyParameters(question["message"]["message_id"])
        )
        answer = tg.user_says(42, "thanks", reply_to=ours.message_id)
        with pytest.raises(ValueError, match="no message 99"):
            tg.user_says(42, "x", reply_to=99)
        updates = await bot.get_updates(timeout=0)
    assert [question["message"]["message_id"], ours.message_id] == [1, 2]
    assert answer["message"]["message_id"] == 3
    assert ours.reply_to_message is not None and ours.reply_to_message.text == "/start"
    parent = updates[1].message.reply_to_message if updates[1].message else None
    assert parent is not None and parent.message_id == ours.message_id
    assert parent.from_user is not None and parent.from_user.id == tg.bot_id
    assert parent.from_user.is_bot and parent.text == "welcome"
    assert [m["message_id"] for m in tg.chat_log(42)] == [1, 2, 3]


async def test_offset_limit_and_allowed_updates_follow_telegram() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        ids = [tg.user_says(42, f"m{i}")["update_id"] for i in range(5)]
        assert [u.update_id for u in await bot.get_updates(limit=2, timeout=0)] == ids[:2]
        assert [u.update_id for u in await bot.get_updates(offset=-1, timeout=0)] == ids[-1:]
        assert tg.confirmed_offset == ids[-1]  # offset -1 confirmed all but the last
        assert len(tg.pending_updates) == 1
        await bot.get_updates(offset=ids[-1] + 1, timeout=0)
        assert tg.pending_updates == []

        await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
        withheld = tg.user_says(42, "not wanted now")
        assert tg.pending_updates == [] and tg.withheld_updates == [withheld]
        await bot.get_updates(timeout=0, allowed_updates=[])  # back to the default
        tg.user_says(42, "wanted again")
        assert len(await bot.get_updates(timeout=0)) == 1


async def test_a_second_long_poll_terminates_the_waiting_one() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as first,
        telegram.Bot(tg.token, base_url=tg.base_url) as second,
    ):
        waiting = asyncio.create_task(first.get_updates(timeout=30))
        await tg.wait_for_poll()
        taking_over = asyncio.create_task(second.get_updates(timeout=30))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(waiting, WAIT)
        await tg.wait_for_poll()
        update = tg.user_says(42, "wakes the poll at once")
        updates = await asyncio.wait_for(taking_over, WAIT)
        assert [u.update_id for u in updates] == [update["update_id"]]
    assert [(r.method, r.status) for r in tg.rejections] == [("getUpdates", 409)]


async def test_closing_the_server_releases_a_waiting_poll() -> None:
    tg = FakeTelegram()
    await tg.start()
    async with telegram.Bot(tg.token, base_url=tg.base_url) as bot:
        waiting = asyncio.create_task(bot.get_updates(timeout=50))
        await tg.wait_for_poll()
        await asyncio.wait_for(tg.close(), WAIT)
        assert await asyncio.wait_for(waiting, WAIT) == ()


async def test_injected_failures_apply_to_receive_methods() -> None:
    async with FakeTelegram() as tg:
        tg.fail_next(429, retry_after=3, method="getMe")
        bot = telegram.Bot(tg.token, base_url=tg.base_url)
        with pytest.raises(RetryAfter) as info:
            await bot.initialize()
        assert info.value.retry_after == dtm.timedelta(seconds=3)
        async with bot:
            tg.fail_next(502, method="getUpdates")
            tg.user_says(42, "kept for the next call")
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.get_updates(timeout=0)
            assert len(await bot.get_updates(timeout=0)) == 1
    assert [(r.method, r.injected) for r in tg.rejections] == [
        ("getMe", True),
        ("getUpdates", True),
    ]


# -- webhooks ------------------------------------------------------------------------------


async def test_a_webhook_blocks_get_updates_until_deleted() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        tg.user_says(42, "queued before")
        assert await bot.set_webhook("https://bot.example.com/hook", secret_token="s3cr3t_-OK")
        assert (tg.webhook_url, tg.webhook_secret) == ("https://bot.example.com/hook", "s3cr3t_-OK")
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates(timeout=0)
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count, info.has_custom_certificate) == (
            "https://bot.example.com/hook",
            1,
            False,
        )
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert tg.webhook_url is None and tg.webhook_secret is None
        assert await bot.get_updates(timeout=0) == ()
        assert (await bot.get_webhook_info()).url == ""


@pytest.mark.parametrize(
    ("url", "secret", "error"),
    [
        ("https://bot.example.com/hook", "has space", "secret token contains unallowed char"),
        ("https://bot.example.com/hook", "x" * 257, "secret token is too long"),
        ("http://bot.example.com/hook", None, "bad webhook: https url must be provided"),
        ("https://bot.example.com:8080/hook", None, "only on ports 80, 88, 443 or 8443"),
        ("ftp://bot.example.com/hook", None, "invalid webhook url specified"),
    ],
)
async def test_set_webhook_refusals(url: str, secret: str | None, error: str) -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        with pytest.raises(BadRequest, match=f"(?i){error}"):
            await bot.set_webhook(url, secret_token=secret)
    assert tg.webhook_url is None


async def test_webhook_delivery_reaches_an_application_with_its_secret() -> None:
    inbox = Inbox()
    seen_secrets: list[str | None] = []
    failing = [True]

    async def endpoint(request: web.Request) -> web.Response:
        seen_secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        if failing[0]:
            return web.Response(status=500)
        await app.update_queue.put(Update.de_json(await request.json(), app.bot))
        return web.Response()

    hook = web.Application()
    hook.router.add_post("/hook", endpoint)
    runner = web.AppRunner(hook)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with FakeTelegram() as tg:
            app = Application.builder().token(tg.token).base_url(tg.base_url).updater(None).build()
            app.add_handler(MessageHandler(filters.TEXT, inbox.record))
            async with app:
                await app.start()
                await app.bot.set_webhook(f"http://{host}:{port}/hook", secret_token="hook-secret")
                tg.user_says(42, "via webhook")
                assert await tg.deliver_webhook() == 0  # the endpoint answered 500
                info = await app.bot.get_webhook_info()
                assert info.pending_update_count == 1
                assert (
                    info.last_error_message
                    == "Wrong response from the webhook: 500 Internal Server Error"
                )
                failing[0] = False
                assert await tg.deliver_webhook() == 1
                [update] = await inbox.wait_for(1)
                # queue=False: the JSON for the test to post itself, never queued
                manual = tg.user_says(42, "posted by the test", queue=False)
                async with httpx.AsyncClient() as http:
                    answer = await http.post(
                        f"http://{host}:{port}/hook",
                        content=json.dumps(manual),
                        headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret"},
                    )
                assert answer.status_code == 200
                await inbox.wait_for(2)
                await app.stop()
            assert tg.pending_updates == []
    finally:
        await runner.cleanup()
    assert update.message is not None and update.message.text == "via webhook"
    assert [u.message.text for u in inbox.updates if u.message] == [
        "via webhook",
        "posted by the test",
    ]
    assert seen_secrets == ["hook-secret"] * 3


# -- callback queries and inline keyboards -------------------------------------------------


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def test_a_click_reaches_callback_query_handler_and_is_answerable_once() -> None:
    queries: list[CallbackQuery] = []
    answered = asyncio.Event()

    async def on_click(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        queries.append(update.callback_query)
        await update.callback_query.answer("Saved")
        answered.set()

    async with FakeTelegram() as tg, polling_app(tg, CallbackQueryHandler(on_click)) as app:
        sent = await app.bot.send_message(
            -1001234, "2605.29559", reply_markup=_keyboard("like:2605.29559", "skip")
        )
        with pytest.raises(ValueError, match="no button"):
            tg.user_clicks(-1001234, sent.message_id, "not-a-button")
        click = tg.user_clicks(-1001234, sent.message_id, "like:2605.29559", user_id=7)
        await asyncio.wait_for(answered.wait(), WAIT)
        with pytest.raises(BadRequest, match="Query is too old"):
            await queries[0].answer("again")
    [query] = queries
    assert query.id == click["callback_query"]["id"] and query.data == "like:2605.29559"
    assert query.from_user.id == 7
    assert query.message is not None and query.message.message_id == sent.message_id
    assert tg.callback_answers == [(query.id, "Saved")]
    assert tg.by_chat(-1001234)[0].callback_data() == ["like:2605.29559", "skip"]


async def test_callback_queries_expire_after_15_seconds_and_unknown_ids_are_refused() -> None:
    clock = FakeClock()
    async with (
        FakeTelegram(clock=clock) as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        sent = await bot.send_message(42, "pick", reply_markup=_keyboard("a"))
        late = tg.user_clicks(42, sent.message_id, "a")["callback_query"]["id"]
        on_time = tg.user_clicks(42, sent.message_id, "a")["callback_query"]["id"]
        clock.advance(15)
        assert await bot.answer_callback_query(on_time)
        clock.advance(0.5)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(late)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("123")
    assert tg.callback_answers == [(on_time, None)]


async def test_callback_data_is_limited_to_64_utf8_bytes() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        fits = "я" * 32  # 32 characters, 64 bytes
        await bot.send_message(42, "ok", reply_markup=_keyboard(fits))
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(42, "x", reply_markup=_keyboard(fits + "x"))  # 65 bytes
        # PTB builds these buttons without complaint; Telegram refuses them.
        both = InlineKeyboardButton("t", url="https://arxiv.org", callback_data="d")
        bare = InlineKeyboardButton("t")
        bad_url = InlineKeyboardButton("t", url="arxiv")
        for button, error in [
            (both, "exactly one"),
            (bare, "text buttons are unallowed"),
            (bad_url, "button_url_invalid"),
        ]:
            with pytest.raises(BadRequest, match=f"(?i){error}"):
                await bot.send_message(42, "x", reply_markup=InlineKeyboardMarkup([[button]]))
    assert [m.reply_markup for m in tg.messages] == [_keyboard(fits).to_dict()]


async def test_edits_update_the_record_and_unchanged_edits_are_refused() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        sent = await bot.send_message(
            42, "<b>draft</b>", parse_mode="HTML", reply_markup=_keyboard("a")
        )
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text(
                "<b>draft</b>",
                chat_id=42,
                message_id=sent.message_id,
                parse_mode="HTML",
                reply_markup=_keyboard("a"),
            )
        edited = await bot.edit_message_text(
            "final", chat_id=42, message_id=sent.message_id, reply_markup=_keyboard("b")
        )
        assert isinstance(edited, telegram.Message) and edited.edit_date is not None
        assert tg.message(42, sent.message_id).callback_data() == ["b"]
        await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", chat_id=42, message_id=99)
        user = tg.user_says(42, "mine")
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", chat_id=42, message_id=user["message"]["message_id"])
    [record] = tg.by_chat(42)
    assert (record.text, record.reply_markup) == ("final", None)
    assert [(e.method, e.before.text, e.after.text) for e in tg.edits] == [
        ("editMessageText", "draft", "final"),
        ("editMessageReplyMarkup", "final", "final"),
    ]
    with pytest.raises(ValueError, match="no button"):
        tg.user_clicks(42, sent.message_id, "b")  # the keyboard is gone


# -- commands and chats --------------------------------------------------------------------


async def test_set_my_commands_validates_and_stores_per_scope() -> None:
    good = [BotCommand("paper", "Summarise an arXiv paper"), BotCommand("brief_now", "Brief")]
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Paper", "capital letters")])
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("x" * 33, "too long")])
        with pytest.raises(BadRequest, match="Bot_command_description_invalid"):
            await bot.set_my_commands([BotCommand("paper", "")])
        with pytest.raises(BadRequest, match="Bot_commands_too_much"):
            await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
        assert await bot.set_my_commands(good)
        assert await bot.set_my_commands(good[:1], scope=BotCommandScopeAllGroupChats())
        assert await bot.get_my_commands() == tuple(good)
        assert await bot.get_my_commands(scope=BotCommandScopeAllGroupChats()) == (good[0],)
        assert await bot.get_my_commands(language_code="de") == ()
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
    assert tg.commands == []
    assert tg.commands_for({"type": "all_group_chats"}) == [good[0].to_dict()]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        ("creator", ChatMemberOwner),
        ("administrator", ChatMemberAdministrator),
        ("member", ChatMemberMember),
        ("restricted", ChatMemberRestricted),
        ("left", ChatMemberLeft),
        ("kicked", ChatMemberBanned),
    ],
)
async def test_get_chat_member_answers_the_status_set(status: str, cls: type) -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        tg.set_member(-1001234, 7, status)
        member = await bot.get_chat_member(-1001234, 7)
        assert isinstance(member, cls) and member.status == status and member.user.id == 7


async def test_get_chat_member_defaults_and_private_chats() -> None:
    async with (
        FakeTelegram() as tg,
        telegram.Bot(tg.token, base_url=tg.base_url) as bot,
    ):
        tg.user_says(-1001234, "hi", first_name="Grace")  # the default group user
        member = await bot.get_chat_member(-1001234, DEFAULT_USER_ID)
        assert member.status == "member" and member.user.first_name == "Grace"
        assert (await bot.get_chat_member(42, 42)).status == "member"
        with pytest.raises(BadRequest, match="User not found"):
            await bot.get_chat_member(42, 43)
        with pytest.raises(ValueError, match="status must be one of"):
            tg.set_member(-1001234, 7, "owner")
        chat = await bot.get_chat(-1001234)
        assert (chat.id, chat.type, chat.title) == (-1001234, "supergroup", "Chat -1001234")
