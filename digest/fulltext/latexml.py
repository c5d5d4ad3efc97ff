"""arXiv's HTML rendering (LaTeXML output) as a FullText.

selectolax (the Lexbor engine) parses it: an HTML5 parser that is fast and frugal on
pages of several megabytes, with CSS selectors built in. The structure read is LaTeXML's:

    article.ltx_document
      h1.ltx_title_document, div.ltx_abstract > p.ltx_p
      section.ltx_section#S3 > h2.ltx_title_section > span.ltx_tag ("3 ")
        section.ltx_subsection#S3.SS1 > h3 …    section.ltx_appendix#A1 > h2 …
        div.ltx_para > p.ltx_p                   text, with math[alttext] and cite
        figure.ltx_table#S3.T1 > figcaption, table.ltx_tabular > tr > td|th
        figure.ltx_figure#S3.F1 > img[src], figcaption
      section.ltx_bibliography > li.ltx_bibitem

Everything becomes plain text: math is its `alttext` cleaned to Unicode (`x^{2}` -> `x²`),
footnote marks and tags are dropped, whitespace collapsed. Nothing of the page's markup,
scripts or links survives, except a figure's image URL, resolved against the page and
kept only when it is on the page's own host.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from digest.cleaning import latex_to_text
from digest.fulltext.model import Figure, FullText, Paragraph, Section, Table

__all__ = ["NotLaTeXML", "is_no_html_page", "parse_latexml"]

_SECTION_TAGS = ("ltx_section", "ltx_subsection", "ltx_subsubsection", "ltx_appendix")
_LEVEL = {"ltx_section": 1, "ltx_appendix": 1, "ltx_subsection": 2, "ltx_subsubsection": 3}
_VERSION = re.compile(r"v(\d+)/?$")
_TAG_NUMBER = re.compile(r"^(?:Appendix\s+|§\s*)?([A-Z]?\d*(?:\.\d+)*|[A-Z])\.?$")
_CAPTION_TAG = re.compile(r"^(?:Table|Figure|Fig\.|TABLE|FIGURE)\s*([A-Z]?\d+)\s*[:.]?\s*")
# arXiv's 404 page for papers without an HTML rendering.
_NO_HTML = re.compile(r"No HTML for\b", re.IGNORECASE)
MAX_TABLE_ROWS = 60
MAX_CELL_CHARS = 200


class NotLaTeXML(ValueError):
    """The page is not a LaTeXML document (no article.ltx_document)."""


def is_no_html_page(text: str) -> bool:
    return bool(_NO_HTML.search(text[:20_000]))


def _text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return " ".join(node.text(deep=True).split())


def _prepare(tree: LexborHTMLParser) -> None:
    """Math to its cleaned alttext; footnote marks, scripts and styles away."""
    for node in tree.css("script, style, noscript, sup.ltx_note_mark, annotation"):
        node.decompose()
    for math in tree.css("math"):
        alt = math.attributes.get("alttext") or ""
        math.replace_with(latex_to_text(alt) if alt else " ")


def _heading(section: LexborNode) -> tuple[str, str]:
    """(number, title) of a section from its h2/h3/h4 and the tag in it."""
    head = section.css_first("h2.ltx_title, h3.ltx_title, h4.ltx_title, h5.ltx_title, h6.ltx_title")
    owner = _owner(head, "section") if head is not None else None
    if head is None or owner is None or owner.mem_id != section.mem_id:
        return "", ""
    tag = head.css_first("span.ltx_tag")
    number = ""
    if tag is not None:
        raw = _text(tag)
        m = _TAG_NUMBER.match(raw)
        number = m.group(1) if m else raw.rstrip(".:")
        tag.decompose()
    return number, _text(head)


def _owner(node: LexborNode, tag: str) -> LexborNode | None:
    parent = node.parent
    while parent is not None:
        if parent.tag == tag:
            return parent
        parent = parent.parent
    return None


def _inside(node: LexborNode, tags: tuple[str, ...], classes: tuple[str, ...] = ()) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        cls = parent.attributes.get("class") or ""
        if classes and any(c in cls.split() for c in classes):
            return True
        parent = parent.parent
    return False


def _caption(figure: LexborNode) -> tuple[str, str]:
    """(number, caption text) of a figure or table."""
    cap = figure.css_first("figcaption")
    if cap is None:
        return "", ""
    tag = cap.css_first("span.ltx_tag")
    number = ""
    if tag is not None:
        m = _CAPTION_TAG.match(_text(tag))
        number = m.group(1) if m else ""
        tag.decompose()
    text = _text(cap)
    if not number:
        m = _CAPTION_TAG.match(text)
        if m:
            number, text = m.group(1), text[m.end() :]
    return number, text.lstrip(":. ")


def _rows(table: LexborNode) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in table.css("tr"):
        cells = [_text(c)[:MAX_CELL_CHARS] for c in tr.css("td, th")]
        if any(cells):
            rows.append(cells)
        if len(rows) >= MAX_TABLE_ROWS:
            break
    return rows


def _base_url(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base")
    href = base.attributes.get("href") if base is not None else None
    if href:
        return urljoin(page_url, href)
    # Images are relative to the paper's folder: /html/2605.29559v1/x1.png.
    return page_url if page_url.endswith("/") else page_url + "/"


def _image_url(figure: LexborNode, base: str, host: str) -> str | None:
    img = figure.css_first("img")
    src = img.attributes.get("src") if img is not None else None
    if not src:
        return None
    url = urljoin(base, src.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != host:
        return None  # only the paper's own images, from the host we read it from
    return url


def _version(tree: LexborHTMLParser, page_url: str) -> int | None:
    candidates = [page_url]
    for sel, attr in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = tree.css_first(sel)
        if node is not None and node.attributes.get(attr):
            candidates.append(str(node.attributes.get(attr)))
    for url in candidates:
        m = _VERSION.search(urlsplit(url).path)
        if m:
            return int(m.group(1))
    return None


def _sections(article: LexborNode) -> list[tuple[LexborNode, Section]]:
    out: list[tuple[LexborNode, Section]] = []
    for node in article.css("section"):
        classes = (node.attributes.get("class") or "").split()
        kind = next((c for c in _SECTION_TAGS if c in classes), None)
        if kind is None:
            continue
        number, title = _heading(node)
        out.append(
            (
                node,
                Section(
                    number=number,
                    title=title or number or "Untitled",
                    anchor=node.attributes.get("id") or "",
                    level=_LEVEL[kind],
                ),
            )
        )
    return out


def parse_latexml(
    html: str,
    *,
    paper_id: str,
    page_url: str,
    fetched_at: dt.datetime,
    version: int | None = None,
) -> FullText:
    """The FullText of a LaTeXML page. Raises NotLaTeXML for any other page."""
    tree = LexborHTMLParser(html)
    article = tree.css_first("article.ltx_document")
    if article is None:
        raise NotLaTeXML("no article.ltx_document")
    base = _base_url(tree, page_url)
    host = urlsplit(page_url).netloc
    found_version = _version(tree, page_url) or version
    _prepare(tree)

    title_node = article.css_first("h1.ltx_title_document")
    title = _text(title_node)
    abstract = " ".join(_text(p) for p in article.css("div.ltx_abstract p"))

    tables: list[Table] = []
    figures: list[Figure] = []
    # Subfigures sit inside their figure: the outer one carries the number and caption.
    outer = [
        f for f in article.css("figure.ltx_table, figure.ltx_figure") if not _inside(f, ("figure",))
    ]
    for fig in outer:
        classes = (fig.attributes.get("class") or "").split()
        owner = _owner(fig, "section")
        section = (owner.attributes.get("id") or "") if owner is not None else ""
        number, caption = _caption(fig)
        anchor = fig.attributes.get("id") or ""
        tabular = fig.css_first("table.ltx_tabular")
        if "ltx_table" in classes or (tabular is not None and "ltx_figure" not in classes):
            rows = _rows(tabular) if tabular is not None else []
            tables.append(
                Table(number=number, caption=caption, rows=rows, anchor=anchor, section=section)
            )
        else:
            figures.append(
                Figure(
                    number=number,
                    caption=caption,
                    image_url=_image_url(fig, base, host),
                    anchor=anchor,
                    section=section,
                )
            )
        fig.decompose()  # its text is kept as caption and cells, not as paragraphs

    references = [
        _text(li) for li in article.css("section.ltx_bibliography li.ltx_bibitem") if _text(li)
    ]
    for bib in article.css("section.ltx_bibliography"):
        bib.decompose()

    sections = _sections(article)
    by_node = {node.mem_id: section for node, section in sections}
    for para in article.css("div.ltx_para"):
        if _inside(para, ("figure", "table"), ("ltx_para", "ltx_abstract", "ltx_note")):
            continue  # captions, nested lists (kept with their outer paragraph), abstract
        owner = _owner(para, "section")
        home = by_node.get(owner.mem_id) if owner is not None else None
        text = _text(para)
        if home is not None and text:
            home.paragraphs.append(Paragraph(text=text))
    # A paragraph heading (div.ltx_paragraph > h5) stays in its section's text.
    return FullText(
        paper_id=paper_id,
        kind="html",
        version=found_version,
        url=page_url,
        fetched_at=fetched_at,
        title=title,
        abstract=abstract,
        sections=[s for _, s in sections if s.paragraphs or s.title],
        tables=tables,
        figures=figures,
        references=references,
    )
