"""arXiv identifiers: validation and the bare form (no version) used as every key."""

from __future__ import annotations

import re

from digest.errors import InvalidPaperId

__all__ = ["bare_id", "is_arxiv_id", "key_id", "parse_arxiv_id", "parse_versioned"]

_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
# Old style: archive(.subject class)/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$")
# Forms people paste: arXiv:2605.29559, https://arxiv.org/abs/2605.29559v2, .../pdf/…pdf,
# https://huggingface.co/papers/2605.29559.
_PREFIX = re.compile(
    r"^(?:arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/"
    r"|https?://(?:www\.)?huggingface\.co/papers/)",
    re.IGNORECASE,
)
MAX_ID_INPUT = 200


def parse_arxiv_id(text: str) -> str:
    """Return the bare arXiv id in `text` (a bare id, `arXiv:` form or an arXiv/HF URL).

    Raises InvalidPaperId for anything else.
    """
    return parse_versioned(text)[0]


def parse_versioned(text: str) -> tuple[str, int | None]:
    """The bare arXiv id in `text` and the version it names (`2605.29559v2` -> 2), or
    None when it names none. Raises InvalidPaperId as `parse_arxiv_id` does."""
    raw = text.strip()
    if not raw or len(raw) > MAX_ID_INPUT:
        raise InvalidPaperId(text)
    candidate = _PREFIX.sub("", raw)
    candidate = candidate.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if candidate.lower().endswith(".pdf"):
        candidate = candidate[:-4]
    for pattern in (_NEW, _OLD):
        m = pattern.match(candidate)
        if m and _possible(m.group(1)):
            version = int(m.group(2)[1:]) if m.group(2) else None
            if version == 0:
                break  # arXiv numbers versions from 1
            return m.group(1), version
    raise InvalidPaperId(text)


def _possible(bare: str) -> bool:
    """Whether arXiv could have issued this id: a real month, and the number width arXiv
    used then (new style from 0704, 5 digits from 1501; old style 9108 to 0703)."""
    old = "/" in bare
    digits = bare.split("/", 1)[1] if old else bare
    yy, mm = int(digits[:2]), int(digits[2:4])
    if not 1 <= mm <= 12:
        return False
    if old:
        # 1991-08 to 2007-03; two-digit years 91..99 are the 1900s.
        yymm = (1900 + yy if yy >= 91 else 2000 + yy) * 100 + mm
        return 199108 <= yymm <= 200703
    yymm = (2000 + yy) * 100 + mm
    number = digits.split(".", 1)[1]
    if yymm < 200704:
        return False
    return len(number) == (5 if yymm >= 201501 else 4) and int(number) > 0


def is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidPaperId:
        return False
    return True


def bare_id(paper_id: str) -> str:
    """`2605.29559v3` -> `2605.29559`; ids already bare are returned unchanged."""
    return parse_arxiv_id(paper_id)


def key_id(paper_id: str) -> str:
    """The id a paper is keyed by: its bare arXiv id, else `paper_id` stripped."""
    try:
        return parse_arxiv_id(paper_id)
    except InvalidPaperId:
        return paper_id.strip()
