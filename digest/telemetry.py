"""Counters of the core (LLM calls and tokens by task, source failures), in a registry of
their own: `digest` imports no `bot/` code, and `bot.core.observability` serves this registry
at `GET /metrics` together with its own."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["REGISTRY", "count_llm_call", "count_source_failure", "task_of"]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
LLM_CALLS: Final = Counter(
    "paperdrop_llm_calls", "LLM requests by task and outcome.", ["task", "outcome"],
    registry=REGISTRY,
)  # fmt: skip
LLM_TOKENS: Final = Counter(
    "paperdrop_llm_tokens", "LLM tokens by task and kind.", ["task", "kind"], registry=REGISTRY
)
LLM_SECONDS: Final = Histogram(
    "paperdrop_llm_seconds",
    "LLM request time by task (retries included).",
    ["task"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)
SOURCE_FAILURES: Final = Counter(
    "paperdrop_source_failures", "Source fetches failed after retries.", ["source"],
    registry=REGISTRY,
)  # fmt: skip

_KNOWN_TASKS: Final = frozenset(
    {"rerank", "summarize", "reader_notes", "paper_details", "ideas", "ask", "embeddings"}
)


def task_of(system_prompt: str) -> str:
    """The task a prompt names on its first line ("TASK: summarize"); "other" otherwise
    (labels stay a small fixed set)."""
    first = system_prompt.split("\n", 1)[0].strip()
    task = first.removeprefix("TASK:").strip() if first.startswith("TASK:") else ""
    return task if task in _KNOWN_TASKS else "other"


def count_llm_call(
    task: str, outcome: str, seconds: float, prompt_tokens: int, completion_tokens: int
) -> None:
    LLM_CALLS.labels(task, outcome).inc()
    LLM_SECONDS.labels(task).observe(seconds)
    LLM_TOKENS.labels(task, "prompt").inc(prompt_tokens)
    LLM_TOKENS.labels(task, "completion").inc(completion_tokens)


def count_source_failure(source: str) -> None:
    SOURCE_FAILURES.labels(source[:40]).inc()
