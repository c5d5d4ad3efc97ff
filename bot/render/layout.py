"""What a brief says, line by line, for every platform: the shared content layout.

`document(brief)` turns the Brief into `DocSection`s of plain-text `Line`s (bold and link
spans, no markup). Each platform module renders those lines natively and `bot.render.split`
packs them, so the three platforms show the same content in the same order.

The brief reads top-down: the title with the retrieval note (`Brief.header`) and the
overview, the picks as full cards, "worth a glance" as one line per paper (number, title
link, category, a one-line takeaway), then read-closely, repos, ideas, conclusion, and the
sources in small print, which never open a message on their own.

A paper shown twice (a top pick that is also a must-read) gets its links, meta,
contribution, why and relation only the first time; later it shows its title and note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from bot.render.split import DocSection, Line, Span, cut_point
from digest.chatstate import feedback_buttons
from digest.i18n import label
from digest.models import (
    Brief,
    Button,
    Document,
    FigureRef,
    IdeaItem,
    Item,
    Language,
    PaperItem,
    PaperLinks,
    Reply,
    RepoItem,
    Section,
    SourceItem,
    SourceStatus,
    TextItem,
    abs_url,
)

__all__ = [
    "SEP",
    "TAKEAWAY_MAX",
    "Page",
    "announced",
    "continued_line",
    "document",
    "first_sentence",
    "glance_takeaway",
    "matched_names",
    "named_links",
    "one_line",
    "page_of",
    "repo_facts",
    "safe_url",
    "source_status",
    "text_label",
    "thread_pages",
]

SEP = " · "
DASH = " — "


def text_label(key: str, lang: Language, **fmt: str) -> str:
    """A fixed string of the brief (digest.i18n), for the renderers."""
    return label(key, lang, **fmt)


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


def named_links(links: PaperLinks) -> list[tuple[str, str]]:
    """A paper's links as every renderer shows them: (name, URL), in this order, the ones
    it has. A repository only announced is not among them (see `announced`)."""
    named = (
        ("arXiv", links.abs),
        ("HTML", links.html),
        ("PDF", links.pdf),
        ("HF", links.hf),
        ("Repo", links.repo),
        ("Project", links.project),
    )
    return [(name, url) for name, url in named if url]


def announced(links: PaperLinks, lang: Language) -> str:
    """A repository the paper's text names but nobody verified, as plain text ("code
    announced: github.com/owner/name"): never a "Repo" link. Empty when there is none."""
    if not links.announced:
        return ""
    shown = re.sub(r"^https?://(?:www\.)?", "", links.announced)
    return label("code_announced", lang) + (":" if lang == "zh" else ": ") + shown


def _labelled(key: str, lang: Language, text: str) -> Line:
    return Line((Span(f"{label(key, lang)}: ", bold=True), Span(text)))


def continued_line(title: str, lang: Language, kind: str = "heading") -> Line:
    return Line(
        (Span(f"{title} {label('continued', lang)}"),), "title" if kind == "title" else "heading"
    )


# --- one-line takeaways -------------------------------------------------------------------

TAKEAWAY_MAX: Final = 150  # a glance line: most abstracts' telling sentence fits whole
# A takeaway up to this much longer is kept whole; a longer one is cut.
_TAKEAWAY_SLACK: Final = 12
_ABBREVIATIONS: Final = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "Eq.", "No.")
# A sentence ends at CJK end punctuation, or at ".!?" before a space and a capital, a digit,
# a quote or a CJK character (not inside "0.81" or "e.g. the").
_SENTENCE_END = re.compile(
    r"[\u3002\uff01\uff1f]|[.!?](?=\s+[A-Z0-9\"\u201c(\[\u4e00-\u9fff]|\s*$)"
)
_TRAILING = " ,;:\u3001\uff0c\uff1b\uff1a-\u2013\u2014"


def first_sentence(text: str) -> str:
    """The first sentence of `text`, whitespace collapsed."""
    text = " ".join(text.split())
    for m in _SENTENCE_END.finditer(text):
        head = text[: m.end()]
        if m.group() == "." and (
            head.endswith(_ABBREVIATIONS) or re.search(r"(?:^|\s)[A-Z]\.$", head)
        ):
            continue  # "e.g." or an initial ("J. Smith")
        return head
    return text


