"""`paperdrop worker`: one process of the fleet that runs the queue's jobs.

    arq Worker (PAPERDROP_WORKER_JOBS at once) ── push_chats / answer (bot/runtime/queue.py)
    one sender per platform, all behind the fleet's Redis rate limiter
    HTTP: GET /healthz, GET /readyz (Redis answers, not stopping), GET /metrics

Shutdown (SIGTERM, Ctrl-C): take no new job; a push finishes the part it is sending,
records it and hands the rest of its chunk back to the queue for another worker; answers
in flight get `shutdown_grace` seconds; what is still running then is cancelled, and arq
runs it again elsewhere.

Redis restarting: arq's job loop fails under it; it is started again with capped
exponential backoff (`keep_running`) instead of the worker exiting (and its supervisor
restarting it in a loop), the outage said once and the recovery once. Jobs in flight
wait for Redis where they need it (bot/delivery/) and go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from arq.worker import Worker
from prometheus_client.aiohttp import make_aiohttp_handler
from redis.exceptions import RedisError

from bot.chat.conversation import Conversation
from bot.core.observability import REGISTRY, configure_hashing, set_queue_depth
from bot.core.ports import Sender
from bot.core.reconnect import Backoff, Link, Sleep, nap_until
from bot.delivery.build import BriefBuilder, timed_builder
from bot.platforms import PLATFORMS
from bot.runtime.jobs import POLL_DELAY, WorkerState, make_worker
from bot.runtime.queue import JobQueue, fleet_command_limiter, fleet_limiter
from digest.clients import close_clients
from digest.errors import ConfigError
from digest.models import Platform
from digest.pipeline import build_brief
from digest.settings import Settings
from digest.store.base import Store

__all__ = ["RunningWorker", "keep_running", "start_worker", "stop_worker"]

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
# arq's job loop, started again after Redis failed under it: 1 s doubling to 30 s.
JOB_LOOP_BACKOFF = Backoff(base=1.0, cap=30.0)


@dataclass
class RunningWorker:
    state: WorkerState
    worker: Worker
    task: asyncio.Task[Any]
    http: web.AppRunner | None = None
    address: tuple[str, int] | None = None
    errors: list[str] = field(default_factory=list)  # platforms that cannot send
    owned: list[Sender] = field(default_factory=list)
    stopping: bool = False
    link: Link = field(default_factory=lambda: Link("worker", "job loop", logger=log))

    @property
    def platforms(self) -> list[Platform]:
        return list(self.state.senders)


WORKER: web.AppKey[RunningWorker] = web.AppKey("worker", RunningWorker)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _readyz(request: web.Request) -> web.Response:
    running = request.app[WORKER]
    reasons: list[str] = []
    if running.stopping:
        reasons.append("shutting down")
    if running.task.done():
        reasons.append("the job loop ended")
    elif running.link.up_now is False:
        reasons.append(f"job loop waiting for Redis: {running.link.reason}")
    try:
        alive = await asyncio.wait_for(running.state.queue.ping(), READY_TIMEOUT)
    except TimeoutError:
        alive = False
    if not alive:
        reasons.append("redis: no answer")
    body: dict[str, Any] = {"ok": not reasons, "platforms": running.platforms}
    if reasons:
        body["reasons"] = reasons
    return web.json_response(body, status=503 if reasons else 200)


def _metrics() -> Any:
    export = make_aiohttp_handler(REGISTRY)

    async def metrics(request: web.Request) -> web.StreamResponse:
        with contextlib.suppress(Exception):
            depth = await asyncio.wait_for(request.app[WORKER].state.queue.depth(), READY_TIMEOUT)
            set_queue_depth(depth)
        return await export(request)

    return metrics


async def start_worker(
    settings: Settings,
    store: Store,
    *,
    senders: Mapping[Platform, Sender] | None = None,
    builder: BriefBuilder = build_brief,
    poll_delay: float = POLL_DELAY,
    http: bool = True,
    queue: JobQueue | None = None,
) -> RunningWorker:
    """Start the job loop (and the HTTP server); raises ConfigError without Redis."""
    if not settings.redis_url and queue is None:
        raise ConfigError("paperdrop worker needs Redis: set PAPERDROP_REDIS_URL")
    configure_hashing(settings.log_salt.get_secret_value() if settings.log_salt else None)
    queue = queue or JobQueue.from_settings(settings)
    limiter = fleet_limiter(settings, queue)
    available: dict[Platform, Sender] = dict(senders or {})
    errors: list[str] = []
    owned: list[Sender] = []
    for name, adapter in PLATFORMS.items():
        if name in available or not adapter.configured(settings):
            continue
        try:
            made = adapter.make_sender(settings, limiter=limiter, sleep=asyncio.sleep)
        except ConfigError as exc:
            errors.append(f"{adapter.title}: {exc}")
            continue
        available[name] = made
        owned.append(made)
    state = WorkerState(
        settings=settings,
        store=store,
        queue=queue,
        senders=available,
        limiter=limiter,
        conversation=Conversation(
            settings, store, command_limiter=fleet_command_limiter(settings, queue)
        ),
        builder=timed_builder(builder),
    )
    worker = make_worker(state, poll_delay=poll_delay)
    link = Link("worker", "job loop", logger=log)
    task = asyncio.create_task(keep_running(worker, link, state.stop))
    running = RunningWorker(state, worker, task, errors=errors, owned=owned, link=link)
    if http:
        app = web.Application()
        app[WORKER] = running
        app.router.add_get("/healthz", _healthz)
        app.router.add_get("/readyz", _readyz)
        app.router.add_get("/metrics", _metrics())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        running.http = runner
        host, port = runner.addresses[0][:2]
        running.address = (str(host), int(port))
    return running


async def keep_running(
    worker: Worker,
    link: Link,
    stop: asyncio.Event,
    *,
    backoff: Backoff = JOB_LOOP_BACKOFF,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """arq's job loop (`worker.main()`), started again with backoff whenever Redis fails
    under it, until `stop` is set; a bug in it is logged with its traceback and the loop
    started again the same way (a worker never exits on its own)."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        link.up()  # main() reached Redis (it asked for INFO) and is about to poll

    worker.on_startup = on_startup
    attempt = 0
    while not stop.is_set():
        try:
            await worker.main()
            return
        except (RedisError, OSError) as exc:
            if link.up_now:
                attempt = 0  # it ran fine until now: the first wait is short again
            link.down(f"{exc.__class__.__name__}: {exc}")
        except Exception:
            log.exception("worker: the job loop failed; starting it again")
            link.down("the job loop failed")
        if await nap_until(stop, backoff.delay(attempt), sleep):
            return
        attempt += 1


async def stop_worker(running: RunningWorker, *, grace: float) -> None:
    """Shut down in order (see the module docstring); returns within about `grace` s."""
    running.stopping = True
    worker = running.worker
    worker.allow_pick_jobs = False
    running.state.stop.set()  # pushes stop between parts and hand their chunk back
    in_flight = [t for t in worker.tasks.values() if not t.done()]
    if in_flight:
        await asyncio.wait(in_flight, timeout=grace)
    # What is left is cancelled; arq runs it again on another worker. (Not Worker.close():
    # it closes the pool with a call redis-py 5 deprecates.)
    worker.handle_sig(signal.SIGTERM)
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    running.task.cancel()  # the poll loop (started by us, so arq does not cancel it)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await running.task
    with contextlib.suppress(Exception):
        await running.state.queue.redis.delete(worker.health_check_key)
    await running.state.queue.close()
    if running.state.conversation is not None:
        await running.state.conversation.close(0)
    if running.http is not None:
        await running.http.cleanup()
    for sender in running.owned:
        with contextlib.suppress(Exception):
            await sender.aclose()
    await close_clients()  # the process's LLM client and HTTP pool (digest.clients)
