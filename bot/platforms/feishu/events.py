"""Feishu/Lark event requests, read as lark-oapi's `EventDispatcherHandler` reads them.

Native instead of lark-oapi (whose import costs ~135 MB and ~3 s): the checks and the
parsing of lark-oapi 1.7.5 (`event/dispatcher_handler.py`, `core/utils/decryptor.py`),
with our refusals as HTTP statuses (lark answers every refusal with a 500, which Feishu
retries for hours):

- Encrypt Key set: the body is ``{"encrypt": base64(iv + AES-256-CBC(SHA-256(key), iv,
  PKCS7(json)))}``, and every event (not the URL check) carries ``X-Lark-Request-Timestamp``,
  ``X-Lark-Request-Nonce`` and ``X-Lark-Signature`` = hex(SHA-256(timestamp + nonce + key +
  raw body)).
- Verification Token set: ``header.token`` (schema 2.0) or ``token`` (schema 1.0 and the
  URL check) must equal it.
- The event's type and token are found as lark finds them: ``schema`` set -> ``header``
  (``event_type``, ``token``); else ``uuid`` set (schema 1.0) -> ``event.type`` and
  ``token``; else (the URL check) ``type`` and ``token``.

`open_request` is the HTTP side (checks, then the plaintext), `parse` the long
connection's (plaintext JSON, neither encrypted nor signed), and `message_of` /
`card_action_of` read the two payloads the bot acts on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

__all__ = [
    "CARD_EVENT",
    "MESSAGE_EVENT",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "URL_VERIFICATION",
    "CardAction",
    "Envelope",
    "Mention",
    "ReceivedMessage",
    "Refused",
    "card_action_of",
    "decrypt",
    "envelope_of",
    "message_of",
    "open_request",
    "parse",
    "signature",
    "toast",
]

MESSAGE_EVENT: Final = "im.message.receive_v1"
CARD_EVENT: Final = "card.action.trigger"
URL_VERIFICATION: Final = "url_verification"
TIMESTAMP_HEADER: Final = "X-Lark-Request-Timestamp"
NONCE_HEADER: Final = "X-Lark-Request-Nonce"
SIGNATURE_HEADER: Final = "X-Lark-Signature"
_BLOCK = 16  # AES.block_size


class Refused(Exception):
    """A request that is not (provably) from Feishu to this app: `status` 400 (not an
    event request at all), 401 (cannot be authenticated) or 403 (authenticated wrong)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """What every event request says about itself, and the whole plaintext payload.

    `schema`: "2.0" (``header``), "1.0" (``uuid``) or "" (the URL check). `token`: as
    sent (not necessarily a string)."""

    schema: str
    type: str
    token: Any
    event_id: str | None
    payload: dict[str, Any] = field(repr=False)

    @property
    def is_challenge(self) -> bool:
        return self.type == URL_VERIFICATION

    @property
    def challenge(self) -> str | None:
        value = self.payload.get("challenge")
        return value if isinstance(value, str) else None


def envelope_of(payload: dict[str, Any]) -> Envelope:
    """The `Envelope` of a plaintext payload (ValueError if it says schema 2.0 without a
    header: lark-oapi fails on it too)."""
    schema = payload.get("schema")
    if isinstance(schema, str) and schema:
        header = payload.get("header")
        if not isinstance(header, dict):
            raise ValueError("schema 2.0 event without a header")
        event_id = header.get("event_id")
        return Envelope(
            "2.0",
            _str(header.get("event_type")),
            header.get("token"),
            event_id if isinstance(event_id, str) else None,
            payload,
        )
    uuid = payload.get("uuid")
    if isinstance(uuid, str) and uuid:
        event = payload.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
        return Envelope("1.0", _str(kind), payload.get("token"), uuid, payload)
    return Envelope("", _str(payload.get("type")), payload.get("token"), None, payload)


def parse(raw: bytes) -> Envelope:
    """A plaintext event (the long connection's): ValueError if it is not one."""
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise ValueError("event payload is not a JSON object")
    return envelope_of(payload)


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """Feishu's ``X-Lark-Signature`` of a request body."""
    return hashlib.sha256(f"{timestamp}{nonce}{encrypt_key}".encode() + body).hexdigest()


def decrypt(sealed: str, encrypt_key: str) -> bytes:
    """The plaintext of an ``encrypt`` field (ValueError unless sealed with this key, as
    strictly as lark-oapi's `AESCipher`: whole blocks, an IV and one more, exact PKCS7)."""
    try:
        raw = base64.b64decode(sealed)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) < 2 * _BLOCK or len(raw) % _BLOCK:
        raise ValueError("invalid ciphertext length")
    # Imported here: only HTTP-mode events are encrypted (pycryptodome's import is slow).
    from Crypto.Cipher import AES

    key = hashlib.sha256(encrypt_key.encode()).digest()
    plain = AES.new(key, AES.MODE_CBC, raw[:_BLOCK]).decrypt(raw[_BLOCK:])
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("invalid PKCS7 padding")
    return plain[:-pad]


