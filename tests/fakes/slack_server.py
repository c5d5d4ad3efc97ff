"""A fake Slack Web API for contract tests that drive the real slack_sdk clients.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="fallback", blocks=[...])
        assert slack.messages[0].blocks[0]["type"] == "section"

slack_sdk posts to ``base_url + method`` (``http://127.0.0.1:PORT/api/chat.postMessage``)
with ``Authorization: Bearer <token>``, as JSON (chat.postMessage) or a form (most other
methods; a ``token`` form field is accepted too). Answers are HTTP 200
``{"ok": true, ...}`` / ``{"ok": false, "error": "..."}`` like Slack's, except rate limits:
HTTP 429 with a ``Retry-After`` header and ``{"ok": false, "error": "ratelimited"}``.

Methods: ``auth.test``, ``chat.postMessage``; anything else -> ``unknown_method``.

chat.postMessage rules:

- token: none -> ``not_authed``, wrong -> ``invalid_auth``.
- ``channel`` required (``channel_not_found``); blocked channels (`block_channel`) answer
  their error (``not_in_channel``, ``channel_not_found``, ``is_archived``...).
- ``text`` or ``blocks`` required (``no_text``); text over 40,000 chars -> ``msg_too_long``.
- ``blocks``: a list (a JSON string in forms; else ``invalid_blocks_format``) of at most
  50 blocks, each validated (limits from slack_sdk.models.blocks where it has them):
  known ``type``; ``block_id`` <= 255 and unique; header: plain_text <= 150; section:
  text and/or fields, text <= 3000, fields <= 10 each <= 2000; context: 1..10 elements;
  actions: 1..25 elements; markdown: text <= 12,000; text objects need ``type``
  plain_text/mrkdwn and a non-empty ``text``. Failures answer ``invalid_blocks`` with
  ``errors`` and ``response_metadata.messages`` like
  ``"[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
- The text of all blocks together over 13,000 characters -> ``msg_blocks_too_long``
  (observed in practice, no documented single limit; see PLATFORMS.md).
- ``blocks`` without a non-empty ``text`` fallback: accepted with a warning
  (``response_metadata.warnings: ["missing_text"]``), recorded in `warnings` so tests can
  assert there are none. (slack_sdk also emits a UserWarning client-side.)
- ``thread_ts`` must be the ``ts`` of a message already in that channel
  (``thread_not_found``); ``reply_broadcast`` is recorded.
- Rate limit when `enforce_rate_limits` (off by default): 1 message per 1.0 s per channel
  on the injectable clock -> 429, ``Retry-After`` = seconds until a slot frees (ceil, >= 1).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownBlock,
    SectionBlock,
)

from tests.fakes._base import FakeServer, Injection, Rejection, read_params
from tests.fakes.ratelimit import Clock, Window, retry_after_seconds

__all__ = [
    "DEFAULT_TOKEN",
    "FakeSlack",
    "Rejection",
    "SlackMessage",
    "SlackWarning",
    "mass_mentions",
]

DEFAULT_TOKEN = "xoxb-0000000000-fake-paperdrop-token"

MAX_BLOCKS = 50  # per message; slack_sdk does not check this
MAX_FIELD_TEXT = 2000  # each section field
MAX_TOTAL_BLOCK_TEXT = 13_000  # msg_blocks_too_long beyond this (empirical)
MAX_MESSAGE_TEXT = 40_000  # msg_too_long
PER_CHANNEL = Window(1, 1.0, "per channel")

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions", "context", "divider", "file", "header", "image", "input", "markdown",
        "rich_text", "section", "video", "table", "context_actions",
    }
)  # fmt: skip
_MASS_MENTION = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


@dataclass(frozen=True)
class SlackMessage:
    """An accepted chat.postMessage."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    reply_broadcast: bool
    time: float  # the fake's clock
    mass_mentions: bool  # <!channel>, <!here> or <!everyone> in text or blocks
    params: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class SlackWarning:
    channel: str
    ts: str
    warning: str


def mass_mentions(value: Any) -> bool:
    """Whether any string inside `value` (text or blocks) pings a whole channel."""
    if isinstance(value, str):
        return bool(_MASS_MENTION.search(value))
    if isinstance(value, dict):
        return any(mass_mentions(v) for v in value.values())
    if isinstance(value, list):
        return any(mass_mentions(v) for v in value)
    return False


