"""Web addresses inside data text, as the platforms' renderers meet them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["url_end", "with_urls"]


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


def with_urls(
    text: str,
    found: re.Pattern[str],
    trailing: str,
    pairs: Mapping[str, str],
    *,
    plain: Callable[[str], str],
    url: Callable[[str], str | None],
) -> str:
    """`text` written with each web address `found` finds (ended by `url_end`) as `url`
    writes it and the text around them as `plain` does; an address `url` declines (None),
    or a bare scheme, stays part of the text."""
    out: list[str] = []
    pos = 0
    for m in found.finditer(text):
        address = url_end(m.group(0), trailing, pairs)
        shown = None if address.rstrip("/").endswith("://") else url(address)
        if shown is None:
            continue
        out.append(plain(text[pos : m.start()]))
        out.append(shown)
        pos = m.start() + len(address)
    out.append(plain(text[pos:]))
    return "".join(out)
