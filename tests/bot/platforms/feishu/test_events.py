"""The native Feishu receive path against lark-oapi itself: the event checks and parsing
(`bot.platforms.feishu.events`), the ``pbbp2.Frame`` codec and the long-connection client
(`bot.platforms.feishu.longconn`).

lark-oapi is a dev dependency kept for these cross-checks; it is imported inside the tests
(its import takes ~3 s). The long-connection client talks to the fake open platform
(`tests.fakes.feishu_server.FakeFeishu`, itself checked against lark's `ws.Client`); its
waits are injected (`Sleeper`), so nothing waits on a wall clock: every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from bot.core.reconnect import Backoff
from bot.platforms.feishu import events
from bot.platforms.feishu.longconn import (
    CONTROL,
    DATA,
    ENDPOINT_PATH,
    Frame,
    LongConnection,
    Refused,
)
from digest.errors import ConfigError
from tests.fakes import feishu_events as fe
from tests.fakes.feishu_server import FakeFeishu, import_lark
from tests.strategies import examples
from tests.waiting import eventually

WAIT = 10.0  # seconds: the bound on every wait
EK = fe.DEFAULT_ENCRYPT_KEY
VT = fe.DEFAULT_VERIFICATION_TOKEN
USER = "ou_fake_user_alice"
OTHER_EVENT = "im.chat.member.bot.added_v1"


# -- HTTP mode: the same requests through lark-oapi's EventDispatcherHandler ----------------

Config = tuple[str | None, str | None]  # (encrypt key, verification token)
KEY_AND_TOKEN: Config = (EK, VT)
TOKEN_ONLY: Config = (None, VT)


def _message(**overrides: Any) -> dict[str, Any]:
    return fe.message_event(
        "@_user_1 /paper 2605.29559",
        chat_id="oc_team",
        sender_open_id=USER,
        root_id="om_root",
        parent_id="om_parent",
        thread_id="omt_1",
        mentions=[("@_user_2", "ou_bob", "Bob")],
        **overrides,
    )


def _card() -> dict[str, Any]:
    return fe.card_action_event(
        {"action": "fb", "value": "up:2605.29559"},
        open_id=USER,
        open_message_id="om_card",
        open_chat_id="oc_team",
    )


def _other() -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {"event_id": "ev-other", "event_type": OTHER_EVENT, "token": VT},
        "event": {"chat_id": "oc_team"},
    }


def _v1(token: str = VT) -> dict[str, Any]:
    return {
        "uuid": "uuid-1",
        "token": token,
        "ts": "1780000000.1",
        "type": "event_callback",
        "event": {"type": "message", "open_chat_id": "oc_team"},
    }


def _signed(body: bytes, key: str = EK) -> tuple[bytes, dict[str, str]]:
    return body, fe.sign_headers(body, key, timestamp=1_780_000_000, nonce="n1")


def _sealed(plain: bytes, key: str = EK) -> tuple[bytes, dict[str, str]]:
    return _signed(json.dumps(fe.encrypt(plain, key)).encode())


def _with_headers(*, only: bool = False, **names: str) -> tuple[bytes, dict[str, str]]:
    """A sealed, signed message with headers changed (`only`: just these)."""
    body, headers = fe.event_request(_message())
    changed = {k.replace("_", "-"): v for k, v in names.items()}
    return body, {"Content-Type": "application/json", **changed} if only else {**headers, **changed}


def _without_header_token() -> dict[str, Any]:
    payload = _message()
    del payload["header"]["token"]
    return payload


REQUESTS: dict[str, tuple[Config, Callable[[], tuple[bytes, dict[str, str]]]]] = {
    # Encrypt Key and Verification Token set (the receiver's "http" tests).
    "message, sealed and signed": (KEY_AND_TOKEN, lambda: fe.event_request(_message())),
    "card click, sealed and signed": (KEY_AND_TOKEN, lambda: fe.event_request(_card())),
    "another event type": (KEY_AND_TOKEN, lambda: fe.event_request(_other())),
    "URL check, sealed": (KEY_AND_TOKEN, lambda: fe.event_request(fe.url_verification("c1"))),
    "URL check, plain and unsigned": (
        KEY_AND_TOKEN,
        lambda: fe.event_request(fe.url_verification("c2"), encrypt_key=None),
    ),
    "URL check, wrong token": (
        KEY_AND_TOKEN,
        lambda: fe.event_request(fe.url_verification("c3", "forged")),
    ),
    "plain event, signed": (KEY_AND_TOKEN, lambda: _signed(json.dumps(_message()).encode())),
    "plain event, unsigned": (
        KEY_AND_TOKEN,
        lambda: fe.event_request(_message(), encrypt_key=None),
    ),
    "wrong signature": (KEY_AND_TOKEN, lambda: _with_headers(X_Lark_Signature="0" * 64)),
    "no signature headers": (KEY_AND_TOKEN, lambda: _with_headers(only=True)),
    "wrong token": (KEY_AND_TOKEN, lambda: fe.event_request(_message(token="forged"))),
    "sealed and signed with another key": (
        KEY_AND_TOKEN,
        lambda: fe.event_request(_message(), encrypt_key="another-key"),
    ),
    "sealed with another key, signed with ours": (
        KEY_AND_TOKEN,
        lambda: _signed(json.dumps(fe.encrypt(_message(), "another-key")).encode()),
    ),
    "not a ciphertext": (
        KEY_AND_TOKEN,
        lambda: _signed(json.dumps({"encrypt": base64.b64encode(b"x" * 40).decode()}).encode()),
    ),
    "sealed, not UTF-8": (KEY_AND_TOKEN, lambda: _sealed(b"\xff\xfe{}")),
    "sealed, not JSON": (KEY_AND_TOKEN, lambda: _sealed(b"hello")),
    "sealed JSON array": (KEY_AND_TOKEN, lambda: _sealed(b"[1, 2]")),
    "schema 2.0 without a header": (
        KEY_AND_TOKEN,
        lambda: _sealed(json.dumps({"schema": "2.0", "event": {}}).encode()),
    ),
    "not JSON": (KEY_AND_TOKEN, lambda: _signed(b"<xml/>")),
    "a JSON array": (KEY_AND_TOKEN, lambda: _signed(b"[]")),
    # Only a Verification Token set (the receiver's "http-plain" tests).
    "plain message": (TOKEN_ONLY, lambda: fe.event_request(_message(), encrypt_key=None)),
    "plain card click": (TOKEN_ONLY, lambda: fe.event_request(_card(), encrypt_key=None)),
    "plain URL check": (
        TOKEN_ONLY,
        lambda: fe.event_request(fe.url_verification("c4"), encrypt_key=None),
    ),
    "plain URL check, wrong token": (
        TOKEN_ONLY,
        lambda: fe.event_request(fe.url_verification("c5", "forged"), encrypt_key=None),
    ),
    "plain, wrong token": (
        TOKEN_ONLY,
        lambda: fe.event_request(_message(token="forged"), encrypt_key=None),
    ),
    "plain, no token": (
        TOKEN_ONLY,
        lambda: fe.event_request(_without_header_token(), encrypt_key=None),
    ),
    "schema 1.0 event": (TOKEN_ONLY, lambda: fe.event_request(_v1(), encrypt_key=None)),
    "schema 1.0, wrong token": (
        TOKEN_ONLY,
        lambda: fe.event_request(_v1("forged"), encrypt_key=None),
    ),
    "sealed, but no key here": (TOKEN_ONLY, lambda: fe.event_request(_message())),
}

# What lark accepts of them (the rest it refuses): so that neither side passes by refusing all.
ACCEPTED = {
    "message, sealed and signed",
    "card click, sealed and signed",
    "another event type",
    "URL check, sealed",
    "URL check, plain and unsigned",
    "plain event, signed",
    "plain message",
    "plain card click",
    "plain URL check",
    "schema 1.0 event",
}


def _lark_dispatcher(config: Config, got: list[Any]) -> Any:
    import_lark()
    import lark_oapi as lark
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )

    def on_card(data: Any) -> Any:
        got.append(data)
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "ok"}})

    key, token = config
    builder = lark.EventDispatcherHandler.builder(key or "", token or "")
    builder.register_p2_im_message_receive_v1(got.append)
    builder.register_p2_card_action_trigger(on_card)
    # Every type the requests use is registered: lark then refuses only what fails its checks.
    builder.register_p2_customized_event(OTHER_EVENT, got.append)
    builder.register_p1_customized_event("message", got.append)
    return builder.build()


def _lark_do(dispatcher: Any, body: bytes, headers: CIMultiDictProxy[str]) -> tuple[int, Any]:
    import_lark()
    import lark_oapi as lark

    request = lark.RawRequest()
    request.uri = "/feishu/events"
    request.body = body
    request.headers = headers  # as the receiver gets them: aiohttp's, case-insensitive
    response = dispatcher.do(request)
    return int(response.status_code), json.loads(response.content)


def _ours(config: Config, body: bytes, headers: CIMultiDictProxy[str]) -> events.Envelope | int:
    key, token = config
    try:
        return events.open_request(body, headers, encrypt_key=key, token=token)
    except events.Refused as refused:
        return refused.status


@pytest.mark.parametrize("case", list(REQUESTS))
def test_requests_are_accepted_and_refused_as_lark_does(case: str) -> None:
    config, make = REQUESTS[case]
    body, plain_headers = make()
    headers = CIMultiDictProxy(CIMultiDict(plain_headers))
    got: list[Any] = []
    status, answer = _lark_do(_lark_dispatcher(config, got), body, headers)
    ours = _ours(config, body, headers)
    assert status == (200 if case in ACCEPTED else 500), answer
    if status == 500:  # lark refuses everything with a 500; we say which kind of refusal
        assert ours in (400, 401, 403), f"{case}: lark refused ({answer}), we accepted"
        return
    assert isinstance(ours, events.Envelope), f"{case}: lark accepted, we refused ({ours})"
    if ours.is_challenge:
        assert answer == {"challenge": ours.challenge} and got == []
        return
    (event,) = got
    if ours.schema == "1.0":
        assert ours.type == event.event["type"] == "message"
        return
    assert (ours.type, ours.event_id) == (event.header.event_type, event.header.event_id)
    if ours.type == events.MESSAGE_EVENT:
        _same_message(events.message_of(ours.payload), event)
    elif ours.type == events.CARD_EVENT:
        _same_click(events.card_action_of(ours.payload), event)
        assert answer == {"toast": {"type": "info", "content": "ok"}}


def _same_message(ours: events.ReceivedMessage, lark: Any) -> None:
    message, sender = lark.event.message, lark.event.sender
    assert ours.event_id == lark.header.event_id
    assert (ours.message_id, ours.chat_id, ours.chat_type, ours.message_type) == (
        message.message_id,
        message.chat_id,
        message.chat_type,
        message.message_type,
    )
    assert ours.content == message.content
    assert (ours.parent_id, ours.root_id, ours.thread_id) == (
        message.parent_id,
        message.root_id,
        message.thread_id,
    )
    assert (ours.sender_open_id, ours.sender_type) == (
        sender.sender_id.open_id,
        sender.sender_type,
    )
    assert [(m.key, m.open_id, m.name) for m in ours.mentions] == [
        (m.key, m.id.open_id, m.name) for m in message.mentions
    ]


def _same_click(ours: events.CardAction, lark: Any) -> None:
    event = lark.event
    assert ours.event_id == lark.header.event_id
    assert (ours.value, ours.tag) == (event.action.value, event.action.tag)
    assert ours.open_id == event.operator.open_id
    assert (ours.open_chat_id, ours.open_message_id) == (
        event.context.open_chat_id,
        event.context.open_message_id,
    )
    assert ours.token == event.token


def test_where_we_deliberately_differ_from_lark() -> None:
    # 1. Only an Encrypt Key set: lark refuses every genuine event, because Feishu sends
    #    the verification token anyway and lark wants it to equal the empty one it has.
    #    Decryption and the signature prove the request: we take it.
    body, plain = fe.event_request(_message())
    headers = CIMultiDictProxy(CIMultiDict(plain))
    only_key: Config = (EK, None)
    status, answer = _lark_do(_lark_dispatcher(only_key, []), body, headers)
    assert (status, answer) == (500, {"msg": "invalid verification_token"})
    assert isinstance(_ours(only_key, body, headers), events.Envelope)
    # 2. Key and token set, a signed event without its token: lark takes the signature
    #    alone; we want the token too (Feishu always sends it).
    body, plain = fe.event_request(_without_header_token())
    headers = CIMultiDictProxy(CIMultiDict(plain))
    status, _ = _lark_do(_lark_dispatcher(KEY_AND_TOKEN, []), body, headers)
    assert status == 200
    assert _ours(KEY_AND_TOKEN, body, headers) == 403


def test_the_long_connections_plaintext_events_are_read_as_lark_reads_them() -> None:
    message, card = _message(), _card()
    parsed = events.parse(json.dumps(message).encode())
    assert (parsed.schema, parsed.type) == ("2.0", events.MESSAGE_EVENT)
    assert parsed.event_id == message["header"]["event_id"] and parsed.payload == message
    assert events.parse(json.dumps(card).encode()).type == events.CARD_EVENT
    for bad in (b"not json", b"[]", b'{"schema": "2.0"}'):
        with pytest.raises(ValueError):
            events.parse(bad)


@hypothesis_settings(max_examples=examples(150), deadline=None)
@given(
    plain=st.binary(max_size=80),
    key=st.text(min_size=1, max_size=20),
    garbage=st.binary(max_size=70),
)
def test_decryption_is_lark_aes_cipher(plain: bytes, key: str, garbage: bytes) -> None:
    import_lark()
    from lark_oapi.core.utils import AESCipher

    sealed = fe.encrypt(plain, key)["encrypt"]
    assert events.decrypt(sealed, key) == plain == AESCipher(key).decrypt(base64.b64decode(sealed))
    # Anything else: we refuse exactly what lark refuses, and read the rest alike.
    text = base64.b64encode(garbage).decode()
    try:
        theirs: bytes | None = AESCipher(key).decrypt(base64.b64decode(text))
    except ValueError:
        theirs = None
    try:
        ours: bytes | None = events.decrypt(text, key)
    except ValueError:
        ours = None
    assert ours == theirs


def test_decryption_and_signature_examples() -> None:
    payload = fe.url_verification("c")
    sealed = fe.encrypt(payload, "k", iv=b"\0" * 16)["encrypt"]
    assert json.loads(events.decrypt(sealed, "k")) == payload
    with pytest.raises(ValueError):
        events.decrypt(sealed, "other")  # wrong key: the padding does not check out
    with pytest.raises(ValueError):
        events.decrypt("%%%", "k")
    body = b'{"encrypt":"abc"}'
    expected = fe.sign_headers(body, "key", timestamp=1, nonce="n")["X-Lark-Signature"]
    assert events.signature("1", "n", "key", body) == expected


# -- pbbp2.Frame: byte for byte what lark's generated pbbp2_pb2 writes and reads -------------

_text = st.text(max_size=12)
_frames = st.builds(
    Frame,
    seq_id=st.integers(0, 2**64 - 1),
    log_id=st.integers(0, 2**64 - 1),
    service=st.integers(-(2**31), 2**31 - 1),
    method=st.integers(-(2**31), 2**31 - 1),
    headers=st.lists(st.tuples(_text, _text), max_size=6).map(tuple),
    payload_encoding=st.none() | _text,
    payload_type=st.none() | _text,
    payload=st.none() | st.binary(max_size=64),
    log_id_new=st.none() | _text,
)


def _lark_frame(frame: Frame) -> Any:
    import_lark()
    from lark_oapi.ws.pb.pbbp2_pb2 import Frame as LarkFrame

    theirs = LarkFrame()
    theirs.SeqID, theirs.LogID = frame.seq_id, frame.log_id
    theirs.service, theirs.method = frame.service, frame.method
    for key, value in frame.headers:
        header = theirs.headers.add()
        header.key, header.value = key, value
    optional: dict[str, str | bytes | None] = {
        "payload_encoding": frame.payload_encoding,
        "payload_type": frame.payload_type,
        "payload": frame.payload,
        "LogIDNew": frame.log_id_new,
    }
    for name, field_value in optional.items():
        if field_value is not None:  # proto2: set, even to "", is present
            setattr(theirs, name, field_value)
    return theirs


@hypothesis_settings(max_examples=examples(200), deadline=None)
@given(frame=_frames)
def test_frames_are_byte_compatible_with_lark(frame: Frame) -> None:
    import_lark()
    from lark_oapi.ws.pb.pbbp2_pb2 import Frame as LarkFrame

    theirs = _lark_frame(frame)
    wire = frame.encode()
    assert wire == theirs.SerializeToString()
    assert Frame.decode(wire) == frame
    parsed = LarkFrame()
    parsed.ParseFromString(wire)
    assert parsed == theirs


def test_unknown_fields_survive_as_lark_keeps_them() -> None:
    import_lark()
    from lark_oapi.ws.pb.pbbp2_pb2 import Frame as LarkFrame

    known = Frame(seq_id=1, log_id=2, service=3, method=DATA, payload=b"{}").encode()
    # Field 15 (varint 7) and field 12 (bytes) in the middle: a newer server's additions.
    wire = known[:8] + b"\x78\x07" + known[8:] + b"\x62\x02hi"
    theirs = LarkFrame()
    theirs.ParseFromString(wire)
    ours = Frame.decode(wire)
    assert ours.unknown == b"\x78\x07\x62\x02hi"
    assert ours.encode() == theirs.SerializeToString()


def test_a_ping_is_larks_ping_and_bad_bytes_are_refused() -> None:
    import_lark()
    import lark_oapi.ws.client as lark_ws

    ping = Frame(service=123456, method=CONTROL, headers=(("type", "ping"),))
    assert ping.encode() == lark_ws._new_ping_frame(123456).SerializeToString()
    for bad in (b"\x08", b"\x08\x80", b"\x2a\x05ab", b"\x0b", b"\x00\x01"):
        with pytest.raises(ValueError):
            Frame.decode(bad)
    with pytest.raises(ValueError):
        Frame(seq_id=-1).encode()
    with pytest.raises(ValueError):
        Frame(service=2**31).encode()


# -- the long connection ---------------------------------------------------------------------


class Sleeper:
    """The injected sleep: a wait of one of the `instant` lengths returns at once, any
    other lasts until the test `wake`s it (or the task is cancelled)."""

    def __init__(self, instant: Iterable[float] = ()) -> None:
        self.instant = set(instant)
        self.asked: list[float] = []
        self._pending: list[tuple[float, asyncio.Future[None]]] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        if seconds in self.instant:
            await asyncio.sleep(0)
            return
        entry = (seconds, asyncio.get_running_loop().create_future())
        self._pending.append(entry)
        try:
            await entry[1]
        finally:
            self._pending.remove(entry)

    def waiting(self, seconds: float) -> bool:
        return any(s == seconds and not f.done() for s, f in self._pending)

    def wake(self, seconds: float) -> None:
        for s, future in self._pending:
            if s == seconds and not future.done():
                future.set_result(None)


class Inbox:
    """The handler: records each payload; a click's answer is a toast."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.fail = False

    async def __call__(self, raw: bytes) -> Any:
        payload = json.loads(raw)
        self.payloads.append(payload)
        if self.fail:
            raise RuntimeError("bot bug")
        if payload["header"]["event_type"] == events.CARD_EVENT:
            return events.toast("Noted 好")
        return None


