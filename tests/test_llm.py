"""OpenAILLM through the real openai SDK against the local fake server."""

from __future__ import annotations

import asyncio
import json
import math
import traceback
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel

from digest.errors import LLMError
from digest.llm import LLMCallError, OpenAILLM, make_llm, usage_of
from digest.settings import Settings
from tests.fakes.llm_server import FakeLLMServer, tokens

KEY = "sk-test-0123456789abcdef"
ECHO = "TASK: echo\nReturn the user's JSON object."


class Pair(BaseModel):
    word: str
    count: int


def settings_for(srv: FakeLLMServer, **extra: object) -> Settings:
    values: dict[str, object] = {
        "llm_base_url": srv.base_url,
        "llm_api_key": KEY,
        "llm_model": "fake-model",
        "embeddings_model": None,
        "llm_timeout": 10.0,
    }
    values.update(extra)
    # model_validate reads no environment or .env: the test sees only these values.
    return Settings.model_validate(values)


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
async def llm(server: FakeLLMServer) -> AsyncIterator[OpenAILLM]:
    client = OpenAILLM(settings_for(server))
    yield client
    await client.aclose()


async def test_valid_answer_is_parsed_and_usage_counted(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    user = json.dumps({"word": "agent", "count": 3})
    answer, usage = await llm.complete_json(system=ECHO, user=user, schema=Pair, max_tokens=50)
    assert answer == Pair(word="agent", count=3)
    assert usage.calls == 1
    (call,) = server.calls
    assert (usage.prompt_tokens, usage.completion_tokens) == (call[1], call[2])
    assert usage.prompt_tokens == tokens(ECHO + user)
    body = server.requests[0]
    assert body["response_format"] == {"type": "json_object"}
    assert body["model"] == "fake-model"
    assert body["max_tokens"] == 50
    assert llm.usage == usage


async def test_malformed_then_valid_is_retried_once(server: FakeLLMServer, llm: OpenAILLM) -> None:
    server.fail_next("malformed")
    user = json.dumps({"word": "memory", "count": 7})
    answer, usage = await llm.complete_json(system=ECHO, user=user, schema=Pair)
    assert answer.count == 7
    assert usage.calls == 2
    assert usage.prompt_tokens == sum(c[1] for c in server.calls)
    assert usage.completion_tokens == sum(c[2] for c in server.calls)
    retry = server.requests[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert "not valid" in retry[-1]["content"]


async def test_malformed_twice_raises_with_usage(server: FakeLLMServer, llm: OpenAILLM) -> None:
    server.fail_next("malformed", 2)
    with pytest.raises(LLMError) as info:
        await llm.complete_json(system=ECHO, user='{"word": "x", "count": 1}', schema=Pair)
    assert "after a retry" in str(info.value)
    assert len(server.calls) == 2
    assert usage_of(info.value).calls == 2
    assert llm.usage.calls == 2
    assert llm.usage.completion_tokens == sum(c[2] for c in server.calls) > 0


async def test_wrong_shape_twice_names_the_field(server: FakeLLMServer, llm: OpenAILLM) -> None:
    server.fail_next("invalid", 2)
    with pytest.raises(LLMError, match="word"):
        await llm.complete_json(system=ECHO, user='{"word": "x", "count": 1}', schema=Pair)


async def test_fenced_json_is_accepted(server: FakeLLMServer, llm: OpenAILLM) -> None:
    server.fail_next("fenced")
    answer, usage = await llm.complete_json(
        system=ECHO, user='{"word": "fence", "count": 2}', schema=Pair
    )
    assert answer.word == "fence"
    assert usage.calls == 1


async def test_wrong_key_gives_one_line_error_without_the_key() -> None:
    async with FakeLLMServer(api_key="sk-the-server-expects-this") as srv:
        client = OpenAILLM(settings_for(srv))
        try:
            with pytest.raises(LLMError) as info:
                await client.complete_json(system=ECHO, user="{}", schema=Pair)
        finally:
            await client.aclose()
    message = str(info.value)
    assert message == "LLM authentication failed (HTTP 401): check PAPERDROP_LLM_API_KEY"
    shown = "".join(traceback.format_exception(info.value))
    assert KEY not in shown
    assert KEY not in repr(client)
    assert len(srv.calls) == 1  # 401 is not retried


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("500", "LLM server error (HTTP 500)"), ("429", "rate limit")],
)
async def test_server_errors_become_llm_errors(
    server: FakeLLMServer, llm: OpenAILLM, kind: str, expected: str
) -> None:
    server.fail_next(kind, 2)  # type: ignore[arg-type]
    with pytest.raises(LLMError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        await llm.complete_json(system=ECHO, user='{"word": "x", "count": 1}', schema=Pair)
    assert len(server.calls) == 2  # the SDK retried once (max_retries=1)


async def test_one_server_error_is_absorbed_by_the_sdk_retry(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    server.fail_next("500")
    answer, _ = await llm.complete_json(system=ECHO, user='{"word": "ok", "count": 1}', schema=Pair)
    assert answer.word == "ok"


async def test_concurrency_is_bounded_by_the_semaphore() -> None:
    async with FakeLLMServer(api_key=KEY) as srv:
        client = OpenAILLM(settings_for(srv, llm_concurrency=2))
        srv.gate = asyncio.Event()
        user = '{"word": "x", "count": 1}'
        tasks = [
            asyncio.ensure_future(client.complete_json(system=ECHO, user=user, schema=Pair))
            for _ in range(6)
        ]
        await srv.wait_in_flight(2)
        for _ in range(200):  # give any request not held by the semaphore time to arrive
            await asyncio.sleep(0)
        srv.gate.set()
        results = await asyncio.gather(*tasks)
        await client.aclose()
    assert len(results) == 6
    assert srv.max_in_flight == 2


async def test_embeddings_are_deterministic_and_similar_texts_close(
    server: FakeLLMServer,
) -> None:
    client = OpenAILLM(settings_for(server, embeddings_model="fake-embed"))
    try:
        texts = [
            "agentic reinforcement learning for code agents",
            "reinforcement learning of code agents",
            "medical image segmentation with transformers",
        ]
        vectors, usage = await client.embed(texts)
        again, _ = await client.embed(texts)
    finally:
        await client.aclose()
    assert vectors == again
    assert len(vectors) == 3

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
            sum(x * x for x in a) * sum(y * y for y in b)
        )

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    assert usage.calls == 1
    assert usage.prompt_tokens == sum(tokens(t) for t in texts)
    assert server.requests[0]["model"] == "fake-embed"


async def test_embed_without_model_is_an_llm_error(llm: OpenAILLM) -> None:
    with pytest.raises(LLMError, match="EMBEDDINGS_MODEL"):
        await llm.embed(["x"])


async def test_make_llm_needs_a_key(server: FakeLLMServer) -> None:
    assert make_llm(settings_for(server, llm_api_key=None)) is None
    client = make_llm(settings_for(server))
    assert isinstance(client, OpenAILLM)
    assert client.model == "fake-model"
    await client.aclose()


def test_llm_call_error_is_an_llm_error() -> None:
    exc = LLMCallError("x", usage_of(ValueError()))
    assert isinstance(exc, LLMError)
    assert usage_of(exc).calls == 0
