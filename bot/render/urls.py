"""Web addresses inside data text, as the platforms' renderers meet them."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["url_end"]


def url_end(url: str, trailing: str, pairs: Mapping[str, str]) -> str:
    """`url` without the punctuation that ends the sentence around it: a `trailing`
    character, or a closing bracket of `pairs` (closing → opening) the address never opened."""
    while url:
        last = url[-1]
        if last in trailing or (last in pairs and url.count(pairs[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url
