"""Telegram rendering: the Brief as HTML-parse-mode messages within Telegram's limits.

Only the tags Telegram supports are produced (`b`, `a href`); text is escaped with
`html.escape`, so a title like "<b>x</b>" is shown literally. Limits are counted on the
visible text, which is what Telegram counts (code points after entity parsing).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any, ClassVar, NamedTuple

from bot.core.buttons import button_data
from bot.core.messages import OutMessage
from bot.render.layout import Page, page_of, safe_url, thread_pages
from bot.render.split import Cost, Line, Span, cut_point, pack
from bot.render.threads import threaded
from digest.i18n import label
from digest.models import Brief, Button, Document, FigureRef

__all__ = [
    "ALLOWED_TAGS",
    "CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "MESSAGE_ENTITIES",
    "Fragment",
    "TelegramLayout",
    "parse_html",
    "render_telegram",
    "visible_length",
    "visible_text",
]

# The Bot API's message limits (python-telegram-bot's `telegram.constants.MessageLimit`, not
# imported: the SDK takes ~0.3 s to import and rendering needs none of it; a test checks
# them against it).
MAX_TEXT_LENGTH = 4096  # characters of a message's text, after entities are parsed
MESSAGE_ENTITIES = 100  # formatting entities Telegram keeps per message
CAPTION_LENGTH = 1024  # characters of a photo's caption

# Tags Telegram's HTML parse mode accepts (Bot API "HTML style").
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "span", "a",
     "code", "pre", "blockquote", "tg-emoji"}
)  # fmt: skip

_UNIT_SEP = "\n\n"  # between fragments (sections, items) in one message


class _Parsed(HTMLParser):
    """Visible text, links and tag structure of Telegram HTML; strict about nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self.entities = 0
        self.errors: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"unsupported tag <{tag}>")
        if tag == "a":
            href = dict(attrs).get("href")
            if not href:
                self.errors.append("<a> without href")
            else:
                self.hrefs.append(href)
        self.entities += 1
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self._stack or self._stack[-1] != tag:
            self.errors.append(f"misnested </{tag}>")
            return
        self._stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def close(self) -> None:
        super().close()
        if self._stack:
            self.errors.append(f"unclosed <{self._stack[-1]}>")

    @property
    def text(self) -> str:
        return "".join(self.parts)


def parse_html(source: str) -> _Parsed:
    parser = _Parsed()
    parser.feed(source)
    parser.close()
    return parser


def visible_text(html_text: str) -> str:
    """What Telegram shows for this HTML: tags removed, entities decoded."""
    return parse_html(html_text).text


def visible_length(html_text: str) -> int:
    """Telegram's length of a message: code points of the visible text."""
    return len(visible_text(html_text))


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _render_span(span: Span) -> str:
    if span.url is None:
        return _esc(span.text)
    return f'<a href="{html.escape(span.url, quote=True)}">{_esc(span.text)}</a>'


class Fragment(NamedTuple):
    """Rendered HTML with what it shows and how many entities it uses, known at render
    time (the escaping is exact, so parsing the HTML again would give the same)."""

    html: str
    visible: str
    entities: int


def _render_line(spans: Sequence[Span], *, heading: bool) -> tuple[str, int]:
    """Spans of a line; consecutive bold spans share one <b> (fewer entities)."""
    out: list[str] = []
    run: list[str] = []
    entities = 0
    for span in spans:
        if not span.text:
            continue  # an empty entity is rejected by Telegram
        entities += span.url is not None
        if heading or span.bold:
            run.append(_render_span(span))
            continue
        if run:
            out.append(f"<b>{''.join(run)}</b>")
            entities += 1
            run = []
        out.append(_render_span(span))
    if run:
        out.append(f"<b>{''.join(run)}</b>")
        entities += 1
    return "".join(out), entities


