"""Contract tests of the receive side of the fake Feishu, driven by lark-oapi itself.

The event payloads, encryption and signatures are checked against lark-oapi's real
`EventDispatcherHandler` (HTTP mode), the API answers a bot needs (reply, chat info, card
update) against lark-oapi's real API client, and the long-connection fake against the real
`lark.ws.Client`. Nothing sleeps: waits are bounded waits on events.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes import feishu_events as fe
from tests.fakes.feishu_server import (
    CARD_MAX_CONTENT,
    DEFAULT_OWNER_OPEN_ID,
    FakeFeishu,
    import_lark,
)
from tests.fakes.threaded import in_thread

if TYPE_CHECKING:  # lark-oapi itself is imported on use (import_lark), not at collection
    import lark_oapi as lark
    from lark_oapi.api.im.v1 import P2ImMessageReceiveV1
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTrigger,
        P2CardActionTriggerResponse,
    )


EK = fe.DEFAULT_ENCRYPT_KEY
VT = fe.DEFAULT_VERIFICATION_TOKEN
USER = "ou_fake_user_alice"
CARD = {
    "schema": "2.0",
    "header": {"title": {"tag": "plain_text", "content": "Paper"}},
    "body": {"elements": [{"tag": "markdown", "content": "**2605.29559**"}]},
}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- HTTP mode: lark-oapi's EventDispatcherHandler -------------------------------------------


def _dispatcher(
    on_message: Callable[[P2ImMessageReceiveV1], None],
    on_card: Callable[[P2CardActionTrigger], P2CardActionTriggerResponse] | None = None,
    *,
    encrypt_key: str = EK,
    token: str = VT,
) -> lark.EventDispatcherHandler:
    lark = import_lark()
    builder = lark.EventDispatcherHandler.builder(encrypt_key, token)
    builder.register_p2_im_message_receive_v1(on_message)
    if on_card is not None:
        builder.register_p2_card_action_trigger(on_card)
    return builder.build()


def _do(
    handler: lark.EventDispatcherHandler, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    request = import_lark().RawRequest()
    request.uri = "/feishu/events"
    request.body = body
    request.headers = headers
    response = handler.do(request)  # synchronous; runs the registered function inline
    return response.status_code, json.loads(response.content)


def _never(data: Any) -> None:
    raise AssertionError("the handler must not run")


@pytest.mark.parametrize("encrypted", [False, True])
def test_url_verification_is_answered(encrypted: bool) -> None:
    payload = fe.url_verification("challenge-123", VT)
    body, headers = fe.event_request(payload, encrypt_key=EK if encrypted else None)
    assert _do(_dispatcher(_never), body, headers) == (200, {"challenge": "challenge-123"})
    wrong = fe.url_verification("challenge-123", "not-the-token")
    body, headers = fe.event_request(wrong, encrypt_key=EK if encrypted else None)
    assert _do(_dispatcher(_never), body, headers) == (500, {"msg": "invalid verification_token"})


def test_encrypted_signed_message_event_reaches_the_handler() -> None:
    got: list[P2ImMessageReceiveV1] = []
    payload = fe.message_event(
        "@_user_1 /paper 2605.29559",
        chat_id="oc_team",
        sender_open_id=USER,
        root_id="om_root",
        parent_id="om_root",
        thread_id="omt_1",
        mentions=[("@_user_2", "ou_bob", "Bob")],
        create_time=1_780_000_000_000,
    )
    body, headers = fe.event_request(payload, encrypt_key=EK, timestamp=1_780_000_000, nonce="n1")
    assert set(json.loads(body)) == {"encrypt"}
    assert _do(_dispatcher(got.append), body, headers) == (200, {"msg": "success"})
    (event,) = got
    assert (event.schema, event.header.event_type) == ("2.0", "im.message.receive_v1")
    assert (event.header.token, event.header.app_id) == (VT, fe.DEFAULT_APP_ID)
    assert event.header.event_id == payload["header"]["event_id"]
    message = event.event.message
    assert json.loads(message.content) == {"text": "@_user_1 /paper 2605.29559"}
    assert (message.chat_id, message.chat_type, message.message_type) == (
        "oc_team",
        "group",
        "text",
    )
    assert (message.root_id, message.parent_id, message.thread_id) == ("om_root",) * 2 + ("omt_1",)
    assert message.create_time == "1780000000000"
    assert [(m.key, m.id.open_id, m.name) for m in message.mentions] == [
        ("@_user_1", fe.BOT_OPEN_ID, fe.BOT_NAME),
        ("@_user_2", "ou_bob", "Bob"),
    ]
    assert event.event.sender.sender_id.open_id == USER
    assert event.event.sender.sender_type == "user"


@pytest.mark.parametrize(
    ("case", "msg"),
    [
        ("wrong signature", "signature verification failed"),
        ("wrong token", "invalid verification_token"),
        ("wrong encrypt key", None),
        ("no signature headers", None),
        ("event nobody registered", "processor not found, type: im.chat.member.bot.added_v1"),
    ],
)
def test_dispatcher_refusals(case: str, msg: str | None) -> None:
    payload = fe.message_event("hi", chat_id="oc_team", sender_open_id=USER)
    key, extra = EK, {}
    if case == "wrong token":
        payload["header"]["token"] = "forged"
    elif case == "wrong encrypt key":
        key = "another-key"
    elif case == "event nobody registered":
        payload["header"]["event_type"] = "im.chat.member.bot.added_v1"
    body, headers = fe.event_request(payload, encrypt_key=key)
    if key != EK:  # signed with the other key too, so only decryption can fail
        headers = fe.sign_headers(body, EK, timestamp=1, nonce="n")
    if case == "wrong signature":
        extra = {"X-Lark-Signature": "0" * 64}
    elif case == "no signature headers":
        headers = {"Content-Type": "application/json"}
    status, answer = _do(_dispatcher(_never), body, {**headers, **extra})
    # lark-oapi answers every refusal with HTTP 500 and {"msg": str(exception)}.
    assert status == 500
    if msg is not None:
        assert answer == {"msg": msg}


def test_card_action_reaches_the_callback_and_its_answer_is_the_body() -> None:
    import_lark()
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )

    got: list[P2CardActionTrigger] = []

    def on_card(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        got.append(data)
        return P2CardActionTriggerResponse({"toast": {"type": "success", "content": "Saved"}})

    payload = fe.card_action_event(
        {"action": "save", "paper": "2605.29559"},
        open_id=USER,
        open_message_id="om_card",
        open_chat_id="oc_team",
        event_id="ev-1",
    )
    body, headers = fe.event_request(payload)
    status, answer = _do(_dispatcher(_never, on_card), body, headers)
    assert (status, answer) == (200, {"toast": {"type": "success", "content": "Saved"}})
    (event,) = got
    assert event.header.event_type == "card.action.trigger"
    assert event.header.event_id == "ev-1"
    assert event.event.action.value == {"action": "save", "paper": "2605.29559"}
    assert event.event.action.tag == "button"
    assert event.event.operator.open_id == USER
    assert (event.event.context.open_message_id, event.event.context.open_chat_id) == (
        "om_card",
        "oc_team",
    )
    assert event.event.token.startswith("c-")


async def test_aiohttp_bridge_then_reply_through_the_fake() -> None:
    """The whole answering path: Feishu POSTs a signed event to the bot's aiohttp route,
    lark-oapi dispatches it, the bot replies in thread through the fake's reply API."""
    lark = import_lark()
    inbox: asyncio.Queue[P2ImMessageReceiveV1] = asyncio.Queue()
    handler = _dispatcher(inbox.put_nowait)  # runs on the loop: do() is called inline

    async def events(request: web.Request) -> web.Response:
        raw = lark.RawRequest()
        raw.uri = request.path
        raw.body = await request.read()
        # aiohttp's headers are case-insensitive; lark-oapi looks up "X-Lark-Signature"
        # etc. with dict.get, so a plain dict of lower-cased names would fail (TypeError).
        raw.headers = request.headers
        answer = handler.do(raw)
        return web.Response(status=answer.status_code, body=answer.content, headers=answer.headers)

    app = web.Application()
    app.router.add_post("/feishu/events", events)
    async with (
        FakeFeishu() as fs,
        TestClient(TestServer(app)) as bot,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        payload = fs.message_event(
            "@_user_1 /paper 2605.29559", chat_id="oc_team", sender_open_id=USER
        )
        body, headers = fe.event_request(payload, encrypt_key=fs.encrypt_key)
        lowered = {k.lower(): v for k, v in headers.items()}  # as an HTTP/2 proxy forwards them
        answer = await bot.post("/feishu/events", data=body, headers=lowered)
        assert (answer.status, await answer.json()) == (200, {"msg": "success"})
        event = await asyncio.wait_for(inbox.get(), 10)
        token = await _token(http, fs)
        reply = await http.post(
            f"/open-apis/im/v1/messages/{event.event.message.message_id}/reply",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "msg_type": "interactive",
                "content": json.dumps(CARD),
                "reply_in_thread": True,
            },
        )
    data = reply.json()["data"]
    (sent,) = fs.messages
    assert sent.parent_id == sent.root_id == payload["event"]["message"]["message_id"]
    assert sent.chat == "oc_team" and sent.reply_in_thread
    assert data["thread_id"] == sent.thread_id and str(sent.thread_id).startswith("omt_")


