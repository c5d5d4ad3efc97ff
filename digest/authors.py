"""Author names as people write them: "Yoshua Bengio", "Bengio, Yoshua", "Y. Bengio".

A followed author matches a paper's author when the family names are equal (accents,
case and punctuation aside) and the given names agree: equal, or one is the initials of
the other ("Y. Bengio" matches "Yoshua Bengio", not "Samy Bengio").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["clean_author", "followed_in", "same_author"]

MAX_NAME = 100
_SPACE = re.compile(r"\s+")


def clean_author(name: str) -> str:
    """The name as written for display: "Last, First" turned round, spaces collapsed,
    BibTeX braces dropped."""
    text = _SPACE.sub(" ", name.replace("{", "").replace("}", "").replace("~", " ")).strip()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        text = f"{first} {last}".strip()
    return text[:MAX_NAME]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _parts(name: str) -> tuple[list[str], str]:
    words = [w for w in re.split(r"[\s.\-]+", _fold(clean_author(name))) if w]
    if not words:
        return [], ""
    return words[:-1], words[-1]


def _given_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    if not a or not b:
        return True  # "Bengio" alone: the family name decides
    for x, y in zip(a, b, strict=False):
        if len(x) == 1 or len(y) == 1:
            if x[0] != y[0]:
                return False
        elif x != y:
            return False
    return True


def same_author(a: str, b: str) -> bool:
    given_a, family_a = _parts(a)
    given_b, family_b = _parts(b)
    return bool(family_a) and family_a == family_b and _given_agree(given_a, given_b)


def followed_in(authors: Iterable[str], followed: Sequence[str]) -> list[str]:
    """The followed names (as the reader wrote them) among a paper's authors."""
    if not followed:
        return []
    names = list(authors)
    return [f for f in followed if any(same_author(f, a) for a in names)]
