"""What Feishu/Lark POSTs to an app's event (request) URL: payload builders, encryption, signing.

Shapes are schema 2.0 as Feishu sends them (and as lark-oapi 1.7.5 parses them):

- `message_event`: ``im.message.receive_v1``. ``header`` = {event_id, event_type,
  create_time (ms, string), token (the verification token), app_id, tenant_key};
  ``event.sender`` = {sender_id {open_id, union_id}, sender_type "user", tenant_key};
  ``event.message`` = {message_id, root_id?, parent_id?, thread_id?, create_time,
  update_time, chat_id, chat_type "p2p"|"group", message_type, content, mentions?}.
  ``content`` is a JSON *string* (``'{"text":"@_user_1 /paper 2605.29559"}'``); a mention
  is a ``@_user_N`` placeholder in the text and an entry in ``mentions`` with that key.
  (``sender_id.user_id`` appears only with the contact permission; the builders leave it
  out.)
- `card_action_event`: ``card.action.trigger`` (the new card callback): ``event`` =
  {operator {open_id, union_id, tenant_key}, token (a ``c-`` card-update token, valid 30
  min for a delayed update), action {value, tag}, host "im_message", context
  {open_message_id, open_chat_id}}; ``header.create_time`` is in microseconds there.
- `url_verification`: ``{"challenge", "token", "type": "url_verification"}`` (Feishu sends
  it when the URL is saved; it is encrypted too when an encrypt key is set).
- `encrypt`: with an Encrypt Key set, the body is ``{"encrypt": base64(iv +
  AES-256-CBC(key=SHA256(encrypt_key), iv, PKCS7(json)))}`` (16-byte random iv).
- `sign_headers`: with an Encrypt Key set, every event request carries
  ``X-Lark-Request-Timestamp`` (seconds), ``X-Lark-Request-Nonce`` and ``X-Lark-Signature``
  = hex(SHA256(timestamp + nonce + encrypt_key + raw body bytes)).

`event_request` puts the three together: the exact body bytes and headers Feishu would POST.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from Crypto.Cipher import AES

__all__ = [
    "BOT_NAME",
    "BOT_OPEN_ID",
    "DEFAULT_APP_ID",
    "DEFAULT_ENCRYPT_KEY",
    "DEFAULT_TENANT_KEY",
    "DEFAULT_VERIFICATION_TOKEN",
    "Mention",
    "card_action_event",
    "decrypt",
    "encrypt",
    "event_request",
    "message_event",
    "sign_headers",
    "url_verification",
]

DEFAULT_APP_ID = "cli_fake_paperdrop"  # FakeFeishu's default app_id
DEFAULT_TENANT_KEY = "fake_tenant_key"
DEFAULT_VERIFICATION_TOKEN = "fake-verification-token"
DEFAULT_ENCRYPT_KEY = "fake-encrypt-key"
BOT_OPEN_ID = "ou_fake_paperdrop_bot"
BOT_NAME = "PaperDrop"
BOT_MENTION_KEY = "@_user_1"

ChatType = Literal["p2p", "group"]
Mention = tuple[str, str, str]  # (key "@_user_N", open_id, name)


def _fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def _union_id(open_id: str) -> str:
    # Deterministic, so one user keeps one union_id across events.
    return "on_" + hashlib.sha256(open_id.encode()).hexdigest()[:32]


def _user_id(open_id: str) -> dict[str, str]:
    return {"open_id": open_id, "union_id": _union_id(open_id)}


def _header(
    event_type: str,
    *,
    event_id: str | None,
    token: str,
    app_id: str,
    tenant_key: str,
    create_time: str,
) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "event_type": event_type,
        "create_time": create_time,
        "token": token,
        "app_id": app_id,
        "tenant_key": tenant_key,
    }


def message_event(
    text: str,
    *,
    chat_id: str,
    chat_type: ChatType = "group",
    sender_open_id: str,
    message_id: str | None = None,
    root_id: str | None = None,
    parent_id: str | None = None,
    thread_id: str | None = None,
    mentions: Iterable[Mention] = (),
    event_id: str | None = None,
    token: str = DEFAULT_VERIFICATION_TOKEN,
    app_id: str = DEFAULT_APP_ID,
    tenant_key: str = DEFAULT_TENANT_KEY,
    create_time: int | None = None,
    bot_open_id: str = BOT_OPEN_ID,
    bot_name: str = BOT_NAME,
    message_type: str = "text",
    content: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``im.message.receive_v1`` event for a user's message.

    `create_time`: milliseconds since the epoch (default: now). `mentions`: (key, open_id,
    name) triples; when `text` contains ``@_user_1`` and no mention has that key, the bot's
    mention (`bot_open_id`, `bot_name`) is added, as Feishu does for "@bot ...".
    `content` replaces the ``{"text": text}`` content (for other `message_type`s).
    `message_id` and `event_id` default to fresh ones.
    """
    millis = str(create_time if create_time is not None else int(time.time() * 1000))
    listed = list(mentions)
    if BOT_MENTION_KEY in text and all(key != BOT_MENTION_KEY for key, _, _ in listed):
        listed.insert(0, (BOT_MENTION_KEY, bot_open_id, bot_name))
    body = dict(content) if content is not None else {"text": text}
    message: dict[str, Any] = {
        "message_id": message_id or _fresh("om_"),
        "create_time": millis,
        "update_time": millis,
        "chat_id": chat_id,
        "chat_type": chat_type,
        "message_type": message_type,
        # Feishu sends content as a JSON-encoded string, compact, not an object.
        "content": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }
    for key, value in (("root_id", root_id), ("parent_id", parent_id), ("thread_id", thread_id)):
        if value is not None:
            message[key] = value
    if listed:
        message["mentions"] = [
            {"key": key, "id": _user_id(open_id), "name": name, "tenant_key": tenant_key}
            for key, open_id, name in listed
        ]
    return {
        "schema": "2.0",
        "header": _header(
            "im.message.receive_v1",
            event_id=event_id,
            token=token,
            app_id=app_id,
            tenant_key=tenant_key,
            create_time=millis,
        ),
        "event": {
            "sender": {
                "sender_id": _user_id(sender_open_id),
                "sender_type": "user",
                "tenant_key": tenant_key,
            },
            "message": message,
        },
    }


