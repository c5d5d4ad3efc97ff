"""Checks shared by the renderer tests: what a brief must show, and in which order.

`expected_texts` lists, from the Brief alone, every text a reader must find (titles,
every text field, labels' values), in document order; `expected_urls` every link target.
A paper's links and meta are shown once (a must-read that was a pick is its title and
reason); a "worth a glance" paper is one line: title (linked), category, takeaway.
`assert_in_order` compares them with the joined visible text of all parts after removing
whitespace and invisible format characters (zero-width spaces/joiners that escaping may
insert), and the "(continued)" heading a split repeats at the top of a part.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import unquote

from bot.render.layout import glance_takeaway
from digest.i18n import label
from digest.models import (
    Brief,
    IdeaItem,
    PaperItem,
    RepoItem,
    Section,
    SourceItem,
    TextItem,
    abs_url,
)

__all__ = [
    "assert_in_order",
    "assert_links_in_order",
    "expected_texts",
    "expected_urls",
    "norm",
    "strip_continued",
]


def norm(text: str) -> str:
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def _is_web(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(("http://", "https://"))  # type: ignore[union-attr]


def _ordered_sections(brief: Brief) -> tuple[Section | None, list[Section]]:
    overview = brief.section("overview")
    return overview, [s for s in brief.sections if s is not overview]


def expected_texts(brief: Brief) -> list[str]:
    out = [brief.title, brief.header]
    overview, rest = _ordered_sections(brief)
    seen: dict[tuple[str, str], str] = {}

    def fresh(pid: str, key: str, text: str) -> bool:
        if not text or seen.get((pid, key)) == text:
            return False
        seen[(pid, key)] = text
        return True

    def section_texts(sec: Section) -> Iterable[str]:
        yield sec.intro
        for item in sec.items:
            if isinstance(item, PaperItem) and sec.kind == "others":
                yield item.title
                yield item.category
                yield glance_takeaway(item)
            elif isinstance(item, PaperItem):
                yield item.title
                if fresh(item.paper_id, "links", "shown"):
                    yield item.category
                for key in ("contribution", "why", "relation"):
                    text = getattr(item, key)
                    if fresh(item.paper_id, key, text):
                        yield text
                # The matched interests are said once: a relation that lists them all
                # (extractive mode) already shows them.
                matched = ", ".join(item.matched)
                if sec.kind == "top_picks" and item.note:
                    fresh(item.paper_id, "matched", matched)  # the why-picked line says it
                elif all(m in item.relation for m in item.matched):
                    fresh(item.paper_id, "matched", matched)
                elif fresh(item.paper_id, "matched", matched):
                    yield from item.matched
                yield item.note
            elif isinstance(item, RepoItem):
                yield item.full_name
                yield item.description or ""
                if item.paper_id:
                    yield item.paper_title or item.paper_id
                yield item.note
            elif isinstance(item, IdeaItem):
                yield item.title
                yield item.body
                yield from item.paper_ids
            elif isinstance(item, SourceItem):
                yield item.source
                yield item.detail
            else:
                assert isinstance(item, TextItem)
                yield item.text

    if overview is None:
        out += [brief.overview]
    else:
        out.append(overview.title)
        shown = {i.text for i in overview.items if isinstance(i, TextItem)}
        if brief.overview not in shown:
            out.append(brief.overview)
        out += list(section_texts(overview))
    for sec in rest:
        out.append(sec.title)
        out += list(section_texts(sec))
    return [t for t in out if norm(t)]


def expected_urls(brief: Brief) -> list[str]:
    out: list[str] = []
    overview, rest = _ordered_sections(brief)
    linked: set[str] = set()  # papers whose links row was shown
    for sec in ([overview] if overview is not None else []) + rest:
        for item in sec.items:
            if isinstance(item, PaperItem) and sec.kind == "others":
                out.append(item.links.hf or item.links.abs)
            elif isinstance(item, PaperItem):
                ln = item.links
                out.append(ln.abs)
                if item.paper_id not in linked:
                    linked.add(item.paper_id)
                    out += [ln.abs, ln.pdf]
                    out += [u for u in (ln.hf, ln.repo, ln.project) if u]
            elif isinstance(item, RepoItem):
                out.append(item.url)
                if item.paper_id:
                    out.append(abs_url(item.paper_id))
            elif isinstance(item, IdeaItem):
                out += [abs_url(p) for p in item.paper_ids]
    return [u.strip() for u in out if _is_web(u)]


def strip_continued(part: str, brief: Brief) -> str:
    """Normalise one part and drop the repeated heading a split puts at its start."""
    text = norm(part)
    cont = norm(label("continued", brief.language))
    titles = {brief.title, *(s.title for s in brief.sections)}
    for noise in sorted({norm(t) + cont for t in titles} | {cont}, key=len, reverse=True):
        if text.startswith(noise):
            return text[len(noise) :]
    return text


def assert_in_order(visible_parts: Sequence[str], brief: Brief) -> None:
    joined = "".join(strip_continued(p, brief) for p in visible_parts)
    pos = 0
    for text in expected_texts(brief):
        want = norm(text)
        found = joined.find(want, pos)
        assert found >= 0, f"missing or out of order: {text[:80]!r}"
        pos = found + len(want)


def assert_links_in_order(hrefs: Sequence[str], brief: Brief) -> None:
    """Every web URL of the brief is a link target, in order; no other targets exist."""
    got = [unquote(h) for h in hrefs]
    expected = [unquote(u) for u in expected_urls(brief)]
    assert set(got) <= set(expected), f"unexpected link targets: {set(got) - set(expected)}"
    pos = 0
    for url in expected:
        try:
            pos = got.index(url, pos) + 1
        except ValueError:
            raise AssertionError(f"link missing or out of order: {url}") from None
