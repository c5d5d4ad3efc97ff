"""`paperdrop serve` and `paperdrop worker`: the long-running processes, stopped gracefully
by SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.common import (
    FAILED,
    USAGE,
    Verbose,
    err_console,
    fail,
    load_settings,
    with_store,
)
from bot.cli.shared import out, stop_on_signals, warn
from bot.runtime.scheduler import Scheduler
from bot.runtime.serve import Service, run_service
from bot.runtime.worker import start_worker, stop_worker
from digest.store.base import Store


def serve(
    interval: Annotated[
        float,
        typer.Option(
            "--interval", help="Seconds between scheduler checks.", min=1.0, metavar="SECONDS"
        ),
    ] = 60.0,
    once: Annotated[
        bool, typer.Option("--once", help="Run the scheduler once and exit (for cron).")
    ] = False,
    _verbose: Verbose = False,
) -> None:
    """Run the bot: answer every platform whose credentials are set, and deliver each chat's
    brief at its local time (one replica schedules)."""

    settings = load_settings()

    async def go(store: Store) -> None:
        if once:
            scheduler = Scheduler(settings, store, interval=interval)
            tick = await scheduler.run_once()
            await store.release_lock("scheduler", scheduler.owner)
            state = "leader" if tick.leader else "another replica leads"
            out.print(f"{state}: {len(tick.due)} chat(s) due")
            for error in tick.errors:
                warn(error)
            return
        stop = asyncio.Event()
        stop_on_signals(stop, "paperdrop serve")

        def started(service: Service) -> None:
            where = f"{service.address[0]}:{service.address[1]}" if service.address else "-"
            talking = ", ".join(service.connected) or "no platform"
            if not service.platforms:
                talking += " (set a bot token)"
            err_console.print(
                f"[dim]serving on {where} (GET /healthz, /readyz); answering: {talking}; "
                f"scheduler checks every {interval:g}s[/]",
                markup=True,
            )
            for name, link in service.booting.items():
                if name not in service.started and name not in service.refused:
                    warn(
                        f"{name}: not connected yet ({link.reason}): trying again in the background"
                    )
            for error in service.errors:
                warn(error)

        try:
            await run_service(settings, store, interval=interval, stop=stop, on_started=started)
        except asyncio.CancelledError:
            err_console.print("abandoned")

    with_store(settings, go, wait_for_store=not once)


def worker(_verbose: Verbose = False) -> None:
    """Run queue jobs (the morning fan-out, LLM-heavy answers) for a fleet of `serve`
    replicas with PAPERDROP_QUEUE=true; needs PAPERDROP_REDIS_URL. Run as many as you like."""

    settings = load_settings()
    if not settings.redis_url:
        fail("paperdrop worker needs Redis: set PAPERDROP_REDIS_URL", USAGE)

    async def go(store: Store) -> None:
        stop = asyncio.Event()
        stop_on_signals(stop, "paperdrop worker")
        running = await start_worker(settings, store)
        where = f"{running.address[0]}:{running.address[1]}" if running.address else "-"
        sending = ", ".join(running.platforms) or "no platform (set a bot token)"
        err_console.print(
            f"[dim]worker on {where} (GET /healthz); {settings.worker_jobs} job(s) at once; "
            f"sending to: {sending}[/]"
        )
        for error in running.errors:
            warn(error)
        try:
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, running.task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        finally:
            await stop_worker(running, grace=settings.shutdown_grace)
        if running.task.done() and not stop.is_set():
            fail("the job loop ended unexpectedly (see the log)", FAILED)

    with_store(settings, go, wait_for_store=True)
