"""How the rule-written texts put words together: lists joined, sentences closed, and
whether a term stands on its own in a paper's text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from digest.models import Language, Paper
from digest.tokens import canonical

__all__ = ["join", "sentence", "whole"]


def whole(paper: Paper, term: str) -> bool:
    """Whether `term` stands in the paper's text on its own, not only as a piece of a
    hyphenated compound ("InterLV" of "InterLV-Search", "self" of "self-evolving")."""
    text = f"{paper.title} {paper.abstract} {paper.ai_summary or ''} {' '.join(paper.keywords)}"
    alone = re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w]|-\w)", re.IGNORECASE)
    return alone.search(text) is not None or alone.search(canonical(text)) is not None


def join(items: Sequence[str], language: Language) -> str:
    if language == "zh":
        return "、".join(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def sentence(text: str, language: Language) -> str:
    text = text.strip()
    if not text:
        return ""
    if language == "zh":
        return text if text.endswith(("。", "！", "？", "”")) else text + "。"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "”")) else text + "."
