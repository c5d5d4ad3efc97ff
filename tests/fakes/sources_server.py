"""Local fakes of Hugging Face's papers API and GitHub's repos API, in their real shapes.

FakeHF serves `/api/daily_papers?date=` (items listed that day, from the real fixture by
default) and `/api/papers/{id}` (flat, 404 when unknown). FakeGitHub serves
`/repos/{owner}/{repo}` from a dict of repos. Both record requests and can be told to
fail (`fail_next(status, count, retry_after)`) or to be down (`down = True`: 503).
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["FIXTURE", "FakeGitHub", "FakeHF", "github_repo_json"]

FIXTURE = Path(__file__).resolve().parents[2] / "digest" / "data" / "hf-daily-2026-05-08.json"


class _Server:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.down = False
        self._fail: deque[tuple[int, str | None]] = deque()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def fail_next(self, status: int, count: int = 1, retry_after: str | None = None) -> None:
        self._fail.extend([(status, retry_after)] * count)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    @web.middleware
    async def _failures(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        if self.down:
            return web.json_response({"error": "down"}, status=503)
        if self._fail:
            status, retry_after = self._fail.popleft()
            headers = {"Retry-After": retry_after} if retry_after else {}
            return web.json_response({"error": "injected"}, status=status, headers=headers)
        response: web.StreamResponse = await handler(request)
        return response

    async def __aenter__(self) -> _Server:
        app = web.Application(middlewares=[self._failures])
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class FakeHF(_Server):
    def __init__(self, items: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.items = items if items is not None else json.loads(FIXTURE.read_text("utf-8"))

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/daily_papers", self._daily),
            web.get("/api/papers/{pid:.+}", self._paper),
        ]

    async def _daily(self, request: web.Request) -> web.Response:
        day = request.query.get("date", "")
        listed = [
            item
            for item in self.items
            if str(item["paper"].get("submittedOnDailyAt") or item["paper"]["publishedAt"])[:10]
            == day
        ]
        return web.json_response(listed)

    async def _paper(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        for item in self.items:
            if item["paper"]["id"] == pid:
                return web.json_response(item["paper"])
        return web.json_response({"error": "Paper not found"}, status=404)


def github_repo_json(
    full_name: str,
    stars: int,
    pushed_at: str = "2026-05-07T12:00:00Z",
    *,
    size: int = 2048,
    archived: bool = False,
) -> dict[str, Any]:
    return {
        "full_name": full_name,
        "html_url": f"https://github.com/{full_name}",
        "stargazers_count": stars,
        "watchers_count": stars,
        "pushed_at": pushed_at,
        "description": f"Code for {full_name.split('/')[1]}",
        "archived": archived,
        "size": size,  # KB; 0 for a repository nothing was pushed to
    }


class FakeGitHub(_Server):
    """`GET /repos/{owner}/{repo}` with GitHub's primary rate limit: after `limit` requests
    (60 an hour without a token) every request is refused with 403 and
    `X-RateLimit-Remaining: 0`, as GitHub does; `limit=None` never refuses."""

    RESET = 1_778_230_000  # the epoch second the window resets, as GitHub sends it

    def __init__(self, repos: dict[str, dict[str, Any]] | None = None, *, limit: int | None = None):
        super().__init__()
        self.repos = repos or {}
        self.limit = limit
        self.used = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/repos/{owner}/{repo}", self._repo)]

    def _headers(self) -> dict[str, str]:
        if self.limit is None:
            return {}
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(self.RESET),
        }

    async def _repo(self, request: web.Request) -> web.Response:
        if self.limit is not None and self.used >= self.limit:
            message = {"message": "API rate limit exceeded for 127.0.0.1."}
            return web.json_response(message, status=403, headers=self._headers())
        self.used += 1
        key = f"{request.match_info['owner']}/{request.match_info['repo']}".lower()
        for name, data in self.repos.items():
            if name.lower() == key:
                return web.json_response(data, headers=self._headers())
        return web.json_response({"message": "Not Found"}, status=404, headers=self._headers())

    @classmethod
    def for_fixture(cls) -> FakeGitHub:
        """Every repo the fixture links, with made-up but deterministic star counts."""
        items = json.loads(FIXTURE.read_text("utf-8"))
        repos = {}
        for n, item in enumerate(items):
            url = item["paper"].get("githubRepo")
            if url:
                name = "/".join(url.rstrip("/").split("/")[-2:])
                repos[name] = github_repo_json(name, stars=100 + 7 * n)
        return cls(repos)
