"""The LLM seam. `LLM` is what ranking and summaries call; `OpenAILLM` implements it
with the official `openai` SDK against any OpenAI-compatible endpoint.

Answers are constrained in one of two ways (`PAPERDROP_LLM_STRUCTURED`):

- ``json_schema``: the SDK's structured output, the pydantic answer model as a strict
  JSON schema (``response_format={"type": "json_schema", ...}``);
- ``json_object``: JSON mode; the shape is the one the system prompt describes (every
  prompt describes its fields, so both modes work with the same prompt).

``auto`` (the default) asks for ``json_schema`` and, when an endpoint refuses it (HTTP 400
or 422 naming response_format / json_schema), remembers that for the endpoint (base URL +
model) for the rest of the process and uses ``json_object``. While an endpoint's answer is
not known yet, one call asks and concurrent calls wait for it, so a refusing endpoint
sees one refused call, not one per concurrent caller. Every answer is validated against
the pydantic model whatever the mode.

A failing LLM (down, 5xx, timing out, answering garbage, a request over its context) is
said once per run and kind of failure at WARNING (`LLM_HEALTH`), not once per call: the
callers fall back to extractive texts and log their own fallback at INFO. Its recovery is
said once too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError

from digest import telemetry
from digest.errors import LLMError
from digest.models import LLMUsage
from digest.redaction import scrub
from digest.settings import Settings

if TYPE_CHECKING:  # the SDK takes ~2 s to import: only clients that talk to an LLM load it
    import openai
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.chat.completion_create_params import ResponseFormat

__all__ = [
    "LLM",
    "LLM_HEALTH",
    "LLMCallError",
    "LLMHealth",
    "OpenAILLM",
    "forget_structured_support",
    "make_llm",
    "response_format_for",
    "usage_of",
]

T = TypeVar("T", bound=BaseModel)

log = logging.getLogger(__name__)

# The SDK retries transport errors, 429 and 5xx once by itself; our own retry is only
# for answers that are not the JSON we asked for.
SDK_MAX_RETRIES = 1
JSON_ATTEMPTS = 2
# The validation error fed back to the model on the retry: enough to correct, cheap to send.
MAX_FEEDBACK_CHARS = 400
# An invalid answer echoed back to the model is clipped: it only needs to see its mistake.
MAX_ECHO_CHARS = 2000
# OpenAI accepts up to 2048 inputs per embeddings request; smaller batches suit local servers.
EMBED_BATCH = 256
MAX_REASON_CHARS = 160

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)

Structured = Literal["json_schema", "json_object"]
JSON_OBJECT: Final[dict[str, Any]] = {"type": "json_object"}
# How OpenAI-compatible servers word "no structured output here": OpenAI's "Invalid
# parameter: 'response_format' of type 'json_schema' is not supported with this model",
# DeepSeek's "This response_format type is unavailable now", vLLM/llama.cpp 400/422s.
_REFUSAL = re.compile(r"response[_ ]?format|json[_ ]?schema|structured output", re.IGNORECASE)
_REFUSAL_STATUS = frozenset({400, 422})
# Keywords kept in the schema sent: what strict mode accepts. Titles, defaults and string
# lengths are dropped (pydantic still checks every constraint on the answer).
_SCHEMA_KEYS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "$defs",
        "$ref",
        "enum",
        "const",
        "description",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    }
)

# Per endpoint ("base URL|model"), in this process: True once it answered a json_schema
# request, False once it refused one.
_SCHEMA_SUPPORT: dict[str, bool] = {}
# The json_schema call an unknown endpoint is being asked right now (done when it answered).
_PROBES: dict[str, asyncio.Future[None]] = {}


class LLMHealth:
    """The LLM's state in this process, logged once per kind of failure and once on
    recovery: a brief of 20 summaries or a morning of /paper with the LLM down is one
    warning, not one per call."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self._log = logger
        self.failing_since: float | None = None
        self.failures = 0  # calls failed since it last answered
        self.warned: set[str] = set()  # kinds of failure said this run

    def failed(self, reason: str) -> None:
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        kind = _kind(reason)
        if kind in self.warned:
            return
        self.warned.add(kind)
        self._log.warning(
            "LLM failing: %s; answers fall back to extractive texts (said once per run)",
            reason,
        )

    def answered(self) -> None:
        if self.failing_since is None:
            return
        self._log.info(
            "LLM answering again after %d failed call(s) (%.1f s)",
            self.failures,
            time.monotonic() - self.failing_since,
        )
        self.failing_since = None
        self.failures = 0


