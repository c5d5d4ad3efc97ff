"""What the fault suite drives: real `paperdrop serve` and `paperdrop worker` processes,
a private Redis (append-only, on a free port, started and stopped at will), and waits
bounded by a deadline (every wait is for a condition, never a fixed sleep).

The platform and LLM fakes run in the test's own event loop; the processes reach them
through the settings' base URLs, exactly as they reach the real services.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from tests.waiting import eventually

__all__ = [
    "ROOT",
    "Outcome",
    "PrivateRedis",
    "Proc",
    "base_env",
    "eventually",
    "free_port",
]

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # seconds: the bound on any one wait of the suite


@dataclass
class Outcome:
    """One fault, as bench/faults.py reports it and the tests check it."""

    fault: str
    recovered_in: float | None  # seconds from the fault's end to the service being back
    lost: int  # messages or parts that never arrived
    repeated: int  # messages or parts that arrived more than once
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(tmp: Path, **settings: str) -> dict[str, str]:
    """The environment of a process under test: no PAPERDROP_/OPENAI_ variable of the
    machine's, nothing reachable by default, and `settings` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERDROP_", "OPENAI_"))}
    closed = "http://127.0.0.1:9"  # nothing listens: no test reaches the internet
    env.update(
        {
            "PAPERDROP_SQLITE_PATH": str(tmp / "store.sqlite3"),
            "PAPERDROP_REDIS_URL": "",
            "PAPERDROP_HTTP_HOST": "127.0.0.1",
            "PAPERDROP_HF_BASE_URL": closed,
            "PAPERDROP_ARXIV_API_URL": closed,
            "PAPERDROP_GITHUB_API_URL": closed,
            "PAPERDROP_HTTP_RETRIES": "0",
            "PAPERDROP_ARXIV_DELAY": "0",
            "PAPERDROP_ARXIV_HTML_URL": f"{closed}/html/",
            "PAPERDROP_ARXIV_PDF_URL": f"{closed}/pdf/",
            "PAPERDROP_ARXIV_FULLTEXT_INTERVAL": "0",
            "PAPERDROP_SHUTDOWN_GRACE": "3",
            "PAPERDROP_LANGUAGE": "en",
            "PTB_TIMEDELTA": "1",
        }
    )
    env.update(settings)
    return env


class PrivateRedis:
    """A redis-server of the test's own, append-only with fsync on every write (a
    restart loses nothing), on a free port; stopped and started again at will. Never the
    shared server on 6379."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await eventually(self._answers, f"redis-server on port {self.port}", 15)

    async def _answers(self) -> bool:
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(await client.ping())
        except (OSError, aioredis.RedisError):
            return False
        finally:
            await client.aclose()

    async def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (a clean shutdown), or SIGKILL (a crash: the AOF keeps every write)."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 15)

    async def __aenter__(self) -> PrivateRedis:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop(kill=True)


class Proc:
    """A `paperdrop` process (`serve`, `worker`), its log in a file, its HTTP address."""

    def __init__(self, name: str, env: Mapping[str, str], log: Path, *args: str) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "PAPERDROP_HTTP_PORT": str(self.port)}
        self.args = args
        self.log_path = log
        self.proc: asyncio.subprocess.Process | None = None
        self._log_file: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> Proc:
        """Launch it and wait until its HTTP server answers."""
        await self.launch()
        await eventually(self._listening, f"{self.name} listening")
        return self

    async def launch(self) -> Proc:
        """Launch it, without waiting for anything."""
        self._log_file = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            self.name,
            *self.args,
            env=self.env,
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._log_file,
        )
        return self

    async def _listening(self) -> bool:
        if not self.alive:
            raise AssertionError(f"{self.name} exited early:\n{self.log}")
        status, _ = await self.get("/healthz")
        return status == 200

    async def get(self, path: str) -> tuple[int, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
                http.get(self.base + path) as resp,
            ):
                body = await resp.json(content_type=None)
                return resp.status, body
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return 0, None

    async def ready(self) -> bool:
        status, _ = await self.get("/readyz")
        return status == 200

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, within: float = 20.0) -> int:
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), within)
        self._close_log()
        return code

    async def kill(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            await self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def count(self, text: str) -> int:
        """How many lines of the log contain `text`."""
        return sum(text in line for line in self.log.splitlines())