def one_line(text: str, limit: int = TAKEAWAY_MAX) -> str:
    """`text` on one line, cut at a word (or a grapheme) to about `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit + _TAKEAWAY_SLACK:
        return text
    cut = cut_point(text, limit - 1)
    return text[:cut].rstrip(_TRAILING) + "…"


def glance_takeaway(item: PaperItem) -> str:
    """The one-line takeaway of a "worth a glance" paper: its note (written for the
    glance list), else the first sentence of its contribution."""
    if item.note.strip():
        return one_line(item.note)
    return one_line(first_sentence(item.contribution))


def _glance(item: PaperItem, n: int) -> Line:
    """A "worth a glance" paper on one line: number, title link, category, takeaway."""
    spans = [Span(f"{n}. ", bold=True), *_link(item.title, item.links.hf or item.links.abs)]
    if item.category.strip():
        spans.append(Span(SEP + " ".join(item.category.split())))
    takeaway = glance_takeaway(item)
    if takeaway:
        spans.append(Span(DASH + takeaway))
    return Line(tuple(spans))


# --- items --------------------------------------------------------------------------------


class _Seen:
    """Texts already shown per paper id, so repeats are not printed twice; and the one
    number of each paper in the whole document (`/paper 7` means the paper shown as 7)."""

    def __init__(self) -> None:
        self._shown: dict[tuple[str, str], str] = {}
        self._numbers: dict[str, int] = {}

    def number(self, paper_id: str) -> int:
        return self._numbers.setdefault(paper_id, len(self._numbers) + 1)

    def shown_as(self, paper_id: str) -> int | None:
        """The number a paper was already shown with, or None."""
        return self._numbers.get(paper_id)

    def fresh(self, paper_id: str, field: str, text: str) -> bool:
        if not text or self._shown.get((paper_id, field)) == text:
            return False
        self._shown[(paper_id, field)] = text
        return True


def matched_names(item: PaperItem) -> list[str]:
    """The interests a paper matched as the brief names them (labels on a page in the
    profile's language), for briefs made before labels were kept: the phrases."""
    if len(item.matched_labels) == len(item.matched):
        return item.matched_labels
    return item.matched


def _must_read_ref(item: PaperItem, n: int, lang: Language, seen: _Seen) -> list[Line]:
    """A must-read whose card is above: a bullet, its title and its number up there as a
    reference ("• SkillOS … (#3 above)"), then what the card did not say (its reason).
    Numbering these 1, 3, 4 would read as if items were missing."""
    ref = Span(f" ({label('pick_ref', lang, n=str(n))})")
    lines = [Line((Span("• "), *_link(item.title, item.links.abs, bold=True), ref))]
    return lines + _paper(item, n, "must_read", lang, seen)[1:]


def _paper(item: PaperItem, n: int, kind: str, lang: Language, seen: _Seen) -> list[Line]:
    lines = [Line((Span(f"{n}. ", bold=True), *_link(item.title, item.links.abs, bold=True)))]
    pid = item.paper_id
    # Links and meta once per paper: a must-read that was a pick is its title and reason.
    if seen.fresh(pid, "links", "shown"):
        links: list[Span] = []
        for name, url in named_links(item.links):
            if links:
                links.append(Span(SEP))
            links.extend(_link(name, url))
        if item.links.announced:
            links.append(Span(SEP + announced(item.links, lang)))
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
    if seen.fresh(pid, "contribution", item.contribution):
        lines.append(_labelled("contribution", lang, item.contribution))
    for detail in item.details:
        lines.append(Line((Span(f"{detail.label}: ", bold=True), Span(detail.text))))
    for key, text in (("why", item.why), ("relation", item.relation)):
        if seen.fresh(pid, key, text):
            lines.append(_labelled(key, lang, text))
    # A pick's note says why it was picked (its interests among the reasons): then the
    # bare list of matched interests says nothing more.
    names = matched_names(item)
    matched = ", ".join(names)
    if kind == "top_picks" and item.note:
        seen.fresh(pid, "matched", matched)
    elif all(m in item.relation for m in names):
        seen.fresh(pid, "matched", matched)  # the relation names them
    elif seen.fresh(pid, "matched", matched):
        lines.append(_labelled("matched", lang, matched))
    if item.note:
        if kind == "must_read":
            lines.append(_labelled("read_reason", lang, item.note))
        elif kind == "top_picks":
            lines.append(_labelled("why_picked", lang, item.note))
        else:
            lines.append(Line((Span(f"→ {item.note}"),)))
    return lines


def _stars_delta(item: RepoItem, lang: Language) -> str:
    if item.stars_delta is None:
        return ""
    delta = f"{item.stars_delta:+,}"
    days = item.delta_days or 1
    if days <= 1:
        return label("stars_since_yesterday", lang, delta=delta)
    return label("stars_delta", lang, delta=delta, days=str(days))


def repo_facts(item: RepoItem, lang: Language) -> list[str]:
    """What was fetched about a repo: stars and their change, last push, archived. A repo
    GitHub did not answer for shows none of these (the section's intro says why)."""
    facts: list[str] = []
    if item.archived:
        facts.append(label("archived", lang))
    if item.stars is not None:
        stars = f"\u2605 {item.stars:,}"
        delta = _stars_delta(item, lang)
        facts.append(f"{stars} ({delta})" if delta else stars)
    if item.pushed_at is not None:
        facts.append(f"{label('last_push', lang)} {item.pushed_at.date()}")
    return facts


def _repo(item: RepoItem, n: int, lang: Language) -> list[Line]:
    lines = [Line((Span(f"{n}. ", bold=True), *_link(item.full_name, item.url, bold=True)))]
    facts = repo_facts(item, lang)
    if facts:
        lines.append(Line((Span(SEP.join(facts)),), "meta"))
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


def source_status(status: SourceStatus, lang: Language) -> str:
    return label(f"status_{status}", lang)


def _source(item: SourceItem, lang: Language) -> list[Line]:
    # Small print: who answered, and what was used instead.
    head = f"{item.source} [{source_status(item.status, lang)}]"
    return [Line((Span(head, bold=True), Span(f": {item.detail}")), "meta")]


def _items(section: Section, lang: Language, seen: _Seen) -> Iterator[list[Line]]:
    if section.intro:
        yield [Line((Span(section.intro),), "meta" if section.kind == "sources" else "text")]
    counters: dict[str, int] = {}
    glance: list[Line] = []  # "worth a glance": one line per paper, no gaps between them
    for item in section.items:
        n = counters[item.type] = counters.get(item.type, 0) + 1
        shown_above: int | None = None
        if isinstance(item, PaperItem):
            shown_above = seen.shown_as(item.paper_id)
            # Papers are numbered across the document, in the order of Brief.paper_ids().
            n = seen.number(item.paper_id)
            if section.kind == "others":
                glance.append(_glance(item, n))
                continue
        if glance:
            yield glance
            glance = []
        if isinstance(item, PaperItem) and section.kind == "must_read" and shown_above:
            yield _must_read_ref(item, shown_above, lang, seen)
            continue
        yield _item(item, n, section.kind, lang, seen)
    if glance:
        yield glance


def _item(item: Item, n: int, kind: str, lang: Language, seen: _Seen) -> list[Line]:
    if isinstance(item, PaperItem):
        return _paper(item, n, kind, lang, seen)
    if isinstance(item, RepoItem):
        return _repo(item, n, lang)
    if isinstance(item, IdeaItem):
        return _idea(item, n, lang)
    if isinstance(item, SourceItem):
        return _source(item, lang)
    assert isinstance(item, TextItem)
    lines = [Line((Span(item.text),), "meta" if kind == "sources" else "text")]
    if item.sources:
        # The sections an answer drew on, linked into the paper (written by code).
        spans: list[Span] = [Span(f"{label('cited', lang)}: ", bold=True)]
        for i, link in enumerate(item.sources):
            if i:
                spans.append(Span(SEP))
            spans.extend(_link(link.label, link.url) if link.url else [Span(link.label)])
        lines.append(Line(tuple(spans), "meta"))
    return lines


def _doc_section(sec: Section, lang: Language, seen: _Seen) -> DocSection:
    return DocSection(
        heading=Line((Span(sec.title),), "heading"),
        continued=continued_line(sec.title, lang),
        items=list(_items(sec, lang, seen)),
        # The sources never arrive as a message of their own.
        keep_with_previous=sec.kind == "sources",
    )


def document(brief: Brief, *, opening_alone: bool = False) -> list[DocSection]:
    """The brief as sections: first the title with the retrieval note and the overview,
    then each section."""
    lang = brief.language
    seen = _Seen()
    overview_section = brief.section("overview")
    opening_items: list[list[Line]] = []
    if brief.header.strip():
        opening_items.append([Line((Span(brief.header),), "meta")])
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
    sections += [
        _doc_section(sec, lang, seen) for sec in brief.sections if sec is not overview_section
    ]
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
    figure: FigureRef | None = None  # shown first: an image with its caption


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
        figure=doc.figure,
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
    if rest and all(sec.keep_with_previous for sec in rest):
        pages[-1].sections.extend(rest)  # the sources alone: with the last pick instead
    elif rest:
        pages.append(
            Page(title=brief.title, subtitle=str(brief.date), language=lang, sections=rest)
        )
    return pages


def _rebuild(lang: Language, sections: list[Section], seen: _Seen) -> list[DocSection]:
    return [_doc_section(sec, lang, seen) for sec in sections]
