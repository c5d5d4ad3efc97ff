"""Contract tests of the fake Slack's receive side, driven by the real SDKs.

What a Slack bot meets when it answers people: the Web API calls it makes while answering
(users.info, conversations.info, chat.postEphemeral, chat.update), response_urls, payloads
delivered over HTTP to a slack_bolt AsyncApp (signed, as Slack does) and over Socket Mode
to bolt's AsyncSocketModeHandler. Expiry and ack times run on a fake clock; the only waits
are bounded waits for another task's work, never sleeps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import slack_events as ev
from tests.fakes.slack_server import (
    BOT_ID,
    BOT_USER_ID,
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_MAX_USES,
    TEAM_ID,
    FakeSlack,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the signing secret shared by Slack and the app
WAIT = 10.0  # seconds: generous bound on waiting for another task, never a sleep


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button_message(action_id: str, value: str) -> list[dict[str, Any]]:
    button = {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": "Save"},
    }
    return [_section("A paper"), {"type": "actions", "block_id": "acts", "elements": [button]}]


def _client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.token, base_url=fake.base_url)


def _app(fake: FakeSlack) -> AsyncApp:
    # Passing the client (not token=) is what points bolt, and every per-request client it
    # derives, at the fake: it copies base_url from app.client.
    return AsyncApp(client=_client(fake), signing_secret=SECRET)


@asynccontextmanager
async def _serve(app: AsyncApp) -> AsyncIterator[str]:
    """Serve `app` over HTTP the way a production aiohttp receiver would; yields its URL."""

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/slack/events"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _socket_mode(app: AsyncApp, fake: FakeSlack) -> AsyncIterator[AsyncSocketModeHandler]:
    # The handler's SocketModeClient calls apps.connections.open through app.client, so
    # the fake's base_url reaches it with no extra setting.
    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
    # connect_async/close_async are unannotated in slack_bolt.
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        yield handler
    finally:
        # Before the fake goes: a client left open would try to reconnect to it.
        await handler.close_async()  # type: ignore[no-untyped-call]


# -- Web API a bot uses while answering ----------------------------------------------------


async def test_auth_test_names_the_bot_bolt_will_ignore_events_from() -> None:
    async with FakeSlack() as fake:
        answer = await _client(fake).auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (
        BOT_USER_ID,
        BOT_ID,
        TEAM_ID,
    )


async def test_users_info_answers_roles_and_timezone() -> None:
    async with FakeSlack() as fake:
        fake.add_user("U1", name="ada", is_admin=True, tz="Asia/Tokyo")
        fake.add_user("U2", is_owner=True)
        client = _client(fake)
        ada = (await client.users_info(user="U1"))["user"]
        owner = (await client.users_info(user="U2"))["user"]
        bot = (await client.users_info(user=BOT_USER_ID))["user"]
        with pytest.raises(SlackApiError) as info:
            await client.users_info(user="U404")
    assert (ada["id"], ada["name"], ada["is_admin"], ada["is_owner"]) == ("U1", "ada", True, False)
    assert (ada["tz"], ada["tz_offset"], ada["is_bot"]) == ("Asia/Tokyo", 9 * 3600, False)
    assert (owner["is_owner"], owner["is_admin"]) == (True, True)  # owners are admins in Slack
    assert bot["is_bot"] is True
    assert info.value.response["error"] == "user_not_found"


async def test_conversations_info_tells_dms_from_channels() -> None:
    async with FakeSlack() as fake:
        fake.add_channel("C2", name="papers", is_member=False)
        fake.add_channel("D1", user="U1")
        fake.block_channel("C9", "channel_not_found")
        client = _client(fake)
        public = (await client.conversations_info(channel="C1"))["channel"]
        outside = (await client.conversations_info(channel="C2"))["channel"]
        private = (await client.conversations_info(channel="G1"))["channel"]
        dm = (await client.conversations_info(channel="D1"))["channel"]
        refused = []
        for channel in ("C9", "nonsense"):
            with pytest.raises(SlackApiError) as info:
                await client.conversations_info(channel=channel)
            refused.append(info.value.response["error"])
    flags = ("is_channel", "is_im", "is_private", "is_member")
    assert [public[f] for f in flags] == [True, False, False, True]
    assert (outside["name"], outside["is_member"]) == ("papers", False)
    assert (private["is_private"], private["is_group"]) == (True, True)
    assert (dm["is_im"], dm["is_channel"], dm["user"]) == (True, False, "U1")
    assert "is_member" not in dm and "is_private" not in dm  # as Slack's IM objects
    assert refused == ["channel_not_found", "channel_not_found"]


async def test_post_ephemeral_is_recorded_apart_from_messages_and_validated() -> None:
    async with FakeSlack() as fake:
        client = _client(fake)
        answer = await client.chat_postEphemeral(
            channel="C1", user="U1", text="only you", blocks=[_section("only you <!here>")]
        )
        errors = []
        cases: list[dict[str, Any]] = [
            {"blocks": [_section("x" * 3001)]},
            {"thread_ts": "1.000001"},
            {"user": ""},
        ]
        for kwargs in cases:
            with pytest.raises(SlackApiError) as info:
                await client.chat_postEphemeral(
                    **{"channel": "C1", "user": "U1", "text": "t", **kwargs}
                )
            errors.append(info.value.response["error"])
        # slack_sdk warns about the empty text before the fake refuses it.
        with pytest.raises(SlackApiError) as info, pytest.warns(UserWarning):
            await client.chat_postEphemeral(channel="C1", user="U1", text="")
        errors.append(info.value.response["error"])
        fake.fail_next(429, retry_after=2, method="chat.postEphemeral")
        with pytest.raises(SlackApiError) as limited:
            await client.chat_postEphemeral(channel="C1", user="U1", text="t")
    assert fake.messages == []
    [eph] = fake.ephemerals
    assert (eph.channel, eph.user, eph.ts, eph.text) == (
        "C1",
        "U1",
        answer["message_ts"],
        "only you",
    )
    assert eph.mass_mentions is True
    assert errors == ["invalid_blocks", "thread_not_found", "user_not_found", "no_text"]
    assert limited.value.response.status_code == 429


async def test_chat_update_edits_only_the_bots_own_messages() -> None:
    async with FakeSlack() as fake:
        client = _client(fake)
        posted = await client.chat_postMessage(channel="C1", text="v1", blocks=[_section("v1")])
        answer = await client.chat_update(channel="C1", ts=posted["ts"], text="v2")
        theirs = fake.user_message("hello", channel="C1", user="U1")
        errors = []
        for channel, ts in (("C1", theirs["ts"]), ("C1", "1.999999"), ("C2", posted["ts"])):
            with pytest.raises(SlackApiError) as info:
                await client.chat_update(channel=channel, ts=ts, text="x")
            errors.append(info.value.response["error"])
        with pytest.raises(SlackApiError) as bad:
            await client.chat_update(
                channel="C1", ts=posted["ts"], text="t", blocks=[{"type": "x"}]
            )
        await client.chat_update(channel="C1", ts=posted["ts"], text="v3", blocks=[])
    assert answer["ok"] and answer["ts"] == posted["ts"]
    [message] = fake.messages
    assert (message.text, message.blocks, message.edits) == ("v3", None, 2)
    # Text alone keeps the blocks (Slack's rule); blocks=[] removed them.
    assert [(e.text, e.blocks) for e in fake.edits] == [("v2", [_section("v1")]), ("v3", None)]
    assert errors == ["cant_update_message", "message_not_found", "message_not_found"]
    assert bad.value.response["error"] == "invalid_blocks"


async def test_chat_update_rate_limit_is_50_a_minute_on_the_fake_clock() -> None:
    clock = FakeClock()
    async with FakeSlack(clock=clock, enforce_rate_limits=True) as fake:
        client = _client(fake)
        posted = await client.chat_postMessage(channel="C1", text="v0")
        for i in range(50):
            await client.chat_update(channel="C1", ts=posted["ts"], text=f"v{i + 1}")
        with pytest.raises(SlackApiError) as info:
            await client.chat_update(channel="C1", ts=posted["ts"], text="too many")
        clock.advance(60)
        await client.chat_update(channel="C1", ts=posted["ts"], text="later")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "60"
    assert fake.messages[0].text == "later"


async def test_bot_replies_in_threads_users_started() -> None:
    async with FakeSlack() as fake:
        question = fake.user_message("what's new?", channel="D1", user="U1")
        reply = await _client(fake).chat_postMessage(
            channel="D1", text="this", thread_ts=question["ts"]
        )
        with pytest.raises(ValueError, match="no message"):
            fake.user_message("orphan", channel="D1", user="U1", thread_ts="1.999999")
        follow_up = fake.user_message("more", channel="D1", user="U1", thread_ts=reply["ts"])
    assert question["channel_type"] == "im" and fake.messages[0].thread_ts == question["ts"]
    assert (follow_up["thread_ts"], follow_up["parent_user_id"]) == (reply["ts"], BOT_USER_ID)


@pytest.mark.parametrize(
    ("method", "token", "error"),
    [
        ("apps.connections.open", "bot", "not_allowed_token_type"),
        ("apps.connections.open", "xapp-1-wrong", "invalid_auth"),
        ("chat.postMessage", "app", "not_allowed_token_type"),
    ],
)
async def test_each_token_type_has_its_methods(method: str, token: str, error: str) -> None:
    async with FakeSlack() as fake:
        value = {"bot": fake.token, "app": fake.app_token}.get(token, token)
        with pytest.raises(SlackApiError) as info:
            await AsyncWebClient(token=value, base_url=fake.base_url).api_call(
                method, params={"channel": "C1", "text": "x"}
            )
    assert info.value.response["error"] == error


# -- response_url ------------------------------------------------------------------------


async def test_response_url_accepts_five_posts_then_answers_used_url() -> None:
    async with FakeSlack() as fake:
        url = fake.new_response_url(channel="C1", user="U1")
        hook = AsyncWebhookClient(url)
        first = await hook.send(
            text="t", blocks=[_section("in channel")], response_type="in_channel"
        )
        for i in range(RESPONSE_URL_MAX_USES - 1):
            await hook.send(text=f"update {i}", replace_original=True)
        sixth = await hook.send(text="one too many")
    assert (first.status_code, first.body) == (200, "ok")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    assert len(fake.responses_to(url)) == RESPONSE_URL_MAX_USES
    got = fake.responses[0]
    assert (got.response_type, got.channel, got.user, got.blocks) == (
        "in_channel",
        "C1",
        "U1",
        [_section("in channel")],
    )
    assert fake.responses[1].response_type == "ephemeral"  # Slack's default
    assert fake.responses[1].replace_original is True
    assert [r.error for r in fake.rejections] == ["used_url"]


async def test_response_url_expires_after_30_minutes_on_the_fake_clock() -> None:
    clock = FakeClock()
    async with FakeSlack(clock=clock) as fake:
        hook = AsyncWebhookClient(fake.new_response_url())
        clock.advance(RESPONSE_URL_LIFETIME - 1)
        late = await hook.send(text="just in time")
        clock.advance(1)
        expired = await hook.send(text="too late")
    assert late.status_code == 200
    assert (expired.status_code, expired.body) == (404, "expired_url")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"text": "t", "blocks": [_section("x" * 3001)]}, "invalid_blocks"),
        ({"text": ""}, "no_text"),
        ({"text": "t", "response_type": "everyone"}, "invalid_payload"),
        ({"text": "t", "replace_original": "true"}, "invalid_payload"),
    ],
)
async def test_response_url_validates_like_chat_post_message(
    body: dict[str, Any], error: str
) -> None:
    async with FakeSlack() as fake:
        answer = await AsyncWebhookClient(fake.new_response_url()).send_dict(body)
    assert (answer.status_code, answer.body) == (400, error)
    assert fake.responses == []


async def test_response_url_unknown_and_injected_failures() -> None:
    async with FakeSlack() as fake:
        unknown = await AsyncWebhookClient(f"{fake.origin}/response/nope").send(text="t")
        url = fake.new_response_url()
        fake.fail_next(500, method="response_url", error="internal_error")
        broken = await AsyncWebhookClient(url).send(text="t")
        after = await AsyncWebhookClient(url).send(text="t")
    assert (unknown.status_code, unknown.body) == (404, "no_service")
    assert (broken.status_code, broken.body) == (500, "internal_error")
    assert after.status_code == 200 and len(fake.responses) == 1
    assert [r.injected for r in fake.rejections] == [False, True]


# -- payload builders --------------------------------------------------------------------


def test_signature_is_what_slack_sdk_verifies() -> None:
    body = ev.form_body(ev.slash_command("today", user_id="U1", channel_id="C1"))
    now = int(time.time())
    headers = ev.sign(body, SECRET, now)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = ev.sign(body, SECRET, now - ev.MAX_SIGNATURE_AGE - 1)
    assert not verifier.is_valid_request(body, stale)
    assert ev.retry_headers(2) == {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}


def test_event_payloads_have_slacks_shape() -> None:
    mention = ev.app_mention("summarise", channel="C1", user="U1", ts="1.000001")
    envelope = ev.event_callback(mention)
    reply = ev.message_in_thread("ok", channel="C1", user="U1", ts="1.000003", thread_ts="1.000002")
    assert mention["text"] == f"<@{BOT_USER_ID}> summarise"
    assert (envelope["type"], envelope["event"], envelope["event_time"]) == (
        "event_callback",
        mention,
        1,
    )
    assert envelope["authorizations"][0]["user_id"] == BOT_USER_ID
    assert envelope["event_id"].startswith("Ev")
    assert ev.message_im("hi", channel="D1", user="U1", ts="1.1")["channel_type"] == "im"
    with pytest.raises(ValueError):
        ev.message_im("hi", channel="C1", user="U1", ts="1.1")
    assert (reply["thread_ts"], reply["parent_user_id"]) == ("1.000002", BOT_USER_ID)
    click = ev.block_actions("save", "p1", user_id="U1", channel_id="C1", message_ts="1.2")
    [payload] = parse_qs(ev.interactive_body(click).decode())["payload"]
    assert json.loads(payload) == click and click["container"]["message_ts"] == "1.2"


# -- HTTP mode through slack_bolt ----------------------------------------------------------


async def test_bolt_acks_a_slash_command_in_the_request_and_responds_later() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        done = asyncio.Event()
        results: list[Any] = []

        @app.command("/paperdrop")
        async def paperdrop(ack: Any, respond: Any, command: dict[str, str]) -> None:
            await ack(f"Working on {command['text']}…")
            results.append(await respond(text="Here it is", response_type="in_channel"))
            done.set()

        async with _serve(app) as url:
            payload = fake.slash_command("today", user_id="U1", channel_id="C1")
            reply = await fake.deliver(url, "slash_commands", payload, signing_secret=SECRET)
            await asyncio.wait_for(done.wait(), WAIT)
    # ack(text) is the HTTP answer itself: an ephemeral message to the user.
    assert (reply.status, reply.text) == (200, "Working on today…")
    assert (results[0].status_code, results[0].body) == (200, "ok")
    [response] = fake.responses
    assert (response.text, response.response_type, response.user) == (
        "Here it is",
        "in_channel",
        "U1",
    )
    # bolt authorized with one lazy auth.test before running the listener.
    assert [method for method, _ in fake.requests] == ["auth.test"]


@pytest.mark.parametrize("case", ["forged signature", "wrong secret", "stale timestamp"])
async def test_bolt_refuses_what_slack_did_not_sign_just_now(case: str) -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        called: list[str] = []

        @app.command("/paperdrop")
        async def paperdrop(ack: Any) -> None:
            called.append("listener")
            await ack()

        kwargs: dict[str, Any] = {"signing_secret": SECRET}
        if case == "forged signature":
            kwargs["headers"] = {"X-Slack-Signature": "v0=" + "0" * 64}
        elif case == "wrong secret":
            kwargs["signing_secret"] = "not-the-secret"
        else:
            kwargs["timestamp"] = int(time.time()) - ev.MAX_SIGNATURE_AGE - 60
        async with _serve(app) as url:
            payload = fake.slash_command("x", user_id="U1", channel_id="C1")
            reply = await fake.deliver(url, "slash_commands", payload, **kwargs)
    assert reply.status == 401 and reply.json() == {"error": "invalid request"}
    assert called == [] and fake.requests == []  # refused before any Web API call


async def test_bolt_answers_url_verification() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        async with _serve(app) as url:
            reply = await fake.deliver(
                url, "events_api", ev.url_verification("3eZbrw1a"), signing_secret=SECRET
            )
    assert reply.status == 200 and reply.json() == {"challenge": "3eZbrw1a"}


async def test_bolt_app_mention_reaches_its_listener_which_replies_in_thread() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        done = asyncio.Event()
        seen: list[dict[str, Any]] = []
        retries: list[Any] = []

        @app.event("app_mention")
        async def mentioned(event: dict[str, Any], say: Any, request: Any) -> None:
            seen.append(event)
            retries.append(request.headers.get("x-slack-retry-num"))
            await say(text="On it", thread_ts=event["ts"])
            done.set()

        async with _serve(app) as url:
            event = fake.user_message("today's brief?", channel="C1", user="U1", mention=True)
            envelope = ev.event_callback(event)
            reply = await fake.deliver(
                url, "events_api", envelope, signing_secret=SECRET, retry_num=1
            )
            await asyncio.wait_for(done.wait(), WAIT)
    assert reply.status == 200  # bolt acks events itself, before the listener finishes
    assert seen == [event]
    assert retries == [["1"]]  # how a receiver spots Slack's redeliveries
    [answer] = fake.by_channel("C1")
    assert (answer.text, answer.thread_ts) == ("On it", event["ts"])


async def test_bolt_block_action_reaches_its_listener_and_replaces_the_message() -> None:
    async with FakeSlack() as fake:
        app = _app(fake)
        done = asyncio.Event()
        values: list[str] = []

        @app.action("save")
        async def save(ack: Any, body: dict[str, Any], respond: Any) -> None:
            await ack()
            values.append(body["actions"][0]["value"])
            await respond(text="Saved", replace_original=True)
            done.set()

        posted = await _client(fake).chat_postMessage(
            channel="C1", text="A paper", blocks=_button_message("save", "2405.01234")
        )
        with pytest.raises(ValueError, match="no element"):
            fake.block_actions("delete", user_id="U1", channel_id="C1", message_ts=posted["ts"])
        payload = fake.block_actions("save", user_id="U1", channel_id="C1", message_ts=posted["ts"])
        async with _serve(app) as url:
            reply = await fake.deliver(url, "interactive", payload, signing_secret=SECRET)
            await asyncio.wait_for(done.wait(), WAIT)
    assert reply.status == 200 and values == ["2405.01234"]
    assert payload["actions"][0]["block_id"] == "acts"
    [response] = fake.responses
    assert (response.text, response.replace_original, response.message_ts) == (
        "Saved",
        True,
        posted["ts"],
    )


# -- Socket Mode -------------------------------------------------------------------------


async def test_socket_protocol_hello_envelopes_and_ack_bookkeeping() -> None:
    clock = FakeClock()
    async with FakeSlack(clock=clock) as fake, aiohttp.ClientSession() as http:
        opened = await AsyncWebClient(base_url=fake.base_url).apps_connections_open(
            app_token=fake.app_token or ""
        )
        async with http.ws_connect(opened["url"]) as ws:
            hello = await ws.receive_json(timeout=WAIT)
            event = ev.event_callback(fake.user_message("hi", channel="D1", user="U1"))
            envelope_id = await fake.socket_send("events_api", event)
            envelope = await ws.receive_json(timeout=WAIT)
            clock.advance(0.5)
            await ws.send_json({"envelope_id": "not-sent"})
            await ws.send_json({"envelope_id": envelope_id})
            await fake.wait_ack(envelope_id, WAIT)
            await ws.send_json({"envelope_id": envelope_id})
            await fake.wait_until(lambda: len(fake.rejections) == 2, WAIT)
        with pytest.raises(aiohttp.WSServerHandshakeError):  # a ticket opens one connection
            await http.ws_connect(opened["url"])
    assert opened["url"].startswith("ws://127.0.0.1:")
    assert (hello["type"], hello["num_connections"], hello["connection_info"]) == (
        "hello",
        1,
        {"app_id": ev.APP_ID},
    )
    assert envelope == {
        "envelope_id": envelope_id,
        "type": "events_api",
        "payload": event,
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
    }
    assert fake.socket_acks[envelope_id] == (1000.5, None)
    assert fake.ack_latency(envelope_id) == 0.5
    assert [r.error for r in fake.rejections] == [
        "unknown_envelope",
        "duplicate_ack",
        "invalid_ticket",
    ]


async def test_socket_mode_handler_acks_a_slash_command_with_its_payload() -> None:
    async with FakeSlack() as fake:
        app = AsyncApp(client=_client(fake))  # Socket Mode needs no signing secret
        done = asyncio.Event()

        @app.command("/paperdrop")
        async def paperdrop(ack: Any, respond: Any) -> None:
            await ack("Working on it…")
            await respond(text="Here it is")
            done.set()

        async with _socket_mode(app, fake):
            payload = fake.slash_command("today", user_id="U1", channel_id="C1")
            envelope_id = await fake.socket_send("slash_commands", payload)
            _, ack_payload = await fake.wait_ack(envelope_id, WAIT)
            await asyncio.wait_for(done.wait(), WAIT)
    # bolt sends ack(text) back as the envelope's payload.
    assert ack_payload == {"text": "Working on it…"}
    assert fake.socket_envelopes[envelope_id].accepts_response_payload is True
    assert [r.text for r in fake.responses] == ["Here it is"]
    assert fake.rejections == []


async def test_socket_mode_handler_reconnects_after_disconnect_and_gets_events() -> None:
    async with FakeSlack() as fake:
        app = AsyncApp(client=_client(fake))
        done = asyncio.Event()
        texts: list[str] = []

        @app.event("message")
        async def on_message(event: dict[str, Any]) -> None:
            texts.append(event["text"])
            done.set()

        async with _socket_mode(app, fake):
            await fake.wait_socket(WAIT)
            await fake.socket_disconnect("refresh_requested")
            await fake.wait_until(
                lambda: fake.socket_connects == 2 and fake.sockets_open == 1, WAIT
            )
            event = ev.event_callback(fake.user_message("hello bot", channel="D1", user="U1"))
            envelope_id = await fake.socket_send("events_api", event)
            _, ack_payload = await fake.wait_ack(envelope_id, WAIT)
            await asyncio.wait_for(done.wait(), WAIT)
    assert texts == ["hello bot"] and ack_payload is None
    opened = [m for m, _ in fake.requests if m == "apps.connections.open"]
    assert len(opened) == 2  # the SDK asked for a fresh URL to reconnect