@contextlib.asynccontextmanager
async def connected(
    fs: FakeFeishu, handler: Callable[[bytes], Awaitable[Any]] | None = None, **kwargs: Any
) -> AsyncIterator[LongConnection]:
    conn = LongConnection(
        fs.app_id,
        fs.app_secret,
        handler or Inbox(),
        base_url=fs.base_url,
        timeout=WAIT,
        **kwargs,
    )
    await asyncio.wait_for(conn.start(), WAIT)
    try:
        yield conn
    finally:
        await asyncio.wait_for(conn.stop(), WAIT)


CONFIG = {"ReconnectCount": -1, "ReconnectInterval": 3, "ReconnectNonce": 4, "PingInterval": 120}


async def test_a_split_event_is_put_together_and_answered_as_lark_answers() -> None:
    inbox = Inbox()
    async with FakeFeishu() as fs, connected(fs, inbox, sleep=Sleeper()) as conn:
        assert conn.connected and fs.ws_connections == 1
        message = fs.message_event("@_user_1 /help", chat_id="oc_team", sender_open_id=USER)
        message_ack = await fs.ws_ack(await fs.ws_send_event(message, parts=3), WAIT)
        click = fs.card_action_event(
            {"action": "fb"},
            open_id=USER,
            open_message_id=message["event"]["message"]["message_id"],
        )
        click_ack = await fs.ws_ack(await fs.ws_send_event(click, parts=2), WAIT)
        inbox.fail = True
        failed_ack = await fs.ws_ack(await fs.ws_send_event(message), WAIT)
    assert inbox.payloads == [message, click, message]
    assert (message_ack.code, message_ack.data) == (200, None)
    # The answer is the frame that completed the payload (lark's choice).
    assert message_ack.headers["type"] == "event" and message_ack.headers["seq"] == "2"
    assert message_ack.biz_rt is not None and int(message_ack.biz_rt) >= 0
    assert (click_ack.code, click_ack.data) == (200, events.toast("Noted 好"))
    assert (failed_ack.code, failed_ack.data, failed_ack.biz_rt) == (500, None, None)
    assert [a.message_id for a in fs.ws_acks] == fs.ws_sent


