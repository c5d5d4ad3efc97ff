"""What the brief's LLM calls share: the languages as a prompt names them, compact JSON
for the user message, and the answer's prose without URLs, clipped."""

from __future__ import annotations

import json
from typing import Final

from digest.models import Language
from digest.sentences import strip_urls

__all__ = ["LANGUAGE_NAME", "ZH_RULE", "dumps", "prose"]

ZH_RULE: Final = "Simplified Chinese, keeping technical terms and names in English (agent, RL…)"
LANGUAGE_NAME: Final[dict[Language, str]] = {"en": "English", "zh": ZH_RULE}


def prose(text: str, limit: int) -> str:
    """`text` without URLs, clipped to `limit` characters at a word when one is near."""
    out = strip_urls(text)
    if len(out) <= limit:
        return out
    cut = out[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:，；：") + "…"


def dumps(value: object) -> str:
    # Compact JSON: every separator is a token the model reads, for every paper and reader.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
