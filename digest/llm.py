"""The LLM seam. `LLM` is what ranking and summaries call; `OpenAILLM` implements it
with the official `openai` SDK against any OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from digest.errors import LLMError, scrub
from digest.models import LLMUsage
from digest.settings import Settings

if TYPE_CHECKING:  # the SDK takes ~2 s to import: only clients that talk to an LLM load it
    import openai
    from openai.types.chat import ChatCompletionMessageParam

__all__ = ["LLM", "LLMCallError", "OpenAILLM", "make_llm", "usage_of"]

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
    """`LLM` over the openai SDK: JSON mode, one corrective retry, bounded concurrency.

    `usage` accumulates every call this client made (retries and failures included).
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
        self.usage = LLMUsage()

    def __repr__(self) -> str:  # never show the key
        return f"OpenAILLM(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def complete_json(
        self, *, system: str, user: str, schema: type[T], max_tokens: int = 1024
    ) -> tuple[T, LLMUsage]:
        usage = LLMUsage()
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        problem = ""
        for attempt in range(JSON_ATTEMPTS):
            text = await self._chat(messages, max_tokens, usage)
            try:
                return schema.model_validate_json(_unfence(text)), usage
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

    async def _chat(
        self, messages: list[ChatCompletionMessageParam], max_tokens: int, usage: LLMUsage
    ) -> str:
        import openai

        usage.calls += 1
        self.usage.calls += 1
        try:
            async with self._sem:
                resp = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    response_format={"type": "json_object"},
                    max_tokens=max_tokens,
                )
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