@pytest.mark.parametrize("fails", [False, True])
async def test_the_answer_frame_is_the_one_lark_writes(
    fails: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_lark()
    import lark_oapi as lark
    import lark_oapi.ws.client as lark_ws
    from lark_oapi.event.callback.model.p2_card_action_trigger import (
        P2CardActionTriggerResponse,
    )
    from lark_oapi.ws.pb.pbbp2_pb2 import Frame as LarkFrame

    def on_card(data: Any) -> Any:
        if fails:
            raise RuntimeError("bot bug")
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "Noted 好"}})

    inbox = Inbox()
    inbox.fail = fails
    incoming = Frame(
        seq_id=0,
        log_id=77,
        service=100001,
        method=DATA,
        headers=(
            ("type", "event"),
            ("message_id", "ws_1"),
            ("sum", "1"),
            ("seq", "0"),
            ("trace_id", "trace_1"),
        ),
        payload=json.dumps(_card()).encode(),
    )
    # lark's own handling of the frame, on a stand-in for its client's state.
    builder = lark.EventDispatcherHandler.builder("", "")
    builder.register_p2_card_action_trigger(on_card)
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    client = types.SimpleNamespace(
        _event_handler=builder.build(), _write_message=write, _fmt_log=lambda f, *a: f
    )
    await lark_ws.Client._handle_data_frame(client, _lark_frame(incoming))
    # Ours: the same frame through the client's frame handling.
    conn = LongConnection("cli_x", "secret", inbox)
    monkeypatch.setattr(conn, "_send", write)
    conn._on_frame(incoming.encode())
    await eventually(lambda: len(written) == 2, "our answer")
    theirs, ours = (LarkFrame.FromString(data) for data in written)
    for frame in (theirs, ours):  # the handler's run time differs, not its place
        for header in frame.headers:
            if header.key == "biz_rt":
                header.value = "0"
    assert ours.SerializeToString() == theirs.SerializeToString()
    assert json.loads(ours.payload)["code"] == (500 if fails else 200)


