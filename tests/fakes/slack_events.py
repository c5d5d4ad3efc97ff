"""What Slack sends to an app, in the shapes Slack documents, and how it signs it.

HTTP mode (Slack POSTs to the app's Request URL):

- Events API: a JSON body, ``Content-Type: application/json``: `event_callback` wraps an
  inner event (`app_mention`, `message_im`, `message_in_thread`, `message`); the one-off
  endpoint check is `url_verification` (the app must echo ``challenge``).
- Slash commands: a urlencoded form of string fields (`slash_command`, `form_body`).
- Interactivity: a urlencoded form with one field, ``payload``, holding the JSON of e.g.
  `block_actions` (`interactive_body`).
- Every request is signed (`sign`): ``X-Slack-Request-Timestamp: <unix seconds>`` and
  ``X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<ts>:<raw body>")>``. Bolt
  (slack_sdk's SignatureVerifier) checks it against the *wall clock* and refuses a
  timestamp more than `MAX_SIGNATURE_AGE` seconds away, answering 401.
- Slack retries an event it got no 2xx for within 3 s, up to 3 times, adding
  `retry_headers` (``X-Slack-Retry-Num``: 1..3, ``X-Slack-Retry-Reason``).

Socket Mode carries the same payloads as dicts in an envelope (see FakeSlack.socket_send):
``events_api`` -> the `event_callback` dict, ``slash_commands`` -> the `slash_command`
fields, ``interactive`` -> the `block_actions` dict.

Identities default to the fake workspace (`TEAM_ID`, `APP_ID`, the bot `BOT_USER_ID` /
`BOT_ID`), the same ones FakeSlack's auth.test reports, so bolt's self-event filter and
``authorizations`` agree. Generated ids (event ids, trigger ids, ``client_msg_id``) come
from a process-wide counter: unique and reproducible, not random.

Builders here are pure. A builder given no ``response_url`` uses `UNROUTED_RESPONSE_URL`,
a local port that refuses connections (never the network): for a URL that works, use
FakeSlack's methods of the same name or `FakeSlack.new_response_url`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlencode

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "MAX_SIGNATURE_AGE",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "UNROUTED_RESPONSE_URL",
    "VERIFICATION_TOKEN",
    "PayloadKind",
    "app_mention",
    "block_actions",
    "channel_type",
    "event_callback",
    "form_body",
    "interactive_body",
    "json_body",
    "message",
    "message_im",
    "message_in_thread",
    "retry_headers",
    "sign",
    "slash_command",
    "url_verification",
]

TEAM_ID = "T0FAKE0001"
TEAM_DOMAIN = "paperdrop-fake"
APP_ID = "A0FAKE0001"
BOT_USER_ID = "U0FAKE0001"
BOT_ID = "B0FAKE0001"
# The deprecated verification token Slack still puts in every payload; bolt ignores it.
VERIFICATION_TOKEN = "fake-verification-token"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
MAX_SIGNATURE_AGE = 300  # seconds; SignatureVerifier refuses |now - timestamp| > 5 minutes
# Port 9 (discard) on loopback: connecting fails at once and nothing leaves the machine.
UNROUTED_RESPONSE_URL = "http://127.0.0.1:9/response/unrouted"

# What Slack delivers, named as Socket Mode envelope types name it.
PayloadKind = Literal["events_api", "slash_commands", "interactive"]

_ids = itertools.count(1)


def _next_id() -> int:
    return next(_ids)


def channel_type(channel: str) -> str:
    """The ``channel_type`` of message events: D… im, G… group (private), else channel."""
    if channel.startswith("D"):
        return "im"
    if channel.startswith("G"):
        return "group"
    return "channel"


def _channel_name(channel: str) -> str:
    # What slash commands report as channel_name for DMs and private channels.
    if channel.startswith("D"):
        return "directmessage"
    if channel.startswith("G"):
        return "privategroup"
    return channel.lower()


def _trigger_id() -> str:
    n = _next_id()
    return f"{1_700_000_000 + n}.{n:09d}.{n:032x}"


# -- Events API ----------------------------------------------------------------------------


def message(
    text: str,
    *,
    channel: str,
    user: str,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A user's ``message`` event (no subtype); ``channel_type`` follows the channel id.

    Real client messages also carry ``blocks`` (rich_text); they are left out here, so a
    receiver must read ``text``.
    """
    event: dict[str, Any] = {
        "type": "message",
        "client_msg_id": f"00000000-0000-4000-8000-{_next_id():012d}",
        "user": user,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type(channel),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        if parent_user_id is not None:
            event["parent_user_id"] = parent_user_id
    return event


def message_im(
    text: str, *, channel: str, user: str, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    """A ``message`` event in a DM with the bot (``message.im``); `channel` is a D… id."""
    if not channel.startswith("D"):
        raise ValueError(f"DM channel ids start with D, not {channel!r}")
    return message(text, channel=channel, user=user, ts=ts, thread_ts=thread_ts)


def message_in_thread(
    text: str,
    *,
    channel: str,
    user: str,
    ts: str,
    thread_ts: str,
    parent_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """A reply in the thread under `thread_ts` (by default a thread the bot started)."""
    return message(
        text,
        channel=channel,
        user=user,
        ts=ts,
        thread_ts=thread_ts,
        parent_user_id=parent_user_id,
    )


def app_mention(
    text: str,
    *,
    channel: str,
    user: str,
    ts: str,
    thread_ts: str | None = None,
    bot_user_id: str = BOT_USER_ID,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """An ``app_mention`` event. Its text always contains ``<@bot_user_id>``: if `text`
    lacks it, it is prepended (Slack only sends app_mention when the bot is mentioned)."""
    mention = f"<@{bot_user_id}>"
    if mention not in text:
        text = f"{mention} {text}"
    event: dict[str, Any] = {
        "type": "app_mention",
        "client_msg_id": f"00000000-0000-4000-8000-{_next_id():012d}",
        "user": user,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def event_callback(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """The Events API envelope around `event` (what ``events_api`` payloads hold too).

    `event_time` defaults to the whole seconds of the event's ``event_ts``.
    """
    if event_time is None:
        event_ts = event.get("event_ts") or event.get("ts")
        event_time = int(float(event_ts)) if event_ts else int(time.time())
    n = _next_id()
    context = base64.b64encode(json.dumps({"et": event.get("type"), "tid": team_id}).encode())
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{n:010d}",
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + context.decode(),
    }


def url_verification(challenge: str, token: str = VERIFICATION_TOKEN) -> dict[str, Any]:
    """The check Slack sends when a Request URL is saved; the app answers ``challenge``."""
    return {"token": token, "challenge": challenge, "type": "url_verification"}


# -- slash commands and interactivity --------------------------------------------------------


def slash_command(
    text: str,
    *,
    command: str = "/paperdrop",
    user_id: str,
    channel_id: str,
    team_id: str = TEAM_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
    user_name: str | None = None,
    api_app_id: str = APP_ID,
) -> dict[str, str]:
    """The form fields of a slash command (all strings, as Slack sends them)."""
    if not command.startswith("/"):
        raise ValueError(f"commands start with '/': {command!r}")
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or UNROUTED_RESPONSE_URL,
        "trigger_id": trigger_id or _trigger_id(),
    }


def block_actions(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str,
    message_ts: str,
    thread_ts: str | None = None,
    response_url: str | None = None,
    block_id: str | None = None,
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    button_text: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
    bot_id: str = BOT_ID,
) -> dict[str, Any]:
    """A button click on a bot message: the JSON of the form field ``payload``.

    `message_text` / `message_blocks` are the clicked message as Slack echoes it back.
    """
    n = _next_id()
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    clicked: dict[str, Any] = {
        "type": "message",
        "user": bot_user_id,
        "bot_id": bot_id,
        "app_id": api_app_id,
        "text": message_text,
        "ts": message_ts,
        "team": team_id,
        "blocks": message_blocks or [],
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
        clicked["thread_ts"] = thread_ts
    user_name = user_id.lower()
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "message": clicked,
        "state": {"values": {}},
        "response_url": response_url or UNROUTED_RESPONSE_URL,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id or f"b{n:06d}",
                "text": {"type": "plain_text", "text": button_text or value, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{1_700_000_000 + n}.{n:06d}",
            }
        ],
    }


# -- bodies and headers ----------------------------------------------------------------------


def form_body(fields: Mapping[str, str]) -> bytes:
    """A urlencoded body (slash commands; interactivity via `interactive_body`)."""
    return urlencode(dict(fields)).encode()


def interactive_body(payload: Mapping[str, Any]) -> bytes:
    """An interactivity body: one form field ``payload`` holding the JSON."""
    return form_body({"payload": json.dumps(payload)})


def json_body(payload: Mapping[str, Any]) -> bytes:
    """An Events API body."""
    return json.dumps(payload).encode()


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Slack's request-signing headers for `body` sent at unix time `timestamp`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": "v0=" + digest}


def retry_headers(n: int, reason: str = "http_timeout") -> dict[str, str]:
    """Headers on Slack's `n`-th redelivery of an event (reason: http_timeout, http_error,
    too_many_redirects, ssl_error, connection_failed, unknown_error)."""
    if n < 1:
        raise ValueError("retries are numbered from 1")
    return {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": reason}