def _kind(reason: str) -> str:
    """The kind of an LLM failure ("LLM server error", "LLM did not answer…"): its words
    before any status or detail, so HTTP 500 and 502 are one kind."""
    return re.split(r"[(:]", reason, maxsplit=1)[0].strip()


LLM_HEALTH = LLMHealth()


def forget_structured_support() -> None:
    """Forget what endpoints said about json_schema (tests start from a clean process)."""
    _SCHEMA_SUPPORT.clear()
    _PROBES.clear()


def _prune(node: Any) -> Any:
    if isinstance(node, list):
        return [_prune(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _prune(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf", "additionalProperties"):
            out[key] = _prune(value)
        else:
            out[key] = value
    return out


def _is_strict(node: Any) -> bool:
    """Whether strict mode accepts `node`: every object closed, every property required."""
    if isinstance(node, list):
        return all(_is_strict(x) for x in node)
    if not isinstance(node, dict):
        return True
    props = node.get("properties")
    if node.get("type") == "object" or props is not None:
        if node.get("additionalProperties") is not False:
            return False  # an open map (dict[str, X]) cannot be strict
        if sorted(node.get("required") or []) != sorted(props or {}):
            return False
    children: list[Any] = []
    for key in ("properties", "$defs"):
        children.extend((node.get(key) or {}).values())
    for key in ("items", "anyOf"):
        if key in node:
            children.append(node[key])
    return all(_is_strict(c) for c in children)


@functools.cache
def response_format_for(schema: type[BaseModel]) -> dict[str, Any] | None:
    """The ``response_format`` asking for `schema` as a JSON schema (None: not expressible).

    Built with the SDK's own converter (the one ``chat.completions.parse`` uses), pruned
    to the keywords strict mode accepts; ``strict`` only when every object is closed.
    """
    from openai.lib._pydantic import to_strict_json_schema

    try:
        tree = _prune(to_strict_json_schema(schema))
    except (TypeError, ValueError) as exc:  # e.g. a type JSON schema cannot describe
        log.warning("no JSON schema for %s (%s): JSON mode", schema.__name__, exc)
        return None
    name = re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__).strip("_")[:64] or "answer"
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": tree, "strict": _is_strict(tree)},
    }


class _Refused(Exception):
    """The endpoint refused json_schema output (carries the refused call's reason)."""


class LLM(Protocol):
    model: str

    async def complete_json(
        self, *, system: str, user: str, schema: type[T], max_tokens: int = 1024
    ) -> tuple[T, LLMUsage]:
        """Ask for a JSON object matching `schema`; validated, retried once, else LLMError."""
        ...

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], LLMUsage]:
        """Embeddings for `texts` (needs an embeddings model configured), else LLMError."""
        ...


class LLMCallError(LLMError):
    """An LLMError that also carries what the failed attempts cost (they are billed too)."""

    def __init__(self, message: str, usage: LLMUsage) -> None:
        super().__init__(message)
        self.usage = usage


def usage_of(exc: BaseException) -> LLMUsage:
    """The usage an LLM failure carries (zero for errors that carry none)."""
    return exc.usage.model_copy() if isinstance(exc, LLMCallError) else LLMUsage()


