"""What a brief says, line by line, for every platform: the shared content layout.

`document(brief)` turns the Brief into `DocSection`s of plain-text `Line`s (bold and link
spans, no markup). Each platform module renders those lines natively and `bot.split`
packs them, so the three platforms show the same content in the same order.

A paper shown twice (a top pick that is also a must-read) gets its contribution, why and
relation only the first time; later it shows its title, links and note.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.split import DocSection, Line, Span
from digest.chatstate import feedback_buttons
from digest.i18n import label
from digest.models import (
    Brief,
    Button,
    Document,
    IdeaItem,
    Item,
    Language,
    PaperItem,
    Reply,
    RepoItem,
    Section,
    SourceItem,
    TextItem,
    abs_url,
)

__all__ = [
    "SEP",
    "Page",
    "continued_line",
    "document",
    "page_of",
    "safe_url",
    "thread_pages",
]

SEP = " · "


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links; anything else is shown as text by the caller."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _link(text: str, url: str | None, *, bold: bool = False) -> list[Span]:
    safe = safe_url(url)
    if safe is not None:
        return [Span(text, bold=bold, url=safe)]
    # Not a web link: keep both the label and the raw value visible, as plain text.
    return [Span(text, bold=bold)] + ([Span(f" ({url})")] if url else [])


def _labelled(key: str, lang: Language, text: str) -> Line:
    return Line((Span(f"{label(key, lang)}: ", bold=True), Span(text)))


def continued_line(title: str, lang: Language, kind: str = "heading") -> Line:
    return Line(
        (Span(f"{title} {label('continued', lang)}"),), "title" if kind == "title" else "heading"
    )


class _Seen:
    """Texts already shown per paper id, so repeats are not printed twice; and the one
    number of each paper in the whole document (`/paper 7` means the paper shown as 7)."""

    def __init__(self) -> None:
        self._shown: dict[tuple[str, str], str] = {}
        self._numbers: dict[str, int] = {}

    def number(self, paper_id: str) -> int:
        return self._numbers.setdefault(paper_id, len(self._numbers) + 1)

    def fresh(self, paper_id: str, field: str, text: str) -> bool:
        if not text or self._shown.get((paper_id, field)) == text:
            return False
        self._shown[(paper_id, field)] = text
        return True


def _paper(item: PaperItem, n: int, kind: str, lang: Language, seen: _Seen) -> list[Line]:
    lines = [Line((Span(f"{n}. ", bold=True), *_link(item.title, item.links.abs, bold=True)))]
    links: list[Span] = []
    for name, url in (
        ("arXiv", item.links.abs),
        ("PDF", item.links.pdf),
        ("HF", item.links.hf),
        ("Repo", item.links.repo),
        ("Project", item.links.project),
    ):
        if url:
            if links:
                links.append(Span(SEP))
            links.extend(_link(name, url))
    if links:
        lines.append(Line(tuple(links), "meta"))
    meta = [
        str(item.date) if item.date else "",
        item.category,
        item.arxiv_category if item.arxiv_category != item.category else "",
        f"{label('upvotes', lang)} {item.upvotes}" if item.upvotes is not None else "",
    ]
    if any(meta):
        lines.append(Line((Span(SEP.join(m for m in meta if m)),), "meta"))
    pid = item.paper_id
    if kind == "others":
        if seen.fresh(pid, "contribution", item.contribution):
            lines.append(Line((Span(item.contribution),)))
    elif seen.fresh(pid, "contribution", item.contribution):
        lines.append(_labelled("contribution", lang, item.contribution))
    for detail in item.details:
        lines.append(Line((Span(f"{detail.label}: ", bold=True), Span(detail.text))))
    for key, text in (("why", item.why), ("relation", item.relation)):
        if seen.fresh(pid, key, text):
            lines.append(_labelled(key, lang, text))
    # Extractive relations are the matched interests already: say them once.
    if item.matched and not all(m in item.relation for m in item.matched):
        lines.append(_labelled("matched", lang, ", ".join(item.matched)))
    if item.note:
        if kind == "must_read":
            lines.append(_labelled("read_reason", lang, item.note))
        else:
            lines.append(Line((Span(f"→ {item.note}"),)))
    return lines


def _repo(item: RepoItem, n: int, lang: Language) -> list[Line]:
    lines = [Line((Span(f"{n}. ", bold=True), *_link(item.full_name, item.url, bold=True)))]
    stars = (
        f"{label('stars', lang)} {item.stars}"
        if item.stars is not None
        else f"{label('stars', lang)}: {label('not_verified', lang)}"
    )
    meta = [stars]
    if item.pushed_at is not None:
        meta.append(f"{label('last_push', lang)} {item.pushed_at.date()}")
    if item.archived:
        meta.append(label("archived", lang))
    lines.append(Line((Span(SEP.join(meta)),), "meta"))
    if item.description:
        lines.append(Line((Span(item.description),)))
    if item.paper_id:
        title = item.paper_title or item.paper_id
        lines.append(
            Line(
                (
                    Span(f"{label('paper', lang)}: ", bold=True),
                    *_link(title, abs_url(item.paper_id)),
                )
            )
        )
    if item.note:
        lines.append(Line((Span(f"→ {item.note}"),)))
    return lines


def _idea(item: IdeaItem, n: int, lang: Language) -> list[Line]:
    lines = [Line((Span(f"{n}. {item.title}", bold=True),))]
    if item.body:
        lines.append(Line((Span(item.body),)))
    if item.experiment:
        lines.append(_labelled("first_experiment", lang, item.experiment))
    if item.paper_ids:
        spans: list[Span] = [Span(f"{label('based_on', lang)}: ", bold=True)]
        for i, pid in enumerate(item.paper_ids):
            if i:
                spans.append(Span(SEP))
            spans.extend(_link(pid, abs_url(pid)))
        lines.append(Line(tuple(spans), "meta"))
    return lines


def _source(item: SourceItem) -> list[Line]:
    return [Line((Span(f"{item.source} [{item.status}]", bold=True), Span(f": {item.detail}")))]


def _items(section: Section, lang: Language, seen: _Seen) -> Iterator[list[Line]]:
    if section.intro:
        yield [Line((Span(section.intro),))]
    counters: dict[str, int] = {}
    for item in section.items:
        n = counters[item.type] = counters.get(item.type, 0) + 1
        if isinstance(item, PaperItem):
            # Papers are numbered across the document, in the order of Brief.paper_ids().
            n = seen.number(item.paper_id)
        yield _item(item, n, section.kind, lang, seen)


def _item(item: Item, n: int, kind: str, lang: Language, seen: _Seen) -> list[Line]:
    if isinstance(item, PaperItem):
        return _paper(item, n, kind, lang, seen)
    if isinstance(item, RepoItem):
        return _repo(item, n, lang)
    if isinstance(item, IdeaItem):
        return _idea(item, n, lang)
    if isinstance(item, SourceItem):
        return _source(item)
    assert isinstance(item, TextItem)
    return [Line((Span(item.text),))]


def document(brief: Brief, *, opening_alone: bool = False) -> list[DocSection]:
    """The brief as sections: first the title with the overview, then each section."""
    lang = brief.language
    seen = _Seen()
    overview_section = brief.section("overview")
    opening_items: list[list[Line]] = []
    overview_title = label("overview", lang) if overview_section is None else overview_section.title
    first = [Line((Span(overview_title),), "heading")]
    rest: list[list[Line]] = list(_items(overview_section, lang, seen)) if overview_section else []
    shown = (
        {i.text for i in overview_section.items if isinstance(i, TextItem)}
        if overview_section
        else set()
    )
    if brief.overview and brief.overview not in shown:
        first.append(Line((Span(brief.overview),)))
    elif rest:
        first.extend(rest.pop(0))  # the heading travels with the first item
    opening_items.append(first)
    opening_items.extend(rest)
    # The extractive (or fell-back) note is the top picks' intro, written by compose.
    sections = [
        DocSection(
            heading=Line((Span(brief.title),), "title"),
            continued=continued_line(brief.title, lang, "title"),
            items=opening_items,
            break_after=opening_alone,
        )
    ]
    for sec in brief.sections:
        if sec is overview_section:
            continue
        sections.append(
            DocSection(
                heading=Line((Span(sec.title),), "heading"),
                continued=continued_line(sec.title, lang),
                items=list(_items(sec, lang, seen)),
            )
        )
    return sections


# --- pages: what one rendered message (or run of messages) is made from -----------------


@dataclass(frozen=True)
class Page:
    """Platform-neutral input of a renderer: a titled run of sections.

    `title`/`subtitle` head a Feishu card (Telegram and Slack show the title as the first
    line when a section carries it). `buttons` go under the last message; `paper_id` says
    which paper the messages are about (a thread's context).
    """

    title: str
    subtitle: str
    language: Language
    sections: list[DocSection]
    buttons: tuple[Button, ...] = ()
    preview_url: str | None = None
    paper_id: str | None = None
    private: bool = False


def _first_pick_url(brief: Brief) -> str | None:
    ordered = sorted(brief.sections, key=lambda s: s.kind != "top_picks")
    for section in ordered:
        for item in section.items:
            if isinstance(item, PaperItem):
                return item.links.abs
    return None


def _reply_sections(reply: Reply, seen: _Seen) -> list[DocSection]:
    lang = reply.language
    out: list[DocSection] = []
    for i, sec in enumerate(reply.sections):
        heading: Line | None = None
        if i == 0 and reply.title:
            heading = Line((Span(reply.title),), "title")
        if sec.title:
            titled = Line((Span(sec.title),), "heading")
            if heading is None:
                heading = titled
            else:
                out.append(DocSection(heading=heading, continued=None, items=[]))
                heading = titled
        out.append(
            DocSection(
                heading=heading,
                continued=continued_line(sec.title, lang) if sec.title else None,
                items=list(_items(sec, lang, seen)),
            )
        )
    if not out and reply.title:
        out.append(DocSection(heading=Line((Span(reply.title),), "title"), continued=None))
    return out


def page_of(doc: Document, *, opening_alone: bool = False, preview: bool = True) -> Page:
    """The whole document as one page (a renderer splits it into messages)."""
    if isinstance(doc, Brief):
        return Page(
            title=doc.title,
            subtitle=str(doc.date),
            language=doc.language,
            sections=document(doc, opening_alone=opening_alone),
            preview_url=_first_pick_url(doc) if preview else None,
        )
    return Page(
        title=doc.title,
        subtitle="",
        language=doc.language,
        sections=_reply_sections(doc, _Seen()),
        buttons=tuple(doc.buttons),
        paper_id=doc.paper_id,
        private=doc.private,
    )


def thread_pages(brief: Brief, *, buttons: bool = True) -> list[Page]:
    """A threaded brief: the head (title, overview, anything before the picks), each top
    pick on its own (with feedback buttons and its paper id), then the other sections."""
    lang = brief.language
    picks = brief.section("top_picks")
    if picks is None or not any(isinstance(i, PaperItem) for i in picks.items):
        return [page_of(brief, preview=False)]
    seen = _Seen()
    at = next(i for i, sec in enumerate(brief.sections) if sec is picks)
    overview = brief.section("overview")
    before = [sec for sec in brief.sections[:at] if sec is not overview]
    after = [sec for sec in brief.sections[at + 1 :] if sec is not overview]
    pages = [
        Page(
            title=brief.title,
            subtitle=str(brief.date),
            language=lang,
            sections=[document(brief)[0], *_rebuild(lang, before, seen)],
        )
    ]
    # Text between picks (a group's heading) travels with the pick after it.
    pending: list[list[Line]] = [[Line((Span(picks.intro),))]] if picks.intro else []
    n = 0
    for item in picks.items:
        if not isinstance(item, PaperItem):
            pending.append(_item(item, 0, "top_picks", lang, seen))
            continue
        n += 1
        # The first pick carries the section's title, as in the whole brief.
        heading = Line((Span(picks.title),), "heading") if n == 1 else None
        lines = _paper(item, seen.number(item.paper_id), "top_picks", lang, seen)
        pages.append(
            Page(
                title=brief.title,
                subtitle=str(brief.date),
                language=lang,
                sections=[DocSection(heading=heading, continued=None, items=[*pending, lines])],
                buttons=feedback_buttons(item.paper_id) if buttons else (),
                preview_url=item.links.abs,
                paper_id=item.paper_id,
            )
        )
        pending = []
    if pending:
        pages[-1].sections[0].items.extend(pending)
    rest = _rebuild(lang, after, seen)
    if rest:
        pages.append(
            Page(title=brief.title, subtitle=str(brief.date), language=lang, sections=rest)
        )
    return pages


def _rebuild(lang: Language, sections: list[Section], seen: _Seen) -> list[DocSection]:
    return [
        DocSection(
            heading=Line((Span(sec.title),), "heading"),
            continued=continued_line(sec.title, lang),
            items=list(_items(sec, lang, seen)),
        )
        for sec in sections
    ]
