"""get_json: bounded, deterministic retries and one-line reasons (httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable

import httpx
import pytest

from digest.errors import SourceError
from digest.sources.http import MAX_BACKOFF, RateLimited, backoff, get_json

URL = "https://hf.test/api/daily_papers"
SECRET = "ghp_supersecret123"

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def scripted(*steps: httpx.Response | Exception) -> tuple[list[httpx.Request], Handler]:
    """A handler answering each request with the next step (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = steps[min(len(seen), len(steps)) - 1]
        if isinstance(step, Exception):
            raise step
        return step

    return seen, handler


async def fetch(handler: Handler, sleeps: Sleeps, **kwargs: object) -> object:
    options: dict[str, object] = {"retries": 2, "max_retry_after": 120.0}
    options.update(kwargs)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await get_json(client, URL, source="Hugging Face", sleep=sleeps, **options)  # type: ignore[arg-type]


async def test_returns_decoded_json_and_sends_params() -> None:
    seen, handler = scripted(httpx.Response(200, json=[{"paper": {"id": "2605.06651"}}]))
    sleeps = Sleeps()
    data = await fetch(handler, sleeps, params={"date": "2026-05-08", "limit": "100"})
    assert data == [{"paper": {"id": "2605.06651"}}]
    assert seen[0].url.params["date"] == "2026-05-08"
    assert seen[0].url.params["limit"] == "100"
    assert sleeps.calls == []


async def test_429_retry_after_seconds_is_honoured() -> None:
    seen, handler = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": True})
    )
    sleeps = Sleeps()
    assert await fetch(handler, sleeps) == {"ok": True}
    assert sleeps.calls == [7.0]
    assert len(seen) == 2


async def test_retry_after_http_date_is_honoured() -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    stamp = email.utils.format_datetime(when, usegmt=True)
    _, handler = scripted(
        httpx.Response(503, headers={"Retry-After": stamp}), httpx.Response(200, json=[])
    )
    sleeps = Sleeps()
    assert await fetch(handler, sleeps) == []
    assert len(sleeps.calls) == 1
    assert 50 < sleeps.calls[0] <= 60


async def test_retry_after_too_long_gives_up_at_once() -> None:
    seen, handler = scripted(httpx.Response(429, headers={"Retry-After": "600"}))
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as info:
        await fetch(handler, sleeps, max_retry_after=120.0)
    assert info.value.source == "Hugging Face"
    assert info.value.reason == "HTTP 429 rate limited (Retry-After 600 s)"
    assert len(seen) == 1
    assert sleeps.calls == []


async def test_timeouts_are_retried_with_exponential_backoff() -> None:
    seen, handler = scripted(httpx.ReadTimeout("slow"))
    sleeps = Sleeps()
    with pytest.raises(SourceError) as info:
        await fetch(handler, sleeps, retries=2)
    assert info.value.reason == "timed out after 3 attempts"
    assert len(seen) == 3
    assert sleeps.calls == [1.0, 2.0]


async def test_5xx_then_success() -> None:
    seen, handler = scripted(
        httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"n": 1})
    )
    sleeps = Sleeps()
    assert await fetch(handler, sleeps, retries=3) == {"n": 1}
    assert len(seen) == 3
    assert sleeps.calls == [1.0, 2.0]


async def test_persistent_5xx_reports_status_and_attempts() -> None:
    seen, handler = scripted(httpx.Response(503))
    sleeps = Sleeps()
    with pytest.raises(SourceError) as info:
        await fetch(handler, sleeps, retries=2)
    assert str(info.value) == "Hugging Face: HTTP 503 after 3 attempts"
    assert len(seen) == 3


async def test_connection_errors_are_retried_then_reported() -> None:
    seen, handler = scripted(httpx.ConnectError("[Errno 111] Connection refused"))
    sleeps = Sleeps()
    with pytest.raises(SourceError) as info:
        await fetch(handler, sleeps, retries=1)
    assert info.value.reason == "connection failed after 2 attempts (ConnectError)"
    assert len(seen) == 2
    assert sleeps.calls == [1.0]


async def test_malformed_json_is_an_error_without_retry() -> None:
    seen, handler = scripted(httpx.Response(200, text="<html>oops</html>"))
    sleeps = Sleeps()
    with pytest.raises(SourceError) as info:
        await fetch(handler, sleeps)
    assert info.value.reason == "malformed JSON"
    assert len(seen) == 1


async def test_404_is_none_when_allowed_else_an_error() -> None:
    _, handler = scripted(httpx.Response(404, json={"error": "not found"}))
    assert await fetch(handler, Sleeps(), not_found_ok=True) is None
    seen, handler = scripted(httpx.Response(404, json={"error": "not found"}))
    with pytest.raises(SourceError) as info:
        await fetch(handler, Sleeps())
    assert info.value.reason == "HTTP 404"
    assert len(seen) == 1  # a 404 is an answer, not worth a retry


async def test_quota_exhausted_stops_without_waiting_and_hides_the_token() -> None:
    reset = int(dt.datetime(2026, 5, 8, 9, 14, tzinfo=dt.UTC).timestamp())
    seen, handler = scripted(
        httpx.Response(
            403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
            json={"message": "API rate limit exceeded"},
        )
    )
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as info:
        await fetch(handler, sleeps, headers={"Authorization": f"Bearer {SECRET}"})
    assert info.value.reason == "HTTP 403 rate limited, resets at 09:14 UTC"
    assert SECRET not in str(info.value)
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert len(seen) == 1
    assert sleeps.calls == []


async def test_zero_retries_means_one_attempt() -> None:
    seen, handler = scripted(httpx.Response(500))
    with pytest.raises(SourceError) as info:
        await fetch(handler, Sleeps(), retries=0)
    assert info.value.reason == "HTTP 500 after 1 attempt"
    assert len(seen) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(i) for i in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(20) == MAX_BACKOFF