async def test_pings_go_out_and_a_pong_may_change_the_config() -> None:
    sleeper = Sleeper()
    async with FakeFeishu() as fs:
        fs.ws_client_config = dict(CONFIG)
        async with connected(fs, sleep=sleeper) as conn:
            await eventually(lambda: fs.ws_pings == 1 and sleeper.waiting(120), "a first ping")
            assert (conn.config.reconnect_interval, conn.config.reconnect_nonce) == (3, 4)
            fs.ws_client_config = {**CONFIG, "PingInterval": 7}
            sleeper.wake(120)
            # Its pong carries the new interval, for the wait after the next ping (lark
            # sleeps with the interval it has when it has pinged).
            await eventually(lambda: conn.config.ping_interval == 7, "the new config")
            await eventually(lambda: sleeper.waiting(120), "the wait after the 2nd ping")
            sleeper.wake(120)
            await eventually(lambda: fs.ws_pings == 3 and sleeper.waiting(7), "the 3rd ping")
            assert fs.ws_connections == 1


# Backoff(base=2, cap=8) with random() = 0.5: 1.5, 3.0, 6.0, 6.0, … seconds.
BACKOFF = Backoff(base=2.0, cap=8.0)


async def test_a_lost_connection_is_made_again_with_backoff_and_logged_once_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    inbox = Inbox()
    sleeper = Sleeper(instant={1.5, 3.0})
    async with FakeFeishu() as fs:
        fs.ws_client_config = dict(CONFIG)
        async with connected(fs, inbox, sleep=sleeper, random=lambda: 0.5, backoff=BACKOFF) as conn:
            fs.fail_next(status=500, endpoint="ws.endpoint")  # the first try fails
            await fs.ws_disconnect()
            await eventually(lambda: fs.ws_connections == 2 and conn.connected, "reconnected")
            await fs.ws_wait_connected(WAIT)
            event = fs.message_event("/help", chat_id="oc_dm", sender_open_id=USER)
            ack = await fs.ws_ack(await fs.ws_send_event(event), WAIT)
    assert ack.code == 200 and inbox.payloads == [event]
    assert conn.connections == 2
    # Exponential waits before each try (not lark's fixed interval); the pings' waits.
    assert [s for s in sleeper.asked if s != 120] == [1.5, 3.0]
    assert [r.method for r in fs.rejections] == ["ws.endpoint"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("long connection down" in m for m in messages) == 1
    assert sum("long connection up again after 2 failed tries" in m for m in messages) == 1


async def test_reconnecting_goes_on_past_lark_s_count_and_ends_only_at_a_refusal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleeper = Sleeper(instant={1.5, 3.0, 6.0})
    async with FakeFeishu() as fs:
        # Feishu's config would give up after 2 tries: a bot must come back by itself.
        fs.ws_client_config = {**CONFIG, "ReconnectCount": 2}
        async with connected(fs, sleep=sleeper, random=lambda: 0.5, backoff=BACKOFF) as conn:
            fs.fail_next(status=503, count=3, endpoint="ws.endpoint")
            await fs.ws_disconnect()
            await eventually(lambda: conn.connected and fs.ws_connections == 2, "reconnected")
        assert "giving up" not in caplog.text
        fs.ws_client_config = dict(CONFIG)
        async with connected(fs, sleep=sleeper, random=lambda: 0.5, backoff=BACKOFF):
            fs.app_secret = "rotated"  # the app's secret was reset meanwhile
            await fs.ws_disconnect()
            await eventually(lambda: "giving up" in caplog.text, "a final refusal")
        assert fs.ws_connections == 3
    assert "fake-app-secret" not in caplog.text


async def test_stop_is_prompt_connected_reconnecting_or_answering() -> None:
    release = asyncio.Event()

    async def slow(raw: bytes) -> None:
        await release.wait()

    loop = asyncio.get_running_loop()
    async with FakeFeishu() as fs:
        # Connected, with an answer in progress: closed, the answer cancelled.
        conn = LongConnection(fs.app_id, fs.app_secret, slow, base_url=fs.base_url)
        await conn.start()
        await fs.ws_send_event(fs.message_event("hi", chat_id="oc_dm", sender_open_id=USER))
        await eventually(lambda: bool(conn._tasks), "an answer in progress")
        started = loop.time()
        await asyncio.wait_for(conn.stop(), WAIT)
        took = loop.time() - started
        assert not conn.connected and not conn._tasks
        await eventually(lambda: not fs._ws_conns, "the fake sees the close")
        # Waiting to reconnect (lark's real waits: here 30 s, then 120 s).
        conn = LongConnection(
            fs.app_id, fs.app_secret, slow, base_url=fs.base_url, random=lambda: 1.0
        )
        await conn.start()
        await fs.ws_disconnect()
        await eventually(lambda: not conn.connected, "the loss noticed")
        started = loop.time()
        await asyncio.wait_for(conn.stop(), WAIT)
        took_reconnecting = loop.time() - started
        await conn.stop()  # again: nothing to do
    assert took < 1.0 and took_reconnecting < 1.0
    assert fs.ws_connections == 2 and fs.ws_acks == []
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("feishu")]


