"""`paperdrop serve`: one asyncio process that talks and delivers.

    receivers (one per platform with credentials) ─┐
    the morning scheduler (one replica leads)      ├─ one event loop, one Store
    one HTTP server: webhooks + probes + metrics   ┘

No public URL is needed by default: Telegram long-polls, Slack uses Socket Mode, Feishu
the long connection. Webhook modes add their routes to the one HTTP server
(`PAPERDROP_HTTP_HOST`:`PAPERDROP_HTTP_PORT`), which also answers:

- `GET /healthz` (liveness): 200 while the event loop answers at all;
- `GET /readyz` (readiness): 200 when the Store answers a cheap read within
  `READY_TIMEOUT` and every configured platform's receiver is connected (its `running`
  property); 503 with `{"ok": false, "reasons": [...]}` otherwise, naming the platform
  and why ("telegram: not connected: getUpdates: NetworkError: …"), and from the moment
  shutdown begins, so a load balancer stops sending;
- `GET /metrics`: the Prometheus registry of `bot.core.observability`.

A receiver that cannot connect at boot (the platform down, a DNS blip, a 5xx on getMe) is
tried again in the background with capped exponential backoff and jitter until it
connects; a running one that loses its connection reconnects the same way by itself
(`bot.core.reconnect`). Only a refusal that trying again cannot cure (a rejected token, a
ConfigError) stops the trying; /readyz then says so. Each change of state is logged once.

Shutdown (SIGTERM, Ctrl-C) runs in order: stop taking updates, let the push part being
sent finish and be recorded (no new part starts), give answers in flight
`shutdown_grace` seconds, then cancel what is left, close the HTTP server and the senders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.chat.conversation import Conversation
from bot.core.chat import ReceiverDeps
from bot.core.observability import (
    REGISTRY,
    configure_hashing,
    set_queue_depth,
    set_receiver_running,
)
from bot.core.platform import Receiver
from bot.core.ports import Sender
from bot.core.ratelimit import Limiter, RateLimiter
from bot.core.reconnect import RECEIVER_BACKOFF, Backoff, Link, keep_trying
from bot.platforms import PLATFORMS
from bot.runtime.queue import JobQueue, fleet_command_limiter, fleet_limiter
from bot.runtime.scheduler import Scheduler
from digest.clients import close_clients
from digest.errors import ConfigError, DeliveryError
from digest.models import Platform
from digest.redaction import known_secrets, scrub_line
from digest.settings import Settings
from digest.store.base import Store

__all__ = ["MAX_BODY", "READY_TIMEOUT", "Service", "readiness", "run_service"]

log = logging.getLogger(__name__)

# Seconds the Store gets to answer a readiness probe (Kubernetes' default probe timeout
# is 1 s, ours in deploy/k8s 3 s).
READY_TIMEOUT = 2.0
HEALTH_NS = "health"  # the Store namespace the readiness probe reads (never written)
MAX_BODY = 1024 * 1024  # bytes: the largest webhook request body accepted (else 413)


@dataclass
class Service:
    """The running parts of `serve`, for tests and for the CLI's status line."""

    settings: Settings
    store: Store
    conversation: Conversation
    senders: dict[Platform, Sender] = field(default_factory=dict)
    receivers: list[Receiver] = field(default_factory=list)
    scheduler: Scheduler | None = None
    http: web.AppRunner | None = None
    address: tuple[str, int] | None = None  # where the HTTP server listens
    errors: list[str] = field(default_factory=list)  # receivers that could not be made
    stopping: bool = False  # shutdown began: not ready any more
    jobs: JobQueue | None = None  # PAPERDROP_QUEUE: heavy work goes to the workers
    # Receivers connecting: their boot's state (down and why, while retried in the
    # background); started ones; refused ones (a ConfigError at start: not retried).
    booting: dict[str, Link] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    boot_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    boot_stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def platforms(self) -> list[str]:
        return [r.platform for r in self.receivers]

    @property
    def connected(self) -> list[str]:
        return [r.platform for r in self.receivers if receiver_running(self, r)]


SERVICE: web.AppKey[Service] = web.AppKey("service", Service)


def receiver_running(service: Service, receiver: Receiver) -> bool:
    """Whether a receiver takes events: started, and its `running` property when it has
    one (the connection up, not stopped)."""
    if receiver.platform not in service.started:
        return False
    running = getattr(receiver, "running", None)
    return running if isinstance(running, bool) else not service.stopping


