"""The process's shared clients (digest.clients): one LLM client and one HTTP pool per
event loop, reused by every build and command, closed with the loop or at shutdown; and
builds under the PAPERDROP_BUILD_CONCURRENCY gate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.chat.conversation import Conversation
from digest.clients import build_gate, close_clients, shared_http, shared_llm
from digest.models import Brief, Language
from digest.pipeline import build_brief, http_client
from digest.profile import Profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore
from tests.fakes.llm_server import FakeLLMServer

KEY = "sk-shared-clients"


def settings_for(srv: FakeLLMServer | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "llm_base_url": srv.base_url if srv is not None else "http://127.0.0.1:9/v1",
        "llm_api_key": KEY,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def reader(n: int, language: Language = "en") -> Profile:
    interests = [["LLM agents", "agent memory"], ["diffusion models"], ["reasoning"]][n % 3]
    return Profile(name=f"reader{n}", language=language, interests=interests)


@pytest.fixture
async def store() -> AsyncIterator[SQLiteStore]:
    s = await SQLiteStore.open(":memory:")
    yield s
    await s.close()


async def build(settings: Settings, store: SQLiteStore, n: int, **kw: object) -> Brief:
    return await build_brief(
        settings,
        reader(n),
        SAMPLE_DATE,
        store=store,
        readers=[f"chat{n}"],
        sample=True,
        **kw,  # type: ignore[arg-type]
    )


async def test_every_build_goes_through_the_one_shared_llm_client(store: SQLiteStore) -> None:
    async with FakeLLMServer(api_key=KEY) as srv:
        settings = settings_for(srv)
        llm = shared_llm(settings)
        assert llm is not None and shared_llm(settings) is llm
        briefs = await asyncio.gather(*(build(settings, store, n) for n in range(3)))
        assert all(b.mode == "llm" for b in briefs)
        # Every call the server answered was made by this one client (it counts its own).
        assert srv.calls and llm.usage.calls == len(srv.calls)
        assert shared_llm(settings) is llm
        # Settings that shape the client get their own; the pool is shared whatever the LLM.
        other = shared_llm(settings.model_copy(update={"llm_model": "other-model"}))
        assert other is not None and other is not llm
        assert shared_http(settings) is shared_http(settings.model_copy(update={"llm_model": "x"}))
        await close_clients()


async def test_no_key_no_client() -> None:
    assert shared_llm(settings_for(llm_api_key=None)) is None


async def test_http_client_lends_the_pool_and_leaves_it_open() -> None:
    settings = settings_for()
    async with http_client(settings) as first:
        pass
    async with http_client(settings) as second:
        assert second is first and not first.is_closed
    assert first is shared_http(settings)
    await close_clients()


async def test_close_clients_closes_them_and_the_next_use_makes_new_ones() -> None:
    settings = settings_for()
    llm, pool = shared_llm(settings), shared_http(settings)
    assert llm is not None
    await close_clients()
    assert pool.is_closed
    assert llm._client.is_closed()
    again = shared_llm(settings)
    assert again is not None and again is not llm
    assert shared_http(settings) is not pool and not shared_http(settings).is_closed
    await close_clients()


def test_each_event_loop_has_its_own_clients_closed_when_it_ends() -> None:
    settings = settings_for()

    async def grab() -> tuple[object, object, asyncio.Semaphore]:
        return shared_llm(settings), shared_http(settings), build_gate(settings)

    llm_a, pool_a, gate_a = asyncio.run(grab())
    llm_b, pool_b, gate_b = asyncio.run(grab())
    assert llm_a is not llm_b and pool_a is not pool_b and gate_a is not gate_b
    for pool in (pool_a, pool_b):
        assert getattr(pool, "is_closed", False)  # closed as asyncio.run ended its loop
    for llm in (llm_a, llm_b):
        assert llm._client.is_closed()  # type: ignore[attr-defined]


async def test_builds_wait_their_turn_at_the_gate(store: SQLiteStore) -> None:
    async with FakeLLMServer(api_key=KEY) as srv:
        srv.gate = asyncio.Event()  # every LLM answer is held until the test lets it go
        # json_schema known: no call waits for another's probe of the endpoint (digest.llm).
        settings = settings_for(srv, build_concurrency=2, llm_structured="json_schema")
        entered: list[int] = []

        def progress(n: int) -> object:
            def say(message: str) -> None:
                if message == "loading the offline sample":  # the first step inside the gate
                    entered.append(n)

            return say

        builds = [
            asyncio.ensure_future(build(settings, store, n, progress=progress(n))) for n in range(5)
        ]
        # Two builds are at their first LLM call (the rerank), held by the fake.
        await srv.wait_in_flight(2)
        assert build_gate(settings).locked()
        assert sorted(entered) == [0, 1]  # the other three are waiting at the gate
        srv.gate.set()
        briefs = await asyncio.gather(*builds)
        assert sorted(entered) == [0, 1, 2, 3, 4]
        assert [b.reader for b in briefs] == [f"reader{n}" for n in range(5)]
        assert all(b.mode == "llm" for b in briefs)
        await close_clients()


async def test_the_conversation_answers_with_the_shared_client_and_leaves_it_open(
    store: SQLiteStore,
) -> None:
    settings = settings_for()
    conversation = Conversation(settings, store)
    llm = conversation.llm
    assert llm is not None and llm is shared_llm(settings)
    await conversation.close(0)
    # Closing the conversation leaves the process's client to the builds and commands.
    assert not llm._client.is_closed()
    assert shared_llm(settings) is llm
    await close_clients()
    assert llm._client.is_closed()


async def test_a_given_llm_stays_the_callers(store: SQLiteStore) -> None:
    given = shared_llm(settings_for(llm_model="given"))
    conversation = Conversation(settings_for(), store, llm=given)
    assert conversation.llm is given
    await close_clients()
