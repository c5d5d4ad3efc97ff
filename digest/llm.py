"""The LLM seam. `LLM` is what ranking and summaries call; `OpenAILLM` implements it
with the official `openai` SDK against any OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel

from digest.models import LLMUsage

__all__ = ["LLM"]

T = TypeVar("T", bound=BaseModel)


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