# -- builders ---------------------------------------------------------------------------------


def test_message_event_shape() -> None:
    group = fe.message_event("@_user_1 hello", chat_id="oc_1", sender_open_id=USER)
    again = fe.message_event("@_user_1 hello", chat_id="oc_1", sender_open_id=USER)
    p2p = fe.message_event("hello", chat_id="oc_dm", chat_type="p2p", sender_open_id=USER)
    message = group["event"]["message"]
    assert isinstance(message["content"], str)
    assert message["content"] == '{"text":"@_user_1 hello"}'
    assert message["mentions"][0]["key"] == "@_user_1"
    assert message["mentions"][0]["id"]["open_id"] == fe.BOT_OPEN_ID
    assert "root_id" not in message and "thread_id" not in message
    assert message["message_id"] != again["event"]["message"]["message_id"]
    assert group["header"]["event_id"] != again["header"]["event_id"]
    assert "mentions" not in p2p["event"]["message"]
    assert p2p["event"]["message"]["chat_type"] == "p2p"
    assert group["event"]["sender"]["sender_id"] == again["event"]["sender"]["sender_id"]


def test_encrypt_is_what_lark_decrypts() -> None:
    lark = import_lark()
    payload = fe.url_verification("c")
    sealed = fe.encrypt(payload, "k", iv=b"\0" * 16)
    assert sealed == fe.encrypt(json.dumps(payload).encode(), "k", iv=b"\0" * 16)
    assert json.loads(lark.AESCipher("k").decrypt_str(sealed["encrypt"])) == payload
    assert fe.decrypt(fe.encrypt(payload, "k"), "k") == payload
    exact = b"x" * 32  # a whole number of blocks still gets a full block of padding
    assert len(lark.AESCipher("k").decrypt_str(fe.encrypt(exact, "k")["encrypt"])) == 32


