"""The Discord fake enforces Discord's documented rules (PLATFORMS.md), so platform tests
against it mean something: limits, auth, rate-limit headers, webhook tokens, signatures."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from aiohttp import web
from Crypto.Signature import eddsa

from tests.fakes.discord_server import FakeDiscord


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(discord: FakeDiscord, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=discord.base_url,
        headers={"Authorization": f"Bot {token or discord.token}"},
    )


async def _post(discord: FakeDiscord, body: dict[str, Any], channel: str = "111") -> httpx.Response:
    async with _client(discord) as client:
        return await client.post(f"/channels/{channel}/messages", json=body)


async def test_a_message_within_the_limits_is_recorded_with_rate_limit_headers() -> None:
    async with FakeDiscord() as discord:
        response = await _post(
            discord,
            {
                "content": "x" * 2000,
                "embeds": [
                    {"title": "t", "description": "d", "fields": [{"name": "n", "value": "v"}]}
                ],
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "custom_id": "vote:up", "label": "👍"}
                        ],
                    }
                ],
                "allowed_mentions": {"parse": []},
            },
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-RateLimit-Bucket"]
        assert discord.in_channel("111")[0].custom_ids == ["vote:up"]
        assert discord.mass_mentions == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": "x" * 2001}, 50035),
        ({"embeds": [{"title": "t" * 257}]}, 50035),
        ({"embeds": [{"description": "d" * 4097}]}, 50035),
        ({"embeds": [{"description": "d"}] * 11}, 50035),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, 50035),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, 50035),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, 50035),
        (
            {
                "content": "a",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c" * 101}]}
                ],
            },
            50035,
        ),
        (
            {
                "content": "a",
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c"}] * 6}
                ],
            },
            50035,
        ),
        ({"content": ""}, 50006),
    ],
)
async def test_a_body_over_a_limit_is_refused_with_discord_s_code(
    body: dict[str, Any], code: int
) -> None:
    async with FakeDiscord() as discord:
        response = await _post(discord, body)
        assert response.status_code == 400
        assert response.json()["code"] == code
        assert discord.messages == []


async def test_a_wrong_token_gets_401_and_the_token_is_not_in_repr() -> None:
    async with FakeDiscord() as discord:
        async with _client(discord, token="nope") as client:
            response = await client.post("/channels/111/messages", json={"content": "hi"})
        assert response.status_code == 401
        assert discord.token not in repr(discord)


async def test_an_everyone_ping_without_allowed_mentions_is_flagged() -> None:
    async with FakeDiscord() as discord:
        await _post(discord, {"content": "hello @everyone"})
        await _post(discord, {"content": "hello @here", "allowed_mentions": {"parse": []}})
        assert [m.content for m in discord.mass_mentions] == ["hello @everyone"]


async def test_the_route_limit_answers_429_with_a_float_retry_after() -> None:
    clock = Clock()
    async with FakeDiscord(clock=clock, enforce_rate_limits=True) as discord:
        for _ in range(5):
            assert (await _post(discord, {"content": "hi"})).status_code == 200
        refused = await _post(discord, {"content": "hi"})
        assert refused.status_code == 429
        assert refused.json()["global"] is False
        assert refused.json()["retry_after"] == pytest.approx(5.0)
        assert int(refused.headers["Retry-After"]) == 5
        assert (await _post(discord, {"content": "hi"}, channel="222")).status_code == 200
        clock.now += 5.0
        assert (await _post(discord, {"content": "hi"})).status_code == 200


async def test_a_thread_starts_once_from_a_message() -> None:
    async with FakeDiscord() as discord:
        message = (await _post(discord, {"content": "pick 1"})).json()
        async with _client(discord) as client:
            path = f"/channels/111/messages/{message['id']}/threads"
            first = await client.post(path, json={"name": "Pick 1"})
            second = await client.post(path, json={"name": "Pick 1"})
            long = await client.post("/channels/111/messages/999/threads", json={"name": "x"})
        assert first.status_code == 200 and first.json()["parent_id"] == "111"
        assert second.json()["code"] == 160004
        assert long.json()["code"] == 10008
        thread = first.json()["id"]
        assert thread == message["id"]  # as on Discord: the thread has the message's id
        assert (await _post(discord, {"content": "in thread"}, channel=thread)).status_code == 200
        assert discord.in_channel(thread)[0].content == "in thread"


async def test_interaction_webhooks_expire_after_15_minutes() -> None:
    clock = Clock()
    async with FakeDiscord(clock=clock) as discord:
        payload = discord.slash_command("paper", {"id": "2605.29559"}, channel_id="333")
        hook = f"{discord.base_url}/webhooks/{discord.application_id}/{payload['token']}"
        async with httpx.AsyncClient() as client:
            original = await client.patch(f"{hook}/messages/@original", json={"content": "card"})
            follow = await client.post(hook, json={"content": "only you", "flags": 64})
            unknown = await client.post(hook + "x", json={"content": "?"})
            clock.now += 15 * 60
            expired = await client.post(hook, json={"content": "late"})
        assert original.status_code == 200 and follow.status_code == 200
        assert [m.content for m in discord.replies_to(payload)] == ["card", "only you"]
        assert discord.replies_to(payload)[1].ephemeral
        assert unknown.json()["code"] == 10015
        assert expired.status_code == 401 and expired.json()["code"] == 50027


async def test_slash_commands_are_replaced_and_checked_as_discord_checks_them() -> None:
    async with FakeDiscord() as discord, _client(discord) as client:
        path = f"/applications/{discord.application_id}/commands"
        good = [{"name": "paper", "type": 1, "description": "A paper's card"}]
        ok = await client.put(path, json=good)
        bad = await client.put(path, json=[{"name": "Bad Name", "description": ""}])
        other = await client.put("/applications/1/commands", json=good)
    assert ok.status_code == 200 and [c["name"] for c in discord.commands] == ["paper"]
    assert bad.json()["code"] == 50035 and set(bad.json()["errors"]) == {"0.name", "0.description"}
    assert other.status_code == 403


async def test_a_deferred_reply_can_be_deleted() -> None:
    async with FakeDiscord() as discord:
        payload = discord.slash_command("paper", {"id": "2605.29559"}, thread_of="222")
        hook = f"{discord.base_url}/webhooks/{discord.application_id}/{payload['token']}"
        async with httpx.AsyncClient() as client:
            await client.patch(f"{hook}/messages/@original", json={"content": "thinking"})
            deleted = await client.delete(f"{hook}/messages/@original")
    assert deleted.status_code == 204 and discord.replies_to(payload) == []
    assert discord.deleted_originals == [payload["token"]]
    assert payload["channel"] == {"id": payload["channel_id"], "type": 11, "parent_id": "222"}


async def test_interactions_are_signed_so_a_verifier_can_tell_a_forgery() -> None:
    seen: list[bool] = []

    async def endpoint(request: web.Request) -> web.Response:
        body = await request.read()
        key = eddsa.import_public_key(bytes.fromhex(discord.public_key))
        try:
            eddsa.new(key, "rfc8032").verify(
                request.headers["X-Signature-Timestamp"].encode() + body,
                bytes.fromhex(request.headers["X-Signature-Ed25519"]),
            )
        except ValueError:
            seen.append(False)
            return web.Response(status=401, text="invalid request signature")
        seen.append(True)
        assert json.loads(body)["type"] == 1
        return web.json_response({"type": 1})

    app = web.Application()
    app.router.add_post("/discord/interactions", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FakeDiscord() as discord:
            url = f"http://127.0.0.1:{port}/discord/interactions"
            good = await discord.interact(url, discord.ping())
            forged = await discord.interact(url, discord.ping(), forge=True)
    finally:
        await runner.cleanup()
    assert good.status == 200 and good.body == {"type": 1}
    assert forged.status == 401
    assert seen == [True, False]
