"""What the tests need (Redis, Chromium) is skipped with its reason when missing on a
developer's machine, and fails in CI: CI must never pass by skipping what it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOSED = "redis://127.0.0.1:9/0"  # nothing listens there


def _pytest(*args: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PAPERDROP_TEST_REDIS_URL"] = CLOSED
    if ci:
        env["CI"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_redis_is_skipped_with_its_reason_locally() -> None:
    done = _pytest("tests/bot/runtime/test_ratelimit_redis.py", "-k", "one_chat or fifo", ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 skipped" in done.stdout
    assert "needs a Redis server at redis://127.0.0.1:9/0" in done.stdout
    assert "redis-server" in done.stdout and "PAPERDROP_TEST_REDIS_URL" in done.stdout


def test_missing_redis_fails_in_ci() -> None:
    done = _pytest("tests/bot/runtime/test_ratelimit_redis.py", "-k", "one_chat or fifo", ci=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed" in done.stdout or "2 errors" in done.stdout, done.stdout
    assert "CI is set: a missing prerequisite fails" in done.stdout