def test_sign_headers() -> None:
    body = b'{"encrypt":"abc"}'
    headers = fe.sign_headers(body, "key", timestamp=1_780_000_000, nonce="nonce")
    expected = hashlib.sha256(b"1780000000noncekey" + body).hexdigest()
    assert headers == {
        "X-Lark-Request-Timestamp": "1780000000",
        "X-Lark-Request-Nonce": "nonce",
        "X-Lark-Signature": expected,
    }


# -- the fake's APIs over httpx ---------------------------------------------------------------


async def _token(http: httpx.AsyncClient, fs: FakeFeishu) -> str:
    answer = await http.post(
        "/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": fs.app_id, "app_secret": fs.app_secret},
    )
    return str(answer.json()["tenant_access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _reply(
    http: httpx.AsyncClient, token: str, message_id: str, text: str, **extra: Any
) -> httpx.Response:
    return await http.post(
        f"/open-apis/im/v1/messages/{message_id}/reply",
        headers=_bearer(token),
        json={"msg_type": "text", "content": json.dumps({"text": text}), **extra},
    )


async def _send_card(http: httpx.AsyncClient, token: str, chat: str, card: dict[str, Any]) -> str:
    answer = await http.post(
        "/open-apis/im/v1/messages",
        params={"receive_id_type": "chat_id"},
        headers=_bearer(token),
        json={"receive_id": chat, "msg_type": "interactive", "content": json.dumps(card)},
    )
    return str(answer.json()["data"]["message_id"])


async def test_replies_to_user_messages_and_threads() -> None:
    async with (
        FakeFeishu(chats=[]) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        root = fs.message_event("/paper 1", chat_id="oc_new", sender_open_id=USER)
        root_id = root["event"]["message"]["message_id"]
        assert fs.message(root_id) is not None and fs.user_messages[0].via == "user"
        plain = (await _reply(http, token, root_id, "plain")).json()["data"]
        first = (await _reply(http, token, root_id, "t1", reply_in_thread=True)).json()["data"]
        # Replying to the threaded reply, without asking, stays in the same thread.
        second = (await _reply(http, token, first["message_id"], "t2")).json()["data"]
        third = (await _reply(http, token, root_id, "t3", reply_in_thread=True)).json()["data"]
        # A user message that arrived inside an existing thread: replies join that thread.
        inside = fs.message_event(
            "more", chat_id="oc_new", sender_open_id=USER, root_id="om_r", thread_id="omt_given"
        )
        joined = (await _reply(http, token, inside["event"]["message"]["message_id"], "j")).json()[
            "data"
        ]
    assert "thread_id" not in plain and plain["root_id"] == plain["parent_id"] == root_id
    assert first["thread_id"].startswith("omt_") and first["root_id"] == root_id
    assert second["thread_id"] == third["thread_id"] == first["thread_id"]
    assert second["parent_id"] == first["message_id"] and second["root_id"] == root_id
    assert (joined["thread_id"], joined["root_id"]) == ("omt_given", "om_r")
    assert [m.reply_in_thread for m in fs.messages] == [False, True, False, True, False]
    assert {m.chat for m in fs.messages} == {"oc_new"}  # the event put the bot in the chat


async def test_reply_refusals() -> None:
    async with (
        FakeFeishu() as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        event = fs.message_event("hi", chat_id="oc_gone", sender_open_id=USER)
        message_id = event["event"]["message"]["message_id"]
        unknown = await _reply(http, token, "om_never_seen", "x")
        no_token = await http.post(f"/open-apis/im/v1/messages/{message_id}/reply", json={})
        fs.fail_next(status=500, chat="oc_gone")
        injected = await _reply(http, token, message_id, "x")
        fs.block_chat("oc_gone")
        left = await _reply(http, token, message_id, "x")
    assert (unknown.status_code, unknown.json()["code"]) == (400, 230001)
    assert no_token.json()["code"] == 99991661
    assert (injected.status_code, injected.json()["code"]) == (500, 2200)
    assert left.json()["code"] == 230002
    assert fs.messages == [] and len(fs.rejections) == 4


async def test_chat_info_tells_owner_and_managers() -> None:
    clock = FakeClock()
    async with (
        FakeFeishu(clock=clock, chats=["oc_plain", "oc_left"]) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        fs.set_chat_admins("oc_team", "ou_owner", managers=["ou_m1", "ou_m2"], name="Team")
        fs.set_chat_admins("oc_botowned", None, bot_managers=[fs.app_id])
        token = await _token(http, fs)

        async def get(chat: str, **params: str) -> httpx.Response:
            return await http.get(
                f"/open-apis/im/v1/chats/{chat}", params=params, headers=_bearer(token)
            )

        team = (await get("oc_team", user_id_type="open_id")).json()
        plain = (await get("oc_plain")).json()["data"]
        botowned = (await get("oc_botowned")).json()["data"]
        fs.block_chat("oc_left")
        left, unknown = await get("oc_left"), await get("oc_unknown")
        user_ids = await get("oc_team", user_id_type="user_id")
        fs.fail_next(status=500)  # method-less: message writes only
        untouched = await get("oc_team")
        still_pending = fs.pending_failures
        fs.fail_next(status=500, endpoint="im.chat.get", chat="oc_team")
        injected = await get("oc_team")
        clock.advance(7200)
        expired = await get("oc_team")
    assert team["code"] == 0
    data = team["data"]
    assert (data["owner_id_type"], data["owner_id"]) == ("open_id", "ou_owner")
    assert data["user_manager_id_list"] == ["ou_m1", "ou_m2"]
    assert (data["name"], data["chat_mode"], data["tenant_key"]) == (
        "Team",
        "group",
        fs.tenant_key,
    )
    assert plain["owner_id"] == DEFAULT_OWNER_OPEN_ID and plain["user_manager_id_list"] == []
    assert "owner_id" not in botowned and botowned["bot_manager_id_list"] == [fs.app_id]
    assert (left.status_code, left.json()["code"]) == (400, 232011)
    assert unknown.json()["code"] == 232006
    assert user_ids.json()["code"] == 232015
    assert untouched.json()["code"] == 0 and still_pending == 1
    assert (injected.status_code, injected.json()["code"]) == (500, 2200)
    assert expired.json()["code"] == 99991663


async def test_card_update() -> None:
    clock = FakeClock()
    async with (
        FakeFeishu(clock=clock) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        card_id = await _send_card(http, token, "oc_fake_chat", CARD)
        v1_shared = {"config": {"update_multi": True}, "elements": [{"tag": "hr"}]}
        v1_id = await _send_card(http, token, "oc_fake_chat", v1_shared)
        v1_own_id = await _send_card(http, token, "oc_fake_chat", {"elements": [{"tag": "hr"}]})
        text = await http.post(
            "/open-apis/im/v1/messages",
            params={"receive_id_type": "chat_id"},
            headers=_bearer(token),
            json={"receive_id": "oc_fake_chat", "msg_type": "text", "content": '{"text":"x"}'},
        )
        user = fs.message_event("hi", chat_id="oc_fake_chat", sender_open_id=USER)

        async def patch(message_id: str, card: Any, raw: bool = False) -> httpx.Response:
            return await http.patch(
                f"/open-apis/im/v1/messages/{message_id}",
                headers=_bearer(token),
                json={"content": card if raw else json.dumps(card)},
            )

        updated = {**CARD, "body": {"elements": [{"tag": "markdown", "content": "Saved"}]}}
        ok = await patch(card_id, updated)
        big = {
            **CARD,
            "body": {"elements": [{"tag": "markdown", "content": "x" * CARD_MAX_CONTENT}]},
        }
        codes = {
            "ok v1 shared": (await patch(v1_id, v1_shared)).json()["code"],
            "v1 not shared": (await patch(v1_own_id, v1_shared)).json()["code"],
            "now unshared": (await patch(v1_id, {"elements": [{"tag": "hr"}]})).json()["code"],
            "text message": (await patch(text.json()["data"]["message_id"], CARD)).json()["code"],
            "user message": (await patch(user["event"]["message"]["message_id"], CARD)).json()[
                "code"
            ],
            "unknown": (await patch("om_nope", CARD)).json()["code"],
            "object content": (await patch(card_id, CARD, raw=True)).json()["code"],
            "too big": (await patch(card_id, big)).json()["code"],
            "bad card": (
                await patch(card_id, {**CARD, "body": {"elements": [{"tag": "p"}]}})
            ).json()["code"],
        }
        no_token = await http.patch(f"/open-apis/im/v1/messages/{card_id}", json={})
        fs.fail_next(status=429, retry_after=3)  # method-less: a patch is a message write
        throttled = await patch(card_id, updated)
        clock.advance(14 * 24 * 3600 + 1)
        token = await _token(http, fs)
        too_old = await patch(card_id, updated)
    assert ok.json() == {"code": 0, "msg": "success", "data": {}}
    assert codes == {
        "ok v1 shared": 0,
        "v1 not shared": 230001,
        "now unshared": 230001,
        "text message": 230001,
        "user message": 230001,
        "unknown": 230001,
        "object content": 9499,
        "too big": 230025,
        "bad card": 230099,
    }
    assert (throttled.status_code, throttled.headers["x-ogw-ratelimit-reset"]) == (429, "3")
    assert too_old.json()["code"] == 230031 and no_token.json()["code"] == 99991661
    assert [u.message_id for u in fs.updates] == [card_id, v1_id]
    assert fs.card_of(card_id) == updated and fs.card_of(v1_own_id) == {"elements": [{"tag": "hr"}]}


async def test_card_update_rate_limit_is_per_message() -> None:
    clock = FakeClock()
    async with (
        FakeFeishu(clock=clock, enforce_rate_limits=True) as fs,
        httpx.AsyncClient(base_url=fs.base_url) as http,
    ):
        token = await _token(http, fs)
        first = await _send_card(http, token, "oc_fake_chat", CARD)
        clock.advance(1.0)
        second = await _send_card(http, token, "oc_fake_chat", CARD)
        clock.advance(1.0)

        async def patch(message_id: str) -> int:
            answer = await http.patch(
                f"/open-apis/im/v1/messages/{message_id}",
                headers=_bearer(token),
                json={"content": json.dumps(CARD)},
            )
            return int(answer.json()["code"])

        codes = [await patch(first) for _ in range(6)]
        other = await patch(second)
        clock.advance(1.0)
        later = await patch(first)
    assert codes == [0] * 5 + [230020]
    assert other == 0 and later == 0


# -- the fake's APIs through lark-oapi's own API client ---------------------------------------


def test_lark_client_replies_reads_the_chat_and_updates_the_card() -> None:
    # lark-oapi fetches its tenant token with blocking `requests` even in its async calls,
    # so the fake runs in a thread of its own; a fresh app_id dodges its process-wide
    # token cache.
    lark = import_lark()
    from lark_oapi.api.im.v1 import (
        GetChatRequest,
        PatchMessageRequest,
        PatchMessageRequestBody,
        ReplyMessageRequest,
        ReplyMessageRequestBody,
    )

    with in_thread(FakeFeishu(app_id=f"cli_{uuid.uuid4().hex[:16]}")) as fs:
        fs.set_chat_admins("oc_team", "ou_owner", managers=[USER])
        event = fs.message_event("/paper 2605.29559", chat_id="oc_team", sender_open_id=USER)
        client = (
            lark.Client.builder()
            .app_id(fs.app_id)
            .app_secret(fs.app_secret)
            .domain(fs.base_url)
            .log_level(lark.LogLevel.ERROR)
            .build()
        )
        reply = client.im.v1.message.reply(
            ReplyMessageRequest.builder()
            .message_id(event["event"]["message"]["message_id"])
            .request_body(
                ReplyMessageRequestBody.builder()
                .msg_type("interactive")
                .content(json.dumps(CARD))
                .reply_in_thread(True)
                .uuid("reply-1")
                .build()
            )
            .build()
        )
        chat = client.im.v1.chat.get(
            GetChatRequest.builder().chat_id("oc_team").user_id_type("open_id").build()
        )
        missing = client.im.v1.chat.get(GetChatRequest.builder().chat_id("oc_nope").build())
        patched = client.im.v1.message.patch(
            PatchMessageRequest.builder()
            .message_id(reply.data.message_id)
            .request_body(PatchMessageRequestBody.builder().content(json.dumps(CARD)).build())
            .build()
        )
    assert reply.success(), reply.msg
    assert reply.data.thread_id == fs.messages[0].thread_id
    assert reply.data.root_id == event["event"]["message"]["message_id"]
    assert chat.success() and chat.data.owner_id == "ou_owner"
    assert USER in chat.data.user_manager_id_list and chat.data.owner_id_type == "open_id"
    assert (missing.success(), missing.code) == (False, 232006)
    assert patched.success(), patched.msg
    assert [u.message_id for u in fs.updates] == [reply.data.message_id]


# -- long connection: lark.ws.Client ----------------------------------------------------------


class LarkWs:
    """Runs the real `lark.ws.Client` beside the test's event loop.

    `Client.start()` blocks forever on lark_oapi.ws.client's module-level `loop` (bound at
    import) and has no stop, so: a thread of its own, a fresh loop swapped into that
    module global, the client built in that thread (its constructor starts a cache task
    on the thread's current loop), and `stop()` cancels every task of that loop and
    closes the connection (private `_disconnect`, with reconnecting switched off); the
    thread then closes its loop.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, make: Callable[[], Any]) -> None:
        import_lark()
        import lark_oapi.ws.client as lark_ws_client

        self.loop = asyncio.new_event_loop()
        monkeypatch.setattr(lark_ws_client, "loop", self.loop)  # restored after the test
        self._make = make
        self.client: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.client = self._make()
            self.client.start()
        except asyncio.CancelledError:
            pass  # stop() cancelled the endless wait start() ends in
        except BaseException as exc:
            self.error = exc
        finally:
            # Whatever start() left behind (after a failed start: the cache's cron task)
            # must finish on this loop before it closes, or its __del__ hits a closed loop.
            leftovers = asyncio.all_tasks(self.loop)
            for task in leftovers:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self) -> None:
        self._thread.start()

    async def join(self) -> None:
        await asyncio.wait_for(asyncio.to_thread(self._thread.join, 10), 11)
        assert not self._thread.is_alive()

    async def stop(self) -> None:
        if self._thread.is_alive() and self.client is not None:
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            await self.join()
            assert future.done() and future.exception() is None
        await self.join()

    async def _shutdown(self) -> None:
        self.client._auto_reconnect = False
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        waiting = {t for t in tasks if getattr(t.get_coro(), "__name__", "") == "_select"}
        for task in tasks - waiting:
            task.cancel()  # receive loop, ping loop, handlers, the cache's cron
        await asyncio.gather(*(tasks - waiting), return_exceptions=True)
        await self.client._disconnect()
        for task in waiting:
            task.cancel()  # start() then raises CancelledError in its thread


async def test_long_connection_delivers_events_and_records_acks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lark = import_lark()
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )

    main_loop = asyncio.get_running_loop()
    received: asyncio.Queue[Any] = asyncio.Queue()

    def on_message(data: P2ImMessageReceiveV1) -> None:
        # lark calls this on its own thread: hand over to the app's loop thread-safely.
        main_loop.call_soon_threadsafe(received.put_nowait, data)

    def on_card(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        main_loop.call_soon_threadsafe(received.put_nowait, data)
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "Noted"}})

    async with FakeFeishu() as fs:
        # Long-connection events are neither encrypted nor signed: empty key and token.
        handler = _dispatcher(on_message, on_card, encrypt_key="", token="")
        runner = LarkWs(
            monkeypatch,
            lambda: lark.ws.Client(
                fs.app_id,
                fs.app_secret,
                event_handler=handler,
                domain=fs.base_url,
                log_level=lark.LogLevel.ERROR,
            ),
        )
        runner.start()
        try:
            await fs.ws_wait_connected()
            event = fs.message_event(
                "@_user_1 /paper 2605.29559", chat_id="oc_team", sender_open_id=USER
            )
            message_ack = await fs.ws_ack(await fs.ws_send_event(event, parts=3))
            got = await asyncio.wait_for(received.get(), 10)
            card_event = fs.card_action_event(
                {"action": "save"},
                open_id=USER,
                open_message_id=event["event"]["message"]["message_id"],
            )
            card_ack = await fs.ws_ack(await fs.ws_send_event(card_event))
            clicked = await asyncio.wait_for(received.get(), 10)
        finally:
            await runner.stop()
        assert fs.ws_connections == 1 and fs.ws_pings >= 1
    assert runner.error is None
    assert got.event.message.message_id == event["event"]["message"]["message_id"]
    assert json.loads(got.event.message.content) == {"text": "@_user_1 /paper 2605.29559"}
    assert (message_ack.code, message_ack.data) == (200, None)
    assert message_ack.biz_rt is not None and message_ack.headers["type"] == "event"
    assert clicked.event.action.value == {"action": "save"}
    assert clicked.event.context.open_chat_id == "oc_team"
    assert (card_ack.code, card_ack.data) == (200, {"toast": {"type": "info", "content": "Noted"}})
    assert [a.message_id for a in fs.ws_acks] == fs.ws_sent


async def test_long_connection_handler_failure_is_acked_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lark = import_lark()

    def broken(data: P2ImMessageReceiveV1) -> None:
        raise RuntimeError("bot bug")

    async with FakeFeishu() as fs:
        handler = _dispatcher(broken, encrypt_key="", token="")
        runner = LarkWs(
            monkeypatch,
            lambda: lark.ws.Client(
                fs.app_id, fs.app_secret, event_handler=handler, domain=fs.base_url,
                log_level=lark.LogLevel.CRITICAL,
            ),
        )  # fmt: skip
        runner.start()
        try:
            await fs.ws_wait_connected()
            event = fs.message_event("hi", chat_id="oc_team", sender_open_id=USER)
            ack = await fs.ws_ack(await fs.ws_send_event(event))
        finally:
            await runner.stop()
    assert ack.code == 500


async def test_long_connection_wrong_secret_fails_start(monkeypatch: pytest.MonkeyPatch) -> None:
    lark = import_lark()
    from lark_oapi.ws.exception import ClientException

    async with FakeFeishu() as fs:
        runner = LarkWs(
            monkeypatch,
            lambda: lark.ws.Client(
                fs.app_id,
                "wrong-secret",
                event_handler=_dispatcher(_never),
                domain=fs.base_url,
                log_level=lark.LogLevel.CRITICAL,
            ),
        )
        runner.start()
        await runner.join()  # a client error is final: start() raises, no reconnecting
    assert isinstance(runner.error, ClientException) and runner.error.code == 10003
    assert fs.ws_connections == 0 and fs.rejections[-1].method == "ws.endpoint"