class OpenAILLM:
    """`LLM` over the openai SDK: structured output (JSON schema, else JSON mode), one
    corrective retry, bounded concurrency.

    `usage` accumulates every call this client made (retries, refusals and failures
    included).
    """

    def __init__(self, settings: Settings, *, api_key: str | None = None) -> None:
        key = api_key
        if key is None and settings.llm_api_key is not None:
            key = settings.llm_api_key.get_secret_value()
        if not key:
            raise LLMError("no LLM API key configured: set PAPERDROP_LLM_API_KEY")
        self.model = settings.llm_model
        self.embeddings_model = settings.embeddings_model
        self.timeout = settings.llm_timeout
        self._key = key
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(
            api_key=key,
            base_url=settings.llm_base_url or None,  # None: the SDK's default endpoint
            timeout=settings.llm_timeout,
            max_retries=SDK_MAX_RETRIES,
        )
        self._sem = asyncio.Semaphore(settings.llm_concurrency)
        self.structured = settings.llm_structured
        self._endpoint = f"{self._client.base_url}|{self.model}"
        self.usage = LLMUsage()

    def __repr__(self) -> str:  # never show the key
        return f"OpenAILLM(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def complete_json(
        self, *, system: str, user: str, schema: type[T], max_tokens: int = 1024
    ) -> tuple[T, LLMUsage]:
        started, outcome = time.perf_counter(), "error"
        usage = LLMUsage()
        try:
            answer = await self._complete_json(system, user, schema, max_tokens, usage)
            outcome = "ok"
            LLM_HEALTH.answered()
            return answer, usage
        except LLMError as exc:
            LLM_HEALTH.failed(str(exc))
            raise
        finally:
            telemetry.count_llm_call(
                telemetry.task_of(system),
                outcome,
                time.perf_counter() - started,
                usage.prompt_tokens,
                usage.completion_tokens,
            )

    async def _complete_json(
        self, system: str, user: str, schema: type[T], max_tokens: int, usage: LLMUsage
    ) -> T:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        problem = ""
        for attempt in range(JSON_ATTEMPTS):
            text = await self._answer(messages, max_tokens, usage, schema)
            try:
                return schema.model_validate_json(_unfence(text))
            except ValidationError as exc:
                problem = _describe(exc)
            log.info("LLM answer rejected (attempt %d): %s", attempt + 1, problem)
            messages = [
                *messages,
                {"role": "assistant", "content": text[:MAX_ECHO_CHARS]},
                {
                    "role": "user",
                    "content": f"That answer was not valid: {problem}. Reply again with one "
                    "JSON object only, with every required field.",
                },
            ]
        raise LLMCallError(f"LLM answer was not the expected JSON after a retry: {problem}", usage)

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], LLMUsage]:
        try:
            result = await self._embed(texts)
        except LLMError as exc:
            LLM_HEALTH.failed(str(exc))
            raise
        LLM_HEALTH.answered()
        return result

    async def _embed(self, texts: list[str]) -> tuple[list[list[float]], LLMUsage]:
        import openai

        usage = LLMUsage()
        if not self.embeddings_model:
            raise LLMCallError(
                "no embeddings model configured: set PAPERDROP_EMBEDDINGS_MODEL", usage
            )
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            usage.calls += 1
            self.usage.calls += 1
            try:
                async with self._sem:
                    resp = await self._client.embeddings.create(
                        model=self.embeddings_model, input=batch
                    )
            except openai.OpenAIError as exc:
                raise LLMCallError(self._reason(exc), usage) from None
            tokens = resp.usage.prompt_tokens if resp.usage else 0
            usage.prompt_tokens += tokens
            self.usage.prompt_tokens += tokens
            got = sorted(resp.data, key=lambda e: e.index)
            if len(got) != len(batch):
                raise LLMCallError(
                    f"embeddings answer had {len(got)} vectors for {len(batch)} texts", usage
                )
            vectors.extend([float(x) for x in e.embedding] for e in got)
        return vectors, usage

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAILLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- internals -----------------------------------------------------------------

    def structured_mode(self) -> Structured | None:
        """The mode the next call uses (None: auto, and the endpoint was not asked yet)."""
        if self.structured != "auto":
            return self.structured
        known = _SCHEMA_SUPPORT.get(self._endpoint)
        if known is None:
            return None
        return "json_schema" if known else "json_object"

    async def _answer(
        self,
        messages: list[ChatCompletionMessageParam],
        max_tokens: int,
        usage: LLMUsage,
        schema: type[BaseModel],
    ) -> str:
        """One answer in the best mode the endpoint takes (see the module docstring)."""
        loop = asyncio.get_running_loop()
        waited = False
        while True:
            mode = self.structured_mode()
            if mode == "json_object":
                return await self._chat(messages, max_tokens, usage, JSON_OBJECT)
            fmt = response_format_for(schema)
            if fmt is None:
                return await self._chat(messages, max_tokens, usage, JSON_OBJECT)
            if mode == "json_schema" or waited:
                try:
                    text = await self._chat(messages, max_tokens, usage, fmt)
                except _Refused as exc:
                    if self.structured == "json_schema":
                        raise LLMCallError(
                            f"{exc}: set PAPERDROP_LLM_STRUCTURED=auto or json_object", usage
                        ) from None
                    self._refused(str(exc))
                    continue
                _SCHEMA_SUPPORT.setdefault(self._endpoint, True)
                return text
            probe = _PROBES.get(self._endpoint)
            if probe is not None and probe.get_loop() is loop and not probe.done():
                # Another call is asking this endpoint: its answer decides the mode.
                await asyncio.shield(probe)
                waited = True
                continue
            mine: asyncio.Future[None] = loop.create_future()
            _PROBES[self._endpoint] = mine
            try:
                text = await self._chat(messages, max_tokens, usage, fmt)
            except _Refused as exc:
                self._refused(str(exc))
                continue
            finally:
                if not mine.done():
                    mine.set_result(None)
                if _PROBES.get(self._endpoint) is mine:
                    del _PROBES[self._endpoint]
            _SCHEMA_SUPPORT[self._endpoint] = True
            return text

    def _refused(self, reason: str) -> None:
        if _SCHEMA_SUPPORT.get(self._endpoint) is not False:
            # A schema the endpoint calls invalid is our bug (worth a warning); an endpoint
            # without structured output is normal (DeepSeek, older vLLM, llama.cpp…).
            level = logging.WARNING if "invalid schema" in reason.lower() else logging.INFO
            log.log(
                level,
                "LLM endpoint %s refused JSON-schema output (%s): using JSON mode for it",
                self._client.base_url,
                reason,
            )
        _SCHEMA_SUPPORT[self._endpoint] = False

    async def _chat(
        self,
        messages: list[ChatCompletionMessageParam],
        max_tokens: int,
        usage: LLMUsage,
        response_format: dict[str, Any],
    ) -> str:
        import openai

        usage.calls += 1
        self.usage.calls += 1
        try:
            async with self._sem:
                resp = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    response_format=cast("ResponseFormat", response_format),
                    max_tokens=max_tokens,
                )
        except openai.APIStatusError as exc:
            if response_format["type"] == "json_schema" and _is_refusal(exc):
                raise _Refused(self._reason(exc)) from None
            raise LLMCallError(self._reason(exc), usage) from None
        except openai.OpenAIError as exc:
            raise LLMCallError(self._reason(exc), usage) from None
        if resp.usage is not None:
            for u in (usage, self.usage):
                u.prompt_tokens += resp.usage.prompt_tokens
                u.completion_tokens += resp.usage.completion_tokens
        if not resp.choices:
            return ""
        return resp.choices[0].message.content or ""

    def _reason(self, exc: openai.OpenAIError) -> str:
        """One line for the user; never the key, never the server's raw body."""
        import openai

        if isinstance(exc, openai.AuthenticationError):
            return "LLM authentication failed (HTTP 401): check PAPERDROP_LLM_API_KEY"
        if isinstance(exc, openai.PermissionDeniedError):
            return "LLM refused the request (HTTP 403): check the key's access to the model"
        if isinstance(exc, openai.NotFoundError):
            return (
                f"LLM endpoint or model {self.model!r} not found (HTTP 404): "
                "check PAPERDROP_LLM_BASE_URL and PAPERDROP_LLM_MODEL"
            )
        if isinstance(exc, openai.RateLimitError):
            return "LLM rate limit or quota exceeded (HTTP 429)"
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code >= 500:
                return f"LLM server error (HTTP {exc.status_code})"
            detail = self._redact(str(getattr(exc, "message", "") or ""))
            return f"LLM rejected the request (HTTP {exc.status_code}): {detail}".rstrip(": ")
        if isinstance(exc, openai.APITimeoutError):
            return f"LLM did not answer within {self.timeout:g}s (timeout)"
        if isinstance(exc, openai.APIConnectionError):
            return "cannot reach the LLM endpoint (connection error): check PAPERDROP_LLM_BASE_URL"
        return f"LLM call failed: {exc.__class__.__name__}"

    def _redact(self, text: str) -> str:
        return scrub(text, [self._key])[:MAX_REASON_CHARS]


def _is_refusal(exc: openai.APIStatusError) -> bool:
    """A 400/422 about the response format: the endpoint does not do JSON schemas."""
    if exc.status_code not in _REFUSAL_STATUS:
        return False
    return exc.param == "response_format" or bool(_REFUSAL.search(str(exc.message or "")))


def _unfence(text: str) -> str:
    # Some OpenAI-compatible servers wrap JSON mode answers in a Markdown code fence.
    m = _FENCE.match(text)
    return m.group(1) if m else text


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts)[:MAX_FEEDBACK_CHARS]


def make_llm(settings: Settings) -> OpenAILLM | None:
    """The configured LLM, or None when no key is set (extractive mode)."""
    return OpenAILLM(settings) if settings.llm_enabled else None


@contextlib.asynccontextmanager
async def llm_session(
    settings: Settings, *, use_llm: bool = True, llm: LLM | None = None
) -> AsyncIterator[LLM | None]:
    """The LLM a job uses: `llm` if given, else one from the settings (closed when the job
    ends), or None when the LLM is off or not configured."""
    if not use_llm:
        yield None
    elif llm is not None:
        yield llm
    else:
        owned = make_llm(settings)
        try:
            yield owned
        finally:
            if owned is not None:
                await owned.aclose()