def card_action_event(
    value: Mapping[str, Any],
    *,
    open_id: str,
    open_message_id: str,
    open_chat_id: str,
    token: str = DEFAULT_VERIFICATION_TOKEN,
    event_id: str | None = None,
    tag: str = "button",
    app_id: str = DEFAULT_APP_ID,
    tenant_key: str = DEFAULT_TENANT_KEY,
    create_time: int | None = None,
    action_token: str | None = None,
    form_value: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``card.action.trigger`` callback: `open_id` clicked a button whose ``value`` is
    `value` on the card message `open_message_id` in `open_chat_id`.

    `create_time`: microseconds (default: now). `action_token`: the ``c-...`` token for a
    delayed card update (default: fresh). `form_value`: a form container's submission.
    """
    micros = str(create_time if create_time is not None else int(time.time() * 1_000_000))
    action: dict[str, Any] = {"value": dict(value), "tag": tag}
    if form_value is not None:
        action["form_value"] = dict(form_value)
    return {
        "schema": "2.0",
        "header": _header(
            "card.action.trigger",
            event_id=event_id,
            token=token,
            app_id=app_id,
            tenant_key=tenant_key,
            create_time=micros,
        ),
        "event": {
            "operator": {"tenant_key": tenant_key, **_user_id(open_id)},
            "token": action_token or _fresh("c-"),
            "action": action,
            "host": "im_message",
            "context": {"open_message_id": open_message_id, "open_chat_id": open_chat_id},
        },
    }


def url_verification(challenge: str, token: str = DEFAULT_VERIFICATION_TOKEN) -> dict[str, Any]:
    """The request-URL check; the app must answer ``{"challenge": challenge}``."""
    return {"challenge": challenge, "token": token, "type": "url_verification"}


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def encrypt(
    body: Mapping[str, Any] | bytes, encrypt_key: str, *, iv: bytes | None = None
) -> dict[str, str]:
    """``{"encrypt": ...}`` as Feishu sends it with an Encrypt Key configured."""
    plain = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    pad = AES.block_size - len(plain) % AES.block_size  # PKCS7: always 1..16 bytes
    iv = iv if iv is not None else os.urandom(AES.block_size)
    if len(iv) != AES.block_size:
        raise ValueError("iv must be 16 bytes")
    sealed = AES.new(_key(encrypt_key), AES.MODE_CBC, iv).encrypt(plain + bytes([pad]) * pad)
    return {"encrypt": base64.b64encode(iv + sealed).decode("ascii")}


def decrypt(payload: Mapping[str, Any], encrypt_key: str) -> dict[str, Any]:
    """The inverse of `encrypt` (for checking what a fake or a bot produced)."""
    raw = base64.b64decode(payload["encrypt"])
    iv, sealed = raw[: AES.block_size], raw[AES.block_size :]
    plain = AES.new(_key(encrypt_key), AES.MODE_CBC, iv).decrypt(sealed)
    result = json.loads(plain[: -plain[-1]])
    if not isinstance(result, dict):
        raise ValueError("decrypted payload is not an object")
    return result


def sign_headers(
    body: bytes, encrypt_key: str, *, timestamp: int | str, nonce: str
) -> dict[str, str]:
    """The three signature headers Feishu adds when an Encrypt Key is configured."""
    digest = hashlib.sha256((f"{timestamp}{nonce}{encrypt_key}").encode() + body).hexdigest()
    return {
        "X-Lark-Request-Timestamp": str(timestamp),
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": digest,
    }


def event_request(
    payload: Mapping[str, Any],
    *,
    encrypt_key: str | None = DEFAULT_ENCRYPT_KEY,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body bytes, headers) of Feishu's POST of `payload`: encrypted and signed when
    `encrypt_key` is given, plain JSON without signature headers when it is None."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if encrypt_key is None:
        return json.dumps(payload, ensure_ascii=False).encode(), headers
    body = json.dumps(encrypt(payload, encrypt_key)).encode()
    stamp = timestamp if timestamp is not None else int(time.time())
    headers.update(sign_headers(body, encrypt_key, timestamp=stamp, nonce=nonce or _fresh("")))
    return body, headers