def open_request(
    raw: bytes,
    headers: Mapping[str, str],
    *,
    encrypt_key: str | None,
    token: str | None,
) -> Envelope:
    """The `Envelope` of an HTTP event request provably from Feishu to this app, else
    `Refused`. `headers` must look names up case-insensitively (aiohttp's do)."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise Refused(400, "body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "body is not a JSON object")
    stamp, nonce, signed_as = (
        headers.get(h) for h in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
    )
    signed = bool(stamp and nonce and signed_as)
    if encrypt_key and signed:
        # Checked on the raw bytes before anything is decrypted or parsed further.
        expected = signature(str(stamp), str(nonce), encrypt_key, raw)
        if not hmac.compare_digest(expected, str(signed_as)):
            raise Refused(403, "signature mismatch")
    sealed = body.get("encrypt")
    if sealed is not None:
        if not encrypt_key:
            raise Refused(401, "encrypted body, but no PAPERDROP_FEISHU_ENCRYPT_KEY is set")
        try:
            body = json.loads(decrypt(str(sealed), encrypt_key).decode("utf-8"))
        except ValueError:  # bad base64, padding, UTF-8 or JSON: not sealed with our key
            raise Refused(401, "body does not decrypt with the encrypt key") from None
        if not isinstance(body, dict):
            raise Refused(401, "decrypted body is not a JSON object")
    try:
        envelope = envelope_of(body)
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    # Feishu signs events, not the URL check (lark-oapi skips it there too).
    if encrypt_key and not signed and not envelope.is_challenge:
        raise Refused(401, "signature headers missing")
    if token:
        sent = envelope.token
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), token.encode()):
            raise Refused(403, "verification token mismatch")
    return envelope


# --- the payloads the bot acts on ---------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """One ``mentions`` entry: the ``@_user_N`` placeholder in the text, and who it is."""

    key: str
    open_id: str = ""
    name: str = ""

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> Mention:
        ident = value.get("id")
        open_id = ident.get("open_id") if isinstance(ident, dict) else None
        return cls(str(value.get("key")), _str(open_id), _str(value.get("name")))


@dataclass(frozen=True)
class ReceivedMessage:
    """An ``im.message.receive_v1`` event; absent strings are "". `content` is the JSON
    string Feishu sends (``'{"text": "..."}'`` for text)."""

    event_id: str
    message_id: str
    chat_id: str
    chat_type: str
    message_type: str
    content: str
    sender_open_id: str
    sender_type: str = "user"
    parent_id: str = ""
    root_id: str = ""
    thread_id: str = ""
    mentions: tuple[Mention, ...] = ()


def message_of(payload: Mapping[str, Any]) -> ReceivedMessage:
    event = _dict(payload.get("event"))
    message = _dict(event.get("message"))
    sender = _dict(event.get("sender"))
    mentions = message.get("mentions")
    sender_type = sender.get("sender_type", "user")
    return ReceivedMessage(
        event_id=_str(_dict(payload.get("header")).get("event_id")),
        message_id=_str(message.get("message_id")),
        chat_id=_str(message.get("chat_id")),
        chat_type=_str(message.get("chat_type")),
        message_type=_str(message.get("message_type")),
        content=_str(message.get("content")),
        sender_open_id=_str(_dict(sender.get("sender_id")).get("open_id")),
        # Only "user" is answered: anything else (the bot itself, other apps) is not.
        sender_type=sender_type if isinstance(sender_type, str) else "",
        parent_id=_str(message.get("parent_id")),
        root_id=_str(message.get("root_id")),
        thread_id=_str(message.get("thread_id")),
        mentions=tuple(
            Mention.of(m)
            for m in (mentions if isinstance(mentions, list) else [])
            if isinstance(m, dict)
        ),
    )


@dataclass(frozen=True)
class CardAction:
    """A ``card.action.trigger`` callback: who pressed which button on which card."""

    event_id: str
    value: dict[str, Any]
    tag: str
    open_id: str
    open_chat_id: str
    open_message_id: str
    token: str = field(default="", repr=False)  # a card-update token, valid 30 minutes


def card_action_of(payload: Mapping[str, Any]) -> CardAction:
    event = _dict(payload.get("event"))
    action = _dict(event.get("action"))
    context = _dict(event.get("context"))
    return CardAction(
        event_id=_str(_dict(payload.get("header")).get("event_id")),
        value=_dict(action.get("value")),
        tag=_str(action.get("tag")),
        open_id=_str(_dict(event.get("operator")).get("open_id")),
        open_chat_id=_str(context.get("open_chat_id")),
        open_message_id=_str(context.get("open_message_id")),
        token=_str(event.get("token")),
    )


def toast(text: str, kind: str = "info") -> dict[str, Any]:
    """A card callback's answer that Feishu shows as a toast."""
    return {"toast": {"type": kind, "content": text}}


def _dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