async def test_wrong_credentials_fail_start_without_the_secret() -> None:
    async with FakeFeishu() as fs:
        conn = LongConnection(fs.app_id, "wrong-secret", Inbox(), base_url=fs.base_url)
        with pytest.raises(Refused) as refused:
            await asyncio.wait_for(conn.start(), WAIT)
        await conn.stop()
        missing = LongConnection("", "", Inbox(), base_url=fs.base_url)
        with pytest.raises(ConfigError, match="required"):
            await missing.start()
    assert isinstance(refused.value, ConfigError) and refused.value.code == 10003
    assert "wrong-secret" not in str(refused.value) and "wrong-secret" not in repr(conn)
    assert fs.ws_connections == 0 and fs.rejections[-1].method == "ws.endpoint"


async def test_the_endpoint_request_is_the_one_lark_sends() -> None:
    import_lark()
    import lark_oapi.ws.client as lark_ws
    from lark_oapi.core.utils.user_agent import build_user_agent
    from lark_oapi.ws.exception import ClientException

    seen: list[tuple[CIMultiDictProxy[str], Any]] = []

    async def endpoint(request: web.Request) -> web.Response:
        seen.append((request.headers, await request.json()))
        return web.json_response({"code": 10003, "msg": "invalid app_id or app_secret"})

    app = web.Application()
    app.router.add_post(ENDPOINT_PATH, endpoint)
    async with TestServer(app) as server:
        base = str(server.make_url("")).rstrip("/")
        conn = LongConnection("cli_x", "s3cret", Inbox(), base_url=base + "/")
        with pytest.raises(Refused):
            await conn.start()
        # lark's own request (blocking `requests`), from its client's endpoint call.
        client = types.SimpleNamespace(
            _app_id="cli_x",
            _app_secret="s3cret",
            _client_assertion_provider=None,
            _headers={},
            _user_agent=build_user_agent(),
            _domain=base,
        )
        with pytest.raises(ClientException):
            await asyncio.to_thread(lark_ws.Client._get_conn_url, client)
    (ours, our_body), (theirs, their_body) = seen
    assert our_body == their_body == {"AppID": "cli_x", "AppSecret": "s3cret"}
    for name in ("locale", "Content-Type"):
        assert ours[name] == theirs[name], name
    assert ours["User-Agent"].startswith(theirs["User-Agent"].split("/")[0])


