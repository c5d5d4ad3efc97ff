"""Sentences and URLs in source and model text: where an abstract's sentences end, and
prose with its URLs taken out (the code supplies every link)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["split_sentences", "strip_urls"]

_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# A URL ends before trailing punctuation: "see https://x.org/y, or" keeps its comma.
_URL_TAIL = r"[^\s<>()\[\]{}\"'，。；]*[^\s<>()\[\]{}\"'，。；.,;:!?]"
_URL = re.compile(
    rf"<?(?:https?://|ftp://|www\.){_URL_TAIL}>?"
    rf"|\b(?:[a-z0-9-]+\.)+(?:com|org|io|ai|net|dev|cn|edu|gov|co|me|app|xyz)/(?:{_URL_TAIL})?",
    re.IGNORECASE,
)
_EMPTY_BRACKETS = re.compile(r"[(\[（【]\s*[:：,，]?\s*[)\]）】]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?，。；：！？])")
_DANGLING = re.compile(r"[,;:，；：]+([.!?。！？])")  # "work, <url>." -> "work."


def strip_urls(text: str) -> str:
    """`text` without URLs (Markdown links keep their label) and with whitespace collapsed."""
    out = _MD_LINK.sub(r"\1", text)
    out = _URL.sub("", out)
    out = _EMPTY_BRACKETS.sub("", out)
    out = " ".join(out.split())
    out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
    return _DANGLING.sub(r"\1", out).strip()


# Words after which a period does not end a sentence ("e.g.", "et al.", "Fig. 3").
_ABBREVIATIONS: Final = frozenset(
    {"e.g", "i.e", "etc", "vs", "cf", "al", "fig", "figs", "eq", "eqs", "sec", "secs"}
    | {"approx", "resp", "ref", "refs", "tab", "viz", "ca", "dr", "mr", "mrs", "ms"}
    | {"prof", "jr", "sr", "inc", "ltd", "corp", "dept", "univ", "vol", "pp", "eds"}
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|[。！？]+[”’」』）)]*")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?$")  # U.S, e.g, i.e


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract; abbreviations, initials and decimals do not split."""
    text = " ".join(text.split())
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if m.group()[0] == ".":
            word = text[start : m.start()].rsplit(" ", 1)[-1].lstrip("([{\"'").lower()
            if word in _ABBREVIATIONS or _DOTTED.match(word) or (len(word) == 1 and word.isalpha()):
                continue
        rest = text[end:].lstrip()
        if rest and m.group()[0] in ".!?" and rest[0].islower():
            continue  # "approx. three", "vs. baselines": not a new sentence
        sentence = text[start:end].strip()
        if sentence:
            out.append(sentence)
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out