def _block_text(value: Any) -> int:
    """Characters of every ``text`` string inside a block."""
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _block_text(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(_block_text(v) for v in value)
    return 0


class _BlockErrors:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, message: str, pointer: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def text_object(
        self, obj: Any, pointer: str, *, max_len: int, plain_only: bool = False
    ) -> None:
        if not isinstance(obj, dict):
            self.add("must be an object", pointer)
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.add(f"must be one of {', '.join(allowed)}", pointer + "/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add("must be more than 0 characters", pointer + "/text")
        elif len(text) > max_len:
            self.add(f"must be less than {max_len + 1} characters", pointer + "/text")

    def block(self, block: Any, index: int, seen_ids: set[str]) -> None:
        p = f"/blocks/{index}"
        if not isinstance(block, dict):
            self.add("must be an object", p)
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.add(f"unsupported type: {kind}", p + "/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > Block.block_id_max_length:
                self.add(
                    f"must be less than {Block.block_id_max_length + 1} characters",
                    p + "/block_id",
                )
            elif block_id in seen_ids:
                self.add("duplicate block_id", p + "/block_id")
            else:
                seen_ids.add(block_id)
        if kind == "header":
            self.text_object(
                block.get("text"), p + "/text", max_len=HeaderBlock.text_max_length, plain_only=True
            )
        elif kind == "section":
            self.section(block, p)
        elif kind == "context":
            elements = block.get("elements")
            limit = ContextBlock.elements_max_length
            if not isinstance(elements, list) or not elements:
                self.add("must provide at least 1 item", p + "/elements")
            elif len(elements) > limit:
                self.add(f"must provide no more than {limit} items", p + "/elements")
            else:
                for j, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") == "image":
                        continue
                    self.text_object(el, f"{p}/elements/{j}", max_len=SectionBlock.text_max_length)
        elif kind == "actions":
            elements = block.get("elements")
            limit = ActionsBlock.elements_max_length
            if not isinstance(elements, list) or not elements:
                self.add("must provide at least 1 item", p + "/elements")
            elif len(elements) > limit:
                self.add(f"must provide no more than {limit} items", p + "/elements")
        elif kind == "markdown":
            text = block.get("text")
            limit = MarkdownBlock.text_max_length
            if not isinstance(text, str) or not text:
                self.add("must be more than 0 characters", p + "/text")
            elif len(text) > limit:
                self.add(f"must be less than {limit + 1} characters", p + "/text")
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                self.add("must provide image_url or slack_file", p)
            if not isinstance(block.get("alt_text"), str):
                self.add("is required", p + "/alt_text")

    def section(self, block: dict[str, Any], p: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            self.add("must provide text or fields", p)
        if text is not None:
            self.text_object(text, p + "/text", max_len=SectionBlock.text_max_length)
        if fields is not None:
            limit = SectionBlock.fields_max_length
            if not isinstance(fields, list) or not fields:
                self.add("must provide at least 1 item", p + "/fields")
            elif len(fields) > limit:
                self.add(f"must provide no more than {limit} items", p + "/fields")
            else:
                for j, f in enumerate(fields):
                    self.text_object(f, f"{p}/fields/{j}", max_len=MAX_FIELD_TEXT)


class _SlackError(Exception):
    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class FakeSlack(FakeServer):
    """Fake Slack Web API. See the module docstring for the rules it enforces."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        clock: Clock = time.monotonic,
        enforce_rate_limits: bool = False,
        team: str = "paperdrop-fake",
    ) -> None:
        super().__init__(clock=clock, enforce_rate_limits=enforce_rate_limits)
        self.token = token
        self.team = team
        self.messages: list[SlackMessage] = []
        self.warnings: list[SlackWarning] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._blocked: dict[str, str] = {}
        self._seq = 0

    def __repr__(self) -> str:  # never show the token
        return f"FakeSlack(origin={self._origin!r}, messages={len(self.messages)})"

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    def _base_path(self) -> str:
        return "/api/"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._handle)

    # -- test helpers --------------------------------------------------------------------

    def by_channel(self, channel: str) -> list[SlackMessage]:
        return [m for m in self.messages if m.channel == channel]

    def block_channel(self, channel: str, error: str = "not_in_channel") -> None:
        """Make posts to `channel` fail with `error` (e.g. "channel_not_found")."""
        self._blocked[channel] = error

    def unblock_channel(self, channel: str) -> None:
        self._blocked.pop(channel, None)

    def fail_next(
        self,
        status: int = 429,
        retry_after: int = 1,
        count: int = 1,
        chat: str | None = None,
        *,
        error: str | None = None,
        method: str = "chat.postMessage",
    ) -> None:
        """Fail the next `count` calls of `method` (to channel `chat`, if given).

        429: HTTP 429, ``Retry-After: retry_after``, error "ratelimited". 200 with `error`:
        an ``{"ok": false, "error": error}`` answer. Other statuses: that HTTP status with
        `error` (default "internal_error"; slack_sdk raises SlackApiError for them all).
        """
        self._queue(Injection(status, retry_after, count, chat, method, error=error))

    # -- HTTP ----------------------------------------------------------------------------

    def _fail(
        self,
        method: str,
        target: str | None,
        error: str,
        status: int = 200,
        *,
        retry_after: int | None = None,
        injected: bool = False,
        **extra: Any,
    ) -> web.Response:
        self._reject(method, target, status, error, injected=injected, retry_after=retry_after)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = {"ok": False, "error": error, **extra}
        return web.json_response(body, status=status, headers=headers)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params, _ = await read_params(request)
        except ValueError:
            return self._fail(method, None, "invalid_json")
        self.requests.append((method, params))
        target = params.get("channel") if isinstance(params.get("channel"), str) else None
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        if not token:
            return self._fail(method, target, "not_authed")
        if token != self.token:
            return self._fail(method, target, "invalid_auth")
        injection = self._take_injection(method, target)
        if injection is not None:
            if injection.status == 429:
                return self._fail(
                    method,
                    target,
                    "ratelimited",
                    429,
                    retry_after=injection.retry_after,
                    injected=True,
                )
            return self._fail(
                method,
                target,
                injection.error or "internal_error",
                injection.status,
                injected=True,
            )
        try:
            if method == "auth.test":
                return web.json_response(self._auth_test())
            if method == "chat.postMessage":
                return web.json_response(self._post_message(params))
        except _SlackError as exc:
            retry = exc.extra.pop("retry_after", None)
            return self._fail(method, target, exc.error, exc.status, retry_after=retry, **exc.extra)
        return self._fail(method, target, "unknown_method", req_method=method)

    def _auth_test(self) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team}.slack.com/",
            "team": self.team,
            "user": "paperdrop",
            "team_id": "T0FAKE0001",
            "user_id": "U0FAKE0001",
            "bot_id": "B0FAKE0001",
            "is_enterprise_install": False,
        }

    def _new_ts(self) -> str:
        self._seq += 1
        return f"{1_700_000_000 + self._seq // 1_000_000}.{self._seq % 1_000_000:06d}"

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise _SlackError("channel_not_found")
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            raise _SlackError("invalid_arguments")
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _SlackError("invalid_blocks_format") from None
        if blocks is not None and not isinstance(blocks, list):
            raise _SlackError("invalid_blocks_format")
        if not text and not blocks:
            raise _SlackError("no_text")
        if text and len(text) > MAX_MESSAGE_TEXT:
            raise _SlackError("msg_too_long")
        if blocks:
            self._check_blocks(blocks)
        if channel in self._blocked:
            raise _SlackError(self._blocked[channel])
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None and not any(
            m.ts == str(thread_ts) for m in self.messages if m.channel == channel
        ):
            raise _SlackError("thread_not_found")
        if self.enforce_rate_limits:
            verdict = self.windows.acquire((channel, PER_CHANNEL))
            if not verdict.ok:
                raise _SlackError("ratelimited", 429, retry_after=retry_after_seconds(verdict.wait))
        ts = self._new_ts()
        broadcast = params.get("reply_broadcast") in (True, "true", "1", 1)
        self.messages.append(
            SlackMessage(
                channel=channel,
                ts=ts,
                thread_ts=None if thread_ts is None else str(thread_ts),
                text=text,
                blocks=blocks,
                reply_broadcast=broadcast,
                time=self.clock(),
                mass_mentions=mass_mentions(text) or mass_mentions(blocks),
                params=params,
            )
        )
        message: dict[str, Any] = {
            "type": "message",
            "text": text or "",
            "user": "U0FAKE0001",
            "bot_id": "B0FAKE0001",
            "ts": ts,
        }
        if blocks:
            message["blocks"] = blocks
        if thread_ts is not None:
            message["thread_ts"] = str(thread_ts)
        answer: dict[str, Any] = {"ok": True, "channel": channel, "ts": ts, "message": message}
        if blocks and not (text and text.strip()):
            self.warnings.append(SlackWarning(channel, ts, "missing_text"))
            answer["warning"] = "missing_text"
            answer["response_metadata"] = {"warnings": ["missing_text"]}
        return answer

    def _check_blocks(self, blocks: list[Any]) -> None:
        if len(blocks) > MAX_BLOCKS:
            message = f"[ERROR] must provide no more than {MAX_BLOCKS} items [json-pointer:/blocks]"
            raise _SlackError(
                "invalid_blocks", errors=[message], response_metadata={"messages": [message]}
            )
        checker = _BlockErrors()
        seen_ids: set[str] = set()
        for i, block in enumerate(blocks):
            checker.block(block, i, seen_ids)
        if checker.errors:
            raise _SlackError(
                "invalid_blocks",
                errors=checker.errors,
                response_metadata={"messages": checker.errors},
            )
        if _block_text(blocks) > MAX_TOTAL_BLOCK_TEXT:
            raise _SlackError("msg_blocks_too_long")