@pytest.mark.parametrize(
    ("status", "headers", "final"),
    [
        (403, {"handshake-status": "403", "handshake-msg": "invalid ticket"}, True),
        (
            514,
            {
                "handshake-status": "514",
                "handshake-msg": "too many connections",
                "handshake-autherrcode": "1000040350",
            },
            True,
        ),
        (514, {"handshake-status": "514", "handshake-msg": "auth failed"}, False),
        (502, {}, False),
    ],
)
async def test_a_refused_handshake_is_final_or_tried_again_as_lark_decides(
    status: int, headers: dict[str, str], final: bool
) -> None:
    async def endpoint(request: web.Request) -> web.Response:
        url = f"ws://{request.host}/ws/v2?device_id=d1&service_id=7&ticket=t1"
        return web.json_response({"code": 0, "msg": "ok", "data": {"URL": url}})

    async def handshake(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers)

    app = web.Application()
    app.router.add_post(ENDPOINT_PATH, endpoint)
    app.router.add_get("/ws/v2", handshake)
    async with TestServer(app) as server:
        conn = LongConnection(
            "cli_x", "s3cret", Inbox(), base_url=str(server.make_url("")), sleep=Sleeper()
        )
        if final:
            with pytest.raises(Refused, match=str(status)):
                await conn.start()
        else:
            await conn.start()  # logged; tried again in the background
            assert not conn.connected
        await asyncio.wait_for(conn.stop(), WAIT)