def not_connected(service: Service, receiver: Receiver) -> str:
    """Why a configured platform takes no events now, for /readyz."""
    name = receiver.platform
    if name in service.refused:
        return f"{name}: not started: {service.refused[name]}"
    if name not in service.started:
        boot = service.booting.get(name)
        why = boot.reason if boot is not None else "starting"
        return f"{name}: not connected: {why}"
    link = getattr(receiver, "link", None)
    why = link.reason if isinstance(link, Link) and link.reason else "stopped"
    return f"{name}: not connected: {why}"


async def readiness(service: Service) -> list[str]:
    """Why this process should not get traffic now; [] when it is ready."""
    reasons: list[str] = []
    if service.stopping or not service.conversation.accepting:
        reasons.append("shutting down")
    try:
        await asyncio.wait_for(service.store.cache_get(HEALTH_NS, "readyz"), READY_TIMEOUT)
    except TimeoutError:
        reasons.append(f"store: no answer within {READY_TIMEOUT:g}s")
    except Exception as exc:
        detail = f"{exc.__class__.__name__}: {exc}"
        reasons.append("store: " + scrub_line(detail, known_secrets()))
    for receiver in service.receivers:
        running = receiver_running(service, receiver)
        set_receiver_running(receiver.platform, running)
        if not running:
            reasons.append(not_connected(service, receiver))
    return reasons


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _readyz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    reasons = await readiness(service)
    body: dict[str, Any] = {"ok": not reasons, "platforms": service.platforms}
    if reasons:
        body["reasons"] = reasons
    if service.errors:  # platforms that never started: reported, but not a reason
        body["not_started"] = service.errors
    return web.json_response(body, status=503 if reasons else 200)


def _metrics_handler() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    export = make_aiohttp_handler(REGISTRY)

    async def metrics(request: web.Request) -> web.StreamResponse:
        service = request.app[SERVICE]
        for receiver in service.receivers:
            set_receiver_running(receiver.platform, receiver_running(service, receiver))
        if service.jobs is not None:
            with contextlib.suppress(Exception):  # a scrape must answer even without Redis
                set_queue_depth(await asyncio.wait_for(service.jobs.depth(), READY_TIMEOUT))
        return await export(request)

    return metrics


async def start_service(
    settings: Settings,
    store: Store,
    *,
    interval: float = 60.0,
    stop: asyncio.Event,
    schedule: bool = True,
    senders: Mapping[Platform, Sender] | None = None,
    backoff: Backoff = RECEIVER_BACKOFF,
) -> tuple[Service, asyncio.Task[Any] | None]:
    """Start receivers, the HTTP server and the scheduler; return them running (a
    receiver that could not connect on its first try keeps trying in the background)."""
    configure_hashing(settings.log_salt.get_secret_value() if settings.log_salt else None)
    jobs = JobQueue.from_settings(settings) if settings.queue else None
    conversation = Conversation(
        settings,
        store,
        jobs=jobs,
        command_limiter=fleet_command_limiter(settings, jobs) if jobs is not None else None,
    )
    service = Service(settings, store, conversation, jobs=jobs)
    # In a fleet, serve's own sends (short answers) count against the platforms' limits
    # together with the workers'.
    limiter: Limiter = fleet_limiter(settings, jobs) if jobs is not None else RateLimiter()
    for name, adapter in PLATFORMS.items():
        if not adapter.configured(settings):
            continue
        sender = (senders or {}).get(name)
        if sender is None:
            try:
                sender = adapter.make_sender(settings, limiter=limiter, sleep=asyncio.sleep)
            except ConfigError as exc:
                service.errors.append(f"{adapter.title}: {exc}")
                continue
        service.senders[name] = sender
        try:
            receiver = adapter.make_receiver(ReceiverDeps(settings, store, conversation, sender))
        except ConfigError as exc:  # one platform's settings must not keep the others down
            service.errors.append(f"{adapter.title}: {exc}")
            continue
        if receiver is not None:
            service.receivers.append(receiver)

    # Events are small: a body over MAX_BODY is refused with 413 before any handler reads
    # it (aiohttp stops reading there), so a flood of huge posts costs a megabyte each.
    app = web.Application(client_max_size=MAX_BODY)
    app[SERVICE] = service
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics_handler())
    for receiver in service.receivers:
        for method, path, handler in receiver.routes():
            app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    service.http = runner
    host, port = runner.addresses[0][:2]
    service.address = (str(host), int(port))

    # Each platform's first try at once (all together); one that failed keeps trying.
    await asyncio.gather(*(_first_start(service, r, backoff) for r in service.receivers))

    task: asyncio.Task[Any] | None = None
    if schedule:
        service.scheduler = Scheduler(
            settings,
            store,
            interval=interval,
            senders=service.senders,
            limiter=limiter,
            queue=jobs,
        )
        task = asyncio.create_task(service.scheduler.serve(stop=stop))
    return service, task