class TelegramLayout:
    """Budget: visible characters and formatting entities per message."""

    # Telegram ignores entities past this count: formatting would silently drop.
    budget: ClassVar[Cost] = (MAX_TEXT_LENGTH, MESSAGE_ENTITIES)
    base: ClassVar[Cost] = (0, 0)

    def render(self, lines: Sequence[Line]) -> Fragment | None:
        rendered = [
            _render_line(line.spans, heading=line.kind in ("title", "heading")) for line in lines
        ]
        return Fragment(
            html="\n".join(h for h, _ in rendered),
            visible="\n".join(line.text for line in lines),
            entities=sum(n for _, n in rendered),
        )

    def measure(self, fragment: Fragment) -> Cost:
        # The separator is counted on every fragment: a safe over-estimate by 2 chars.
        return (len(fragment.visible) + len(_UNIT_SEP), fragment.entities)

    def visible(self, fragment: Fragment) -> str:
        return fragment.visible


def _keyboard(buttons: Sequence[Button]) -> dict[str, Any]:
    # One row: 👍 👎 side by side. Callback data is "action|value", ≤ 64 bytes by the model.
    row = [{"text": b.label, "callback_data": button_data(b)} for b in buttons]
    return {"inline_keyboard": [row]}


def _caption(figure: FigureRef) -> str:
    """ "<b>Figure 1</b>: caption", escaped, within Telegram's 1,024 caption characters."""
    head = f"{figure.label}: "
    room = CAPTION_LENGTH - len(head)
    text = " ".join(figure.caption.split())
    if len(text) > room:
        text = text[: cut_point(text, room - 1)].rstrip() + "…"
    return f"<b>{_esc(figure.label)}</b>: {_esc(text)}"


def _photo(page: Page, figure: FigureRef, part: int) -> OutMessage:
    """The figure as `sendPhoto` by URL (Telegram fetches it), sent before the card; a
    photo Telegram cannot get never keeps the card from following (`optional`)."""
    caption = _caption(figure)
    return OutMessage(
        platform="telegram",
        part=part,
        method="sendPhoto",
        payload={"photo": figure.url, "caption": caption, "parse_mode": "HTML"},
        text=visible_text(caption),
        paper_id=page.paper_id,
        optional=True,
    )


def render_page(page: Page, *, first_part: int = 0) -> list[OutMessage]:
    """One page as `sendMessage` payloads, each within Telegram's limits (after the
    page's figure as a `sendPhoto`, when it has one)."""
    fallback = Line((Span(label("continued", page.language)),), "heading")
    messages = pack(page.sections, TelegramLayout(), fallback_continued=fallback)
    out: list[OutMessage] = []
    if page.figure is not None and safe_url(page.figure.url) is not None:
        out.append(_photo(page, page.figure, first_part))
        first_part += 1
    for i, units in enumerate(messages):
        text = _UNIT_SEP.join(u.fragment.html for u in units if u.fragment.html)
        preview: dict[str, Any] = {"is_disabled": True}
        if i == 0 and page.preview_url is not None:
            preview = {"is_disabled": False, "url": page.preview_url}
        payload: dict[str, Any] = {
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": preview,
        }
        if page.buttons and i == len(messages) - 1:
            payload["reply_markup"] = _keyboard(page.buttons)
        out.append(
            OutMessage(
                platform="telegram",
                part=first_part + i,
                method="sendMessage",
                payload=payload,
                text=visible_text(text),
                paper_id=page.paper_id,
            )
        )
    return out


def render_telegram(
    doc: Document, *, preview_first: bool = True, threads: bool = False
) -> list[OutMessage]:
    """A brief or a reply as `sendMessage` payloads, each within Telegram's limits.

    With `threads` (a brief only) the head goes first and every other part replies to it:
    each top pick on its own, with 👍/👎 buttons.
    """
    if threads and isinstance(doc, Brief):
        return threaded(thread_pages(doc), render_page)
    return render_page(page_of(doc, preview=preview_first))
