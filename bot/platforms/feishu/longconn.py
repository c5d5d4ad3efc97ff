"""Feishu/Lark's long connection ("长连接"), as lark-oapi 1.7.5's `ws.Client` speaks it,
natively on asyncio and aiohttp.

lark-oapi's client costs ~135 MB and ~3 s of imports, binds an event loop at import, blocks
in `start()` (blocking `requests`) and has no stop. This is its protocol
(lark-oapi's `ws/client.py`), with a stop:

1. ``POST {base}/callback/ws/endpoint`` ``{"AppID", "AppSecret"}`` (headers ``locale: zh``
   and a User-Agent) answers ``{"code": 0, "data": {"URL": "wss://...?device_id=..&
   service_id=..&ticket=..", "ClientConfig": {ReconnectCount, ReconnectInterval,
   ReconnectNonce, PingInterval}}}``. Code 1 (busy), 1000040343 (internal) or a non-200
   HTTP status: try again later; any other code is final (wrong credentials: `Refused`).
2. A WebSocket to that URL carries protobuf ``pbbp2.Frame``s (`frames.Frame`). A refused
   handshake says why in ``handshake-status``/``handshake-msg`` headers: 403, or 514 with
   ``handshake-autherrcode`` 1000040350 (too many connections), is final.
3. Control frames (method 0): we send a ``ping`` (header type=ping, ``service`` = the URL's
   service_id) every PingInterval seconds; the ``pong``'s payload may carry a new
   ClientConfig.
4. Data frames (method 1), headers ``type`` (event / card), ``message_id``, ``sum``,
   ``seq``, ``trace_id``: a payload split in ``sum`` frames is put together (parts wait
   5 s). An event's JSON goes to the handler; the answer is the same frame back, plus a
   ``biz_rt`` header (handler time, ms), with payload ``{"code": 200, "data":
   base64(json(handler's answer))}`` (no data for None), or ``{"code": 500}`` when the
   handler raised. ``card`` frames (the old card callback) get no answer, as in lark.
5. A lost connection (or a first one that failed): tried again with capped exponential
   backoff and jitter (`bot.core.reconnect`), for as long as it takes; lark's fixed
   ReconnectInterval and ReconnectCount are not followed (a bot must come back by
   itself). A final refusal ends the trying. Each change of state is logged once.

`sleep` and `random` are injectable (tests never wait on a wall clock).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit

from bot.core.reconnect import RECEIVER_BACKOFF, Backoff, Link
from bot.platforms.feishu.frames import CONTROL, DATA, Frame
from digest.errors import ConfigError
from digest.redaction import mask

# aiohttp is imported where the connection is made and read: it takes ~0.2 s to import,
# which only `serve` (in long-connection mode) needs.
if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "CONTROL",
    "DATA",
    "ENDPOINT_PATH",
    "ClientConfig",
    "Frame",
    "LongConnection",
    "Refused",
]

log = logging.getLogger(__name__)

ENDPOINT_PATH: Final = "/callback/ws/endpoint"
# lark-oapi's ws/const.py
_OK, _SYSTEM_BUSY, _INTERNAL_ERROR = 0, 1, 1000040343
_NO_CREDENTIAL = 1000040344
_FORBIDDEN, _AUTH_FAILED, _EXCEED_CONN_LIMIT = 403, 514, 1000040350
PARTS_TTL: Final = 5.0  # seconds the parts of a split payload wait for the rest (lark's)
# lark's transport (websockets) pings at the WebSocket level every 20 s as well.
WS_KEEPALIVE: Final = 20.0
MIN_PING_INTERVAL: Final = 1.0  # seconds: a config saying 0 must not make a busy loop
# lark-oapi's User-Agent format with its `source` tag: the SDK protocol version we mirror.
USER_AGENT: Final = "oapi-sdk-python/v1.7.5 source/paperdrop"

Handler = Callable[[bytes], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[None]]


# --- the client -------------------------------------------------------------------------


class Refused(ConfigError):
    """Feishu refused the long connection for good (lark-oapi's ClientException): wrong
    credentials, an app not subscribed by long connection, too many connections."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"code {code}: {msg}")
        self.code = code
        self.msg = msg


class _TryAgain(Exception):
    """A failure Feishu says is passing (lark-oapi's ServerException)."""


@dataclass
class ClientConfig:
    """What the endpoint and every pong tell the client (lark's defaults until then)."""

    reconnect_count: int = -1  # tries after a lost connection; -1: forever
    reconnect_interval: float = 120.0  # seconds between tries
    reconnect_nonce: float = 30.0  # up to this many seconds before the first try
    ping_interval: float = 120.0  # seconds

    def update(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        for name, key in (
            ("reconnect_count", "ReconnectCount"),
            ("reconnect_interval", "ReconnectInterval"),
            ("reconnect_nonce", "ReconnectNonce"),
            ("ping_interval", "PingInterval"),
        ):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                setattr(self, name, int(value) if name == "reconnect_count" else float(value))


class LongConnection:
    """One app's long connection: `start()` connects (or keeps trying in the background),
    `handler(payload)` answers each event (its return value, JSON-able, is the answer; a
    card callback's is the toast), `stop()` closes it and cancels everything it runs."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        handler: Handler,
        *,
        base_url: str = "https://open.feishu.cn",
        timeout: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        backoff: Backoff = RECEIVER_BACKOFF,
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._handler = handler
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._sleep = sleep
        self._random = random
        self._backoff = backoff
        self.link = Link("feishu", "long connection", logger=log)
        self.config = ClientConfig()
        self.connections = 0  # WebSocket connections made so far
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._service_id = 0
        self._conn_id = ""  # the URL's device_id, for the logs
        self._runner: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # answers in progress
        self._parts: dict[str, tuple[float, list[bytes | None]]] = {}
        self._send_lock = asyncio.Lock()

    def __repr__(self) -> str:  # never the secret
        return f"LongConnection(app_id={self._app_id!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def start(self) -> None:
        """Connects once. `Refused` (a `ConfigError`) when Feishu refuses for good; any
        other failure is logged and tried again in the background (as lark does)."""
        import aiohttp

        if self._runner is not None:
            raise RuntimeError("LongConnection already started")
        self._session = aiohttp.ClientSession()
        try:
            await self._connect()
        except Refused:
            await self._close_session()
            raise
        except Exception as exc:
            self.link.down(_describe(exc))  # tried again in the background
            up = False
        except BaseException:  # cancelled: nothing may be left open
            await self._disconnect()
            await self._close_session()
            raise
        else:
            up = True
            self.link.up()
        self._runner = asyncio.create_task(self._run(up), name="feishu-long-connection")

    async def stop(self) -> None:
        """Closes the connection and cancels the reconnecting, the pings and the answers
        in progress (Feishu redelivers what was not answered)."""
        runner, self._runner = self._runner, None
        tasks = [t for t in (runner, *self._tasks) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._disconnect()
        await self._close_session()

    # --- connecting -------------------------------------------------------------------

    async def _run(self, up: bool) -> None:
        while True:
            if up:
                try:
                    await self._receive()
                except Exception:  # a bug here must not end the long connection for good
                    log.exception("feishu: long connection receive loop failed")
                await self._disconnect()
                self.link.down("the connection was closed")
            up = await self._reconnect()
            if not up:
                return

    async def _reconnect(self) -> bool:
        """Try until connected, waiting a backoff before each try; False only when
        Feishu refuses for good (wrong credentials)."""
        attempt = max(self.link.failures - 1, 0)
        while True:
            await self._sleep(self._backoff.delay(attempt, self._random))
            try:
                await self._connect()
            except Refused as exc:
                self.link.down(f"refused: {exc}")
                log.error("feishu: Feishu refused the long connection (%s): giving up", exc)
                return False
            except Exception as exc:
                self.link.down(_describe(exc))
            else:
                self.link.up()
                return True
            attempt += 1

    async def _connect(self) -> None:
        import aiohttp

        url = await self._endpoint()
        query = parse_qs(urlsplit(url).query)
        try:
            service_id = int(query["service_id"][0])
        except (KeyError, ValueError):
            raise _TryAgain("the endpoint's URL has no service_id") from None
        assert self._session is not None
        try:
            async with asyncio.timeout(self._timeout):
                ws = await self._session.ws_connect(
                    url,
                    heartbeat=WS_KEEPALIVE,
                    timeout=aiohttp.ClientWSTimeout(ws_close=min(self._timeout, 5.0)),
                )
        except aiohttp.WSServerHandshakeError as exc:
            raise _handshake_error(exc) from None
        self._ws, self._service_id = ws, service_id
        self._conn_id = query.get("device_id", [""])[0]
        self.connections += 1
        log.debug("feishu: long connection up [conn_id=%s]", self._conn_id)
        self._pinger = asyncio.create_task(self._ping_loop(), name="feishu-long-connection-ping")

    async def _endpoint(self) -> str:
        """The WebSocket URL (and the client config) from Feishu's endpoint call."""
        import aiohttp

        if not (self._app_id and self._app_secret):
            raise Refused(_NO_CREDENTIAL, "app_id and app_secret are required")
        assert self._session is not None
        async with self._session.post(
            self._base_url + ENDPOINT_PATH,
            json={"AppID": self._app_id, "AppSecret": self._app_secret},
            headers={"locale": "zh", "User-Agent": USER_AGENT},
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        ) as resp:
            raw = await resp.read()
            status = resp.status
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        answer: dict[str, Any] = body if isinstance(body, dict) else {}
        msg = mask(str(answer.get("msg") or "system busy"), [self._app_secret])
        if status != 200 or not answer:
            raise _TryAgain(f"endpoint HTTP {status}: {msg}")
        code = answer.get("code")
        if code in (_SYSTEM_BUSY, _INTERNAL_ERROR):
            raise _TryAgain(f"endpoint code {code}: {msg}")
        if code != _OK:
            raise Refused(code if isinstance(code, int) else -1, msg)
        data = answer.get("data")
        data = data if isinstance(data, dict) else {}
        self.config.update(data.get("ClientConfig"))
        url = data.get("URL")
        if not isinstance(url, str) or not url:
            raise _TryAgain("the endpoint answered no URL")
        return url

    async def _disconnect(self) -> None:
        pinger, self._pinger = self._pinger, None
        if pinger is not None:
            pinger.cancel()
            await asyncio.gather(pinger, return_exceptions=True)
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # --- frames -----------------------------------------------------------------------

    async def _ping_loop(self) -> None:
        while True:
            ping = Frame(service=self._service_id, method=CONTROL, headers=(("type", "ping"),))
            try:
                await self._send(ping.encode())
            except Exception as exc:  # the receive loop notices a dead connection
                log.debug("feishu: ping failed: %s", _describe(exc))
            await self._sleep(max(self.config.ping_interval, MIN_PING_INTERVAL))

    async def _receive(self) -> None:
        import aiohttp

        ws = self._ws
        assert ws is not None
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self._on_frame(message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    log.warning("feishu: long connection error: %s", ws.exception())
                    return
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("feishu: long connection failed: %s", _describe(exc))

    def _on_frame(self, data: bytes) -> None:
        try:
            frame = Frame.decode(data)
        except ValueError as exc:
            log.warning("feishu: unreadable long-connection frame ignored: %s", exc)
            return
        kind = frame.header("type")
        if frame.method == CONTROL:
            if kind == "pong" and frame.payload:
                try:
                    self.config.update(json.loads(frame.payload))
                except ValueError:
                    log.debug("feishu: pong with an unreadable config ignored")
            return
        if frame.method != DATA:
            return
        message_id, total, seq = (
            frame.header("message_id"),
            frame.header("sum"),
            frame.header("seq"),
        )
        if message_id is None or frame.header("trace_id") is None or kind is None:
            log.warning("feishu: data frame without its headers ignored")
            return
        try:
            parts, index = int(total or ""), int(seq or "")
        except ValueError:
            log.warning("feishu: data frame with unreadable sum/seq ignored")
            return
        payload = frame.payload or b""
        if parts > 1:
            combined = self._combine(message_id, parts, index, payload)
            if combined is None:
                return
            payload = combined
        if kind != "event":
            # lark-oapi answers only events ("card" is the old card callback).
            log.info("feishu: long-connection %s frame ignored", kind)
            return
        task = asyncio.create_task(self._answer(frame, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _combine(self, message_id: str, total: int, seq: int, part: bytes) -> bytes | None:
        """The whole payload once every part of `message_id` is in, else None."""
        now = time.monotonic()
        for stale in [k for k, (t, _) in self._parts.items() if now - t > PARTS_TTL]:
            del self._parts[stale]
        if not 0 <= seq < total:
            log.warning("feishu: data frame part %d of %d ignored", seq, total)
            return None
        entry = self._parts.get(message_id)
        parts: list[bytes | None] = (
            entry[1] if entry is not None and len(entry[1]) == total else [None] * total
        )
        parts[seq] = part
        if any(p is None for p in parts):
            self._parts[message_id] = (now, parts)
            return None
        self._parts.pop(message_id, None)
        return b"".join(p for p in parts if p is not None)

    async def _answer(self, frame: Frame, payload: bytes) -> None:
        started = time.monotonic()
        headers: tuple[tuple[str, str], ...] = frame.headers
        answer: dict[str, Any] = {"code": 200}
        try:
            result = await self._handler(payload)
        except Exception:
            log.exception(
                "feishu: long-connection event failed (message_id=%s, trace_id=%s)",
                frame.header("message_id"),
                frame.header("trace_id"),
            )
            answer = {"code": 500}
        else:
            took = round((time.monotonic() - started) * 1000)
            headers = (*headers, ("biz_rt", str(took)))
            if result is not None:
                data = json.dumps(result, ensure_ascii=False).encode()
                answer["data"] = base64.b64encode(data).decode("ascii")
        reply = replace(frame, headers=headers, payload=json.dumps(answer).encode())
        try:
            await self._send(reply.encode())
        except Exception as exc:  # Feishu redelivers what was not acknowledged
            log.warning("feishu: could not acknowledge an event: %s", _describe(exc))

    async def _send(self, data: bytes) -> None:
        async with self._send_lock:
            ws = self._ws
            if ws is None or ws.closed:
                raise ConnectionError("the long connection is closed")
            await ws.send_bytes(data)


def _handshake_error(exc: aiohttp.WSServerHandshakeError) -> Exception:
    """lark's reading of a refused WebSocket handshake: final or worth another try."""
    headers: Mapping[str, str] = exc.headers or {}
    status, msg = headers.get("handshake-status"), headers.get("handshake-msg")
    try:
        code = int(status) if status is not None and msg is not None else None
        auth = headers.get("handshake-autherrcode")
        too_many = code == _AUTH_FAILED and auth is not None and int(auth) == _EXCEED_CONN_LIMIT
    except ValueError:
        code, too_many = None, False
    if code is not None and (code == _FORBIDDEN or too_many):
        return Refused(code, str(msg))
    return _TryAgain(f"WebSocket handshake refused: HTTP {exc.status} {msg or exc.message}")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