async def _first_start(service: Service, receiver: Receiver, backoff: Backoff) -> None:
    """Start `receiver` once; if that failed for a passing reason, keep trying in the
    background (one platform's trouble never keeps the others down)."""
    name = receiver.platform
    link = service.booting[name] = Link(name, "receiver", logger=log)
    try:
        await receiver.start()
    except ConfigError as exc:
        _refused(service, receiver, exc)
        return
    except Exception as exc:
        link.down(_one_line(exc))
        task = asyncio.create_task(_keep_starting(service, receiver, link, backoff))
        service.boot_tasks.append(task)
        return
    _started(service, receiver)


async def _keep_starting(
    service: Service, receiver: Receiver, link: Link, backoff: Backoff
) -> None:
    try:
        done = await keep_trying(
            _started_once(receiver),
            link,
            stop=service.boot_stop,
            backoff=backoff,
            describe=_one_line,
            first_attempt=1,
        )
    except ConfigError as exc:
        _refused(service, receiver, exc)
        return
    if done:
        _started(service, receiver)


def _started_once(receiver: Receiver) -> Callable[[], Awaitable[bool]]:
    async def start() -> bool:
        await receiver.start()
        return True

    return start


def _started(service: Service, receiver: Receiver) -> None:
    service.started.add(receiver.platform)
    set_receiver_running(receiver.platform, True)


def _refused(service: Service, receiver: Receiver, exc: ConfigError) -> None:
    reason = scrub_line(str(exc), known_secrets())
    service.refused[receiver.platform] = reason
    service.errors.append(f"{receiver.platform}: {reason}")
    log.error("%s: receiver not started (not retried): %s", receiver.platform, reason)


def _one_line(exc: BaseException) -> str:
    """Why a start failed, on one line: a platform error's own reason, else the class
    and message; no secret in it."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, DeliveryError) and isinstance(reason, str):
        return scrub_line(reason, known_secrets())
    detail = " ".join(str(exc).split())
    text = f"{exc.__class__.__name__}: {detail}" if detail else exc.__class__.__name__
    return scrub_line(text, known_secrets())


async def stop_service(
    service: Service, scheduler_task: asyncio.Task[Any] | None, *, grace: float
) -> None:
    """Shut down in order (see the module docstring); returns within about `grace` s."""
    service.stopping = True  # /readyz answers 503 from now on
    service.boot_stop.set()  # receivers still connecting stop trying
    for task in service.boot_tasks:
        task.cancel()
    await asyncio.gather(*service.boot_tasks, return_exceptions=True)
    for receiver in service.receivers:
        try:
            await asyncio.wait_for(receiver.stop(), timeout=max(grace, 1.0))
        except Exception:
            log.exception("receiver %s did not stop cleanly", receiver.platform)
        set_receiver_running(receiver.platform, False)
    await service.conversation.close(grace)
    if scheduler_task is not None:
        # The push sees `stop` between parts: the part being sent is finished and recorded.
        done, _ = await asyncio.wait({scheduler_task}, timeout=grace)
        if not done:
            log.warning("shutdown: the push did not finish within %.1fs; abandoning it", grace)
            scheduler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await scheduler_task
    if service.http is not None:
        await service.http.cleanup()
    for sender in service.senders.values():
        with contextlib.suppress(Exception):
            await sender.aclose()
    if service.jobs is not None:
        with contextlib.suppress(Exception):
            await service.jobs.close()
    await close_clients()  # the process's LLM client and HTTP pool (digest.clients)


async def run_service(
    settings: Settings,
    store: Store,
    *,
    interval: float,
    stop: asyncio.Event,
    on_started: Callable[[Service], Awaitable[None] | None] | None = None,
) -> Service:
    """Serve until `stop` is set, then shut down in order."""
    service, task = await start_service(settings, store, interval=interval, stop=stop)
    try:
        if on_started is not None:
            result = on_started(service)
            if asyncio.iscoroutine(result):
                await result
        await stop.wait()
    finally:
        await stop_service(service, task, grace=settings.shutdown_grace)
    return service
