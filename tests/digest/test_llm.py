"""OpenAILLM through the real openai SDK against the local fake server."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import traceback
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, Field

from digest import asking, deeper, ranking, readernotes, summarize
from digest.errors import LLMError
from digest.llm import (
    LLMCallError,
    LLMHealth,
    OpenAILLM,
    forget_structured_support,
    make_llm,
    response_format_for,
    usage_of,
)
from digest.settings import Settings
from tests.fakes.llm_server import FakeLLMServer, schema_tokens, strict_problem, tokens

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


@pytest.fixture(autouse=True)
def fresh_process() -> None:
    # What endpoints said about json_schema is process memory keyed by URL: a fake on a
    # reused port must not inherit another test's answer.
    forget_structured_support()


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
    body = server.requests[0]
    assert body["response_format"] == response_format_for(Pair)
    assert usage.prompt_tokens == tokens(ECHO + user) + schema_tokens(body["response_format"])
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
        user = '{"word": "x", "count": 1}'
        # The first call to an endpoint learns whether it takes json_schema (the others
        # wait for that answer): settle it before holding every answer.
        await client.complete_json(system=ECHO, user=user, schema=Pair)
        srv.gate = asyncio.Event()
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


# --- structured output: JSON schema where the endpoint takes it, JSON mode otherwise ------


class Note(BaseModel):
    id: str
    text: str = Field(min_length=1)


class Notes(BaseModel):
    overview: str = Field(min_length=1)
    items: list[Note] = Field(default_factory=list)


class Loose(BaseModel):
    by_id: dict[str, str]


def test_the_schema_is_the_sdks_strict_schema_pruned() -> None:
    fmt = response_format_for(Notes)
    assert fmt["type"] == "json_schema"
    spec = fmt["json_schema"]
    assert spec["name"] == "Notes" and spec["strict"] is True
    schema = spec["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["overview", "items"]  # strict: every property required
    note = schema["$defs"]["Note"]
    assert note["additionalProperties"] is False and note["required"] == ["id", "text"]
    text = json.dumps(schema)
    # Keywords strict mode refuses are not sent (pydantic still checks them on the answer).
    assert "minLength" not in text and "default" not in text and "title" not in text


def test_an_open_map_cannot_be_strict() -> None:
    spec = response_format_for(Loose)["json_schema"]
    assert spec["strict"] is False  # dict[str, str]: additionalProperties is a schema


async def test_json_schema_is_used_when_the_endpoint_accepts_it(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    user = json.dumps({"overview": "Busy day.", "items": [{"id": "a", "text": "b"}]})
    for _ in range(3):
        answer, usage = await llm.complete_json(system=ECHO, user=user, schema=Notes)
        assert answer.items == [Note(id="a", text="b")]
        assert usage.calls == 1
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema"] * 3
    assert server.requests[0]["response_format"] == response_format_for(Notes)
    assert llm.structured_mode() == "json_schema"


async def test_answers_are_still_validated_in_json_schema_mode(
    server: FakeLLMServer, llm: OpenAILLM
) -> None:
    # The fake fills what the schema requires; an empty overview still breaks min_length.
    user = json.dumps({"items": []})
    with pytest.raises(LLMError, match="overview"):
        await llm.complete_json(system=ECHO, user=user, schema=Notes)
    assert len(server.calls) == 2  # the corrective retry, in the same mode
    assert {r["response_format"]["type"] for r in server.requests} == {"json_schema"}


async def test_one_refusal_then_json_mode_for_the_rest_of_the_run() -> None:
    async with FakeLLMServer(api_key=KEY, refuse_json_schema=True) as srv:
        client = OpenAILLM(settings_for(srv))
        other = OpenAILLM(settings_for(srv))  # another brief of the same run
        user = '{"word": "x", "count": 1}'
        try:
            first, usage = await client.complete_json(system=ECHO, user=user, schema=Pair)
            assert first == Pair(word="x", count=1)
            assert usage.calls == 2  # the refused call is a call (it costs no tokens)
            for llm in (client, other, client):
                answer, usage = await llm.complete_json(system=ECHO, user=user, schema=Pair)
                assert answer.count == 1 and usage.calls == 1
        finally:
            await client.aclose()
            await other.aclose()
    assert srv.refused == 1
    kinds = [r["response_format"]["type"] for r in srv.requests]
    assert kinds == ["json_schema", "json_object", "json_object", "json_object", "json_object"]
    assert client.structured_mode() == other.structured_mode() == "json_object"


async def test_concurrent_first_calls_are_refused_once() -> None:
    async with FakeLLMServer(api_key=KEY, refuse_json_schema=True) as srv:
        clients = [OpenAILLM(settings_for(srv)) for _ in range(3)]
        user = '{"word": "x", "count": 1}'
        try:
            results = await asyncio.gather(
                *(
                    c.complete_json(system=ECHO, user=user, schema=Pair)
                    for c in clients
                    for _ in range(4)
                )
            )
        finally:
            for c in clients:
                await c.aclose()
    assert [a for a, _ in results] == [Pair(word="x", count=1)] * 12
    assert srv.refused == 1  # the others waited for the first answer instead of asking
    assert sum(u.calls for _, u in results) == 13


async def test_concurrent_first_calls_to_an_accepting_endpoint_all_use_json_schema(
    server: FakeLLMServer,
) -> None:
    client = OpenAILLM(settings_for(server))
    try:
        user = '{"word": "x", "count": 1}'
        await asyncio.gather(
            *(client.complete_json(system=ECHO, user=user, schema=Pair) for _ in range(5))
        )
    finally:
        await client.aclose()
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema"] * 5


async def test_a_failed_first_call_does_not_hold_the_others() -> None:
    async with FakeLLMServer(api_key=KEY) as srv:
        client = OpenAILLM(settings_for(srv))
        srv.fail_next("500", 2)  # the first call and the SDK's retry of it
        user = '{"word": "x", "count": 1}'
        try:
            results = await asyncio.gather(
                *(client.complete_json(system=ECHO, user=user, schema=Pair) for _ in range(3)),
                return_exceptions=True,
            )
        finally:
            await client.aclose()
    assert sum(isinstance(r, LLMError) for r in results) == 1
    assert all(r["response_format"]["type"] == "json_schema" for r in srv.requests)
    assert client.structured_mode() == "json_schema"


async def test_json_object_setting_never_tries_json_schema() -> None:
    async with FakeLLMServer(api_key=KEY, refuse_json_schema=True) as srv:
        client = OpenAILLM(settings_for(srv, llm_structured="json_object"))
        try:
            for _ in range(2):
                answer, usage = await client.complete_json(
                    system=ECHO, user='{"word": "y", "count": 2}', schema=Pair
                )
                assert answer.word == "y" and usage.calls == 1
        finally:
            await client.aclose()
    assert srv.refused == 0
    assert [r["response_format"] for r in srv.requests] == [{"type": "json_object"}] * 2
    assert usage.prompt_tokens == tokens(ECHO + '{"word": "y", "count": 2}')


async def test_json_schema_setting_reports_a_refusal_instead_of_falling_back() -> None:
    async with FakeLLMServer(api_key=KEY, refuse_json_schema=True) as srv:
        client = OpenAILLM(settings_for(srv, llm_structured="json_schema"))
        try:
            with pytest.raises(LLMError) as info:
                await client.complete_json(system=ECHO, user="{}", schema=Pair)
        finally:
            await client.aclose()
    message = str(info.value)
    assert "HTTP 400" in message and "PAPERDROP_LLM_STRUCTURED" in message
    assert KEY not in message
    assert srv.refused == 1 and len(srv.requests) == 1
    assert usage_of(info.value).calls == 1


async def test_json_mode_answers_are_validated_after_a_refusal() -> None:
    async with FakeLLMServer(api_key=KEY, refuse_json_schema=True) as srv:
        client = OpenAILLM(settings_for(srv))
        srv.fail_next("invalid", 2)  # after the refusal: two answers of the wrong shape
        try:
            with pytest.raises(LLMError, match="word"):
                await client.complete_json(system=ECHO, user='{"word": "x"}', schema=Pair)
        finally:
            await client.aclose()
    assert [r["response_format"]["type"] for r in srv.requests] == [
        "json_schema",
        "json_object",
        "json_object",
    ]


async def test_the_fake_refuses_a_schema_strict_mode_would_refuse(server: FakeLLMServer) -> None:
    # The fake is as strict as the real thing, so the schemas above prove something.
    import openai

    client = openai.AsyncOpenAI(api_key=KEY, base_url=server.base_url, max_retries=0)
    bad = {"type": "object", "properties": {"a": {"type": "string", "minLength": 1}}}
    try:
        with pytest.raises(openai.BadRequestError, match="Invalid schema"):
            await client.chat.completions.create(
                model="m",
                messages=[{"role": "system", "content": ECHO}, {"role": "user", "content": "{}"}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "bad", "schema": bad, "strict": True},
                },
            )
    finally:
        await client.close()


def answer_models() -> list[type[BaseModel]]:
    return [
        summarize._SummaryAnswer,
        summarize._answers_model(("en", "zh")),
        readernotes._NotesAnswer,
        ranking.RerankAnswer,
        deeper._DetailsAnswer,
        deeper._IdeasAnswer,
        asking._AskAnswer,
    ]


@pytest.mark.parametrize("model", answer_models(), ids=lambda m: m.__name__)
def test_every_answer_model_of_the_project_is_a_strict_schema(model: type[BaseModel]) -> None:
    fmt = response_format_for(model)
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert strict_problem(schema, schema) is None  # the fake's own reading of the rules


# --- a failing LLM: said once per run --------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "malformed", "context_length"])
async def test_a_failing_llm_is_one_warning_per_run_not_one_per_call(
    server: FakeLLMServer, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.INFO)
    health = LLMHealth(logging.getLogger("digest.llm"))
    server.fail_next(kind, 100)  # type: ignore[arg-type]
    async with OpenAILLM(settings_for(server)) as llm:
        for _ in range(6):  # six calls, each failing (the callers fall back)
            with pytest.raises(LLMError) as failed:
                await llm.complete_json(system=ECHO, user='{"word":"x","count":1}', schema=Pair)
            health.failed(str(failed.value))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    said = [r.getMessage() for r in warnings if r.getMessage().startswith("LLM failing")]
    # One from the process's own LLM_HEALTH (maybe said by an earlier test: at most one
    # here), exactly one from the fresh tracker: never six.
    assert 1 <= len(said) <= 2, said
    assert len(warnings) == len(said)  # nothing else warned per call
    assert health.failures == 6 and len(health.warned) == 1
    if kind == "context_length":
        assert "maximum context length" in said[-1] or "HTTP 400" in said[-1]


def test_a_new_kind_of_failure_is_said_once_more_and_the_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    health = LLMHealth(logging.getLogger("digest.llm.test"))
    for _ in range(3):
        health.failed("LLM server error (HTTP 500)")
    health.failed("LLM server error (HTTP 502)")  # the same kind
    health.failed("LLM did not answer within 60s (timeout)")
    health.answered()
    health.answered()
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("LLM failing")] == [
        "LLM failing: LLM server error (HTTP 500); answers fall back to extractive texts "
        "(said once per run)",
        "LLM failing: LLM did not answer within 60s (timeout); answers fall back to "
        "extractive texts (said once per run)",
    ]
    assert sum(m.startswith("LLM answering again after 5 failed call(s)") for m in messages) == 1
