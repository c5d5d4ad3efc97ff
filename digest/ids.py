"""arXiv identifiers: validation and the bare form (no version) used as every key."""

from __future__ import annotations

import re

from digest.errors import InvalidPaperId

__all__ = ["bare_id", "is_arxiv_id", "parse_arxiv_id"]

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
    raw = text.strip()
    if not raw or len(raw) > MAX_ID_INPUT:
        raise InvalidPaperId(text)
    candidate = _PREFIX.sub("", raw)
    candidate = candidate.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if candidate.lower().endswith(".pdf"):
        candidate = candidate[:-4]
    for pattern in (_NEW, _OLD):
        m = pattern.match(candidate)
        if m:
            return m.group(1)
    raise InvalidPaperId(text)


def is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidPaperId:
        return False
    return True


def bare_id(paper_id: str) -> str:
    """`2605.29559v3` -> `2605.29559`; ids already bare are returned unchanged."""
    return parse_arxiv_id(paper_id)
