"""Feishu/Lark rendering: the Brief as interactive cards (JSON 2.0, markdown elements).

Paper and LLM text is data: every character Feishu's card markdown treats as syntax
(`* _ ~ \u0060 [ ] ( ) < > # | \\ $ &`, and list/heading markers at a line start) is
written as a numeric HTML entity, which card markdown decodes for display. So
`<at id=all></at>` or `[x](http://evil)` from a paper stay text. Sizes are UTF-8 bytes of
the JSON exactly as the sender encodes it (ensure_ascii=False), with room for the
`timestamp`/`sign` fields a signed webhook adds. Each markdown element stays small
(`ELEMENT_MAX_BYTES`): a section larger than that is one element per item, and an item
larger than that one element per run of lines, so a card never holds one huge element.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any, Final, Literal, NamedTuple

from bot.core.messages import OutMessage
from bot.render.layout import Page, page_of, safe_url, thread_pages
from bot.render.split import Cost, Line, Span, pack
from bot.render.threads import threaded
from digest.i18n import label
from digest.models import Brief, Button, Document, FigureRef

__all__ = [
    "APP_CONTENT_LIMIT",
    "ELEMENT_MAX_BYTES",
    "IMAGE_PENDING",
    "MAX_ELEMENTS",
    "SIGNATURE_ROOM",
    "WEBHOOK_BODY_LIMIT",
    "FeishuLayout",
    "Fragment",
    "body_bytes",
    "escape",
    "render_feishu",
    "visible_text",
]

# --- Limits ----------------------------------------------------------------------------
# Custom-bot webhook: request body <= 20 KB (official guide). Read as 20,000 bytes, the
# smaller reading (apprise keeps 19,985 for the same limit).
WEBHOOK_BODY_LIMIT: Final = 20_000
# `, "timestamp": "1748649600", "sign": "<44 base64 chars>"` added by a signing sender,
# with slack for a longer timestamp and spacing.
SIGNATURE_ROOM: Final = 120
# App bot (im/v1/messages): card content <= 30 KB; `content` is the card as a JSON string.
APP_CONTENT_LIMIT: Final = 30_000
# Card JSON 2.0 allows at most 200 components per card.
MAX_ELEMENTS: Final = 200
# One markdown element's content at most (UTF-8 bytes): long elements render slowly and
# scroll badly on phones; the splitter cuts sections, items, then lines to stay under it.
ELEMENT_MAX_BYTES: Final = 4_000
# The widest part label we reserve room for in the header ("(99/99)").
_WORST_PART: Final = (99, 99)
_ELEMENT_SEP: Final = len(", ")  # json.dumps' default item separator

Mode = Literal["webhook", "app"]

# Characters card markdown may read as syntax, written as entities.
_SYNTAX = re.compile(r"[&<>*_~`\[\]()#|\\$]")
# At a line start these begin lists, quotes, rules or headings.
_LINE_START = re.compile(r"(^|\n)([ \t]*)([-+=]|\d+\.)")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_MD_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")


def escape(text: str, *, line_start: bool = True) -> str:
    """Plain text as inert card markdown (entities are shown as the characters)."""
    out = _SYNTAX.sub(lambda m: f"&#{ord(m.group(0))};", text)

    def start(m: re.Match[str]) -> str:
        if not line_start and m.start() == 0 and not m.group(1):
            return m.group(0)
        mark = m.group(3)  # "-", "+", "=" or "12." (an ordered-list marker)
        return f"{m.group(1)}{m.group(2)}{mark[:-1]}&#{ord(mark[-1])};"

    out = _LINE_START.sub(start, out)
    return out


def _url(url: str) -> str:
    # Characters that could end the link or open markup inside it, percent-encoded.
    for ch in '()[]<>|"` ':
        url = url.replace(ch, f"%{ord(ch):02X}")
    return url


def _plain(span: Span, *, line_start: bool) -> str:
    if span.url is None:
        return escape(span.text, line_start=line_start)
    # A line break inside [...] could end the link syntax: show it as a space.
    text = escape(_LINE_BREAKS.sub(" ", span.text), line_start=False)
    return f"[{text}]({_url(span.url)})"


def _bold_run(run: list[Span], *, line_start: bool) -> str:
    """Consecutive bold spans in one pair of markers, which must touch the text: edge
    spaces stay outside them."""
    raw = "".join(s.text for s in run)
    if not raw.strip():
        return "".join(_plain(s, line_start=line_start and i == 0) for i, s in enumerate(run))
    # Spaces are moved out of the markers only from plain text: a link is kept whole.
    lead = "" if run[0].url is not None else raw[: len(raw) - len(raw.lstrip())]
    trail = "" if run[-1].url is not None else raw[len(raw.rstrip()) :]
    inner = Line(tuple(run)).slice(len(lead), len(raw) - len(trail)).spans
    # After "**" nothing is at a line start any more ("**1. x**" is no list item).
    body = "".join(_plain(s, line_start=False) for s in inner)
    return f"{escape(lead, line_start=line_start)}**{body}**{escape(trail, line_start=False)}"


def _markdown(line: Line) -> str:
    if line.kind == "heading":
        return "#### " + escape(" ".join(line.text.split()))
    out: list[str] = []
    run: list[Span] = []
    for span in (s for s in line.spans if s.text):
        if span.bold:
            run.append(span)
            continue
        if run:
            out.append(_bold_run(run, line_start=not out))
            run = []
        out.append(_plain(span, line_start=not out))
    if run:
        out.append(_bold_run(run, line_start=not out))
    return "".join(out)


def visible_text(markdown: str) -> str:
    """What the card shows for markdown we produced."""
    text = _MD_LINK.sub(lambda m: m.group(1), markdown)
    text = re.sub(r"(?m)^#### ", "", text).replace("**", "")
    return html.unescape(text)


def _element(content: str) -> dict[str, Any]:
    return {"tag": "markdown", "content": content}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _header(page: Page, part: int, total: int) -> dict[str, Any]:
    subtitle = page.subtitle + (f" ({part}/{total})" if total > 1 else "")
    header: dict[str, Any] = {
        "title": {"tag": "plain_text", "content": page.title},
        "template": "blue",
    }
    if subtitle.strip():
        header["subtitle"] = {"tag": "plain_text", "content": subtitle.strip()}
    return header


def _card(page: Page, elements: list[dict[str, Any]], part: int, total: int) -> dict[str, Any]:
    card: dict[str, Any] = {
        "schema": "2.0",
        "config": {"update_multi": True},
        "body": {"elements": elements},
    }
    if page.title:
        card["header"] = _header(page, part, total)
    return card


def _button(button: Button) -> dict[str, Any]:
    # A card action comes back with this value (card.action.trigger).
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": button.label},
        "type": "default",
        "behaviors": [
            {"type": "callback", "value": {"action": button.action, "value": button.value}}
        ],
    }


def _payload(card: dict[str, Any], mode: Mode) -> dict[str, Any]:
    if mode == "webhook":
        return {"msg_type": "interactive", "card": card}
    return {"msg_type": "interactive", "content": json.dumps(card, ensure_ascii=False)}


def body_bytes(payload: dict[str, Any], mode: Mode) -> int:
    """The size a limit applies to: the webhook body, or the app message's content as it
    travels inside the request body (JSON-escaped once more: the larger, safe reading)."""
    if mode == "webhook":
        return len(_dumps(payload))
    return len(_dumps(payload["content"]))


class Fragment(NamedTuple):
    """Card markdown with what it shows and its encoded size, known at render time."""

    content: str
    visible: str
    size: int


class FeishuLayout:
    """Budget: bytes (of the body or the content) and elements per card."""

    def __init__(self, page: Page, mode: Mode) -> None:
        self.mode = mode
        limit = WEBHOOK_BODY_LIMIT - SIGNATURE_ROOM if mode == "webhook" else APP_CONTENT_LIMIT
        self.budget: Cost = (limit, MAX_ELEMENTS)
        empty = _payload(_card(page, _buttons(page, mode), *_WORST_PART), mode)
        self.base: Cost = (body_bytes(empty, mode), 0)

    def render(self, lines: Sequence[Line]) -> Fragment | None:
        # The title is the card header; the body does not repeat it.
        body = [line for line in lines if line.kind != "title"]
        content = "\n".join(_markdown(line) for line in body).strip("\n")
        if len(content.encode()) > ELEMENT_MAX_BYTES:
            return None
        shown = "\n".join(
            " ".join(line.text.split()) if line.kind == "heading" else line.text for line in body
        )
        return Fragment(content, shown, self._size(content))

    def _size(self, content: str) -> int:
        if not content:
            return 0
        element = _element(content)
        if self.mode == "webhook":
            return len(_dumps(element)) + _ELEMENT_SEP
        # In the app mode the card is itself a JSON string: count its escaping too.
        once = json.dumps(element, ensure_ascii=False)
        return len(_dumps(once)) - len('""') + _ELEMENT_SEP

    def measure(self, fragment: Fragment) -> Cost:
        return (fragment.size, 1 if fragment.content else 0)

    def visible(self, fragment: Fragment) -> str:
        return fragment.visible


def _buttons(page: Page, mode: Mode) -> list[dict[str, Any]]:
    # A custom bot (webhook) cannot receive clicks: buttons only on app messages.
    return [_button(b) for b in page.buttons] if mode == "app" else []


# The img element's key before the sender uploaded the image (im/v1/images).
IMAGE_PENDING: Final = "pending-upload"
IMAGE_TEXT_MAX: Final = 1000


def figure_elements(figure: FigureRef) -> list[dict[str, Any]]:
    """The figure at the top of a card: an `img` element (its key filled in by the sender
    once the image is uploaded; dropped if that fails) and the caption as text."""
    caption = " ".join(f"{figure.label}: {figure.caption}".split())
    if len(caption) > IMAGE_TEXT_MAX:
        caption = caption[: IMAGE_TEXT_MAX - 1] + "…"
    return [
        {
            "tag": "img",
            "img_key": IMAGE_PENDING,
            "alt": {"tag": "plain_text", "content": caption},
            "scale_type": "fit_horizontal",
        },
        _element(escape(caption)),
    ]


def render_page(page: Page, *, first_part: int = 0, mode: Mode = "webhook") -> list[OutMessage]:
    """One page as interactive cards: webhook bodies or im/v1/messages payloads. A
    page's figure opens the first card of an app message (a webhook cannot upload
    images: there the caption alone is shown)."""
    fallback = Line((Span(label("continued", page.language)),), "heading")
    layout = FeishuLayout(page, mode)
    messages = pack(page.sections, layout, fallback_continued=fallback)
    total = len(messages)
    out: list[OutMessage] = []
    for i, units in enumerate(messages):
        elements = [_element(u.fragment.content) for u in units if u.fragment.content]
        media = None
        if i == 0 and page.figure is not None and safe_url(page.figure.url):
            figure = figure_elements(page.figure)
            elements = (figure if mode == "app" else figure[1:]) + elements
            media = page.figure.url if mode == "app" else None
        if i == total - 1:
            elements.extend(_buttons(page, mode))
        card = _card(page, elements, i + 1, total)
        header = [
            card["header"][key]["content"]
            for key in ("title", "subtitle")
            if key in card.get("header", {})
        ]
        visible = "\n".join(
            header + [visible_text(e["content"]) for e in elements if e["tag"] == "markdown"]
        )
        out.append(
            OutMessage(
                platform="feishu",
                part=first_part + i,
                method="webhook" if mode == "webhook" else "im/v1/messages",
                payload=_payload(card, mode),
                text=visible,
                paper_id=page.paper_id,
                media_url=media,
            )
        )
    return out


def render_feishu(
    doc: Document, *, mode: Mode = "webhook", threads: bool = False
) -> list[OutMessage]:
    """A brief or a reply as interactive cards: webhook bodies or im/v1/messages payloads.

    With `threads` (a brief in app mode) the head card goes first and the rest reply in
    its thread: each top pick its own card, with 👍/👎 buttons.
    """
    if threads and mode == "app" and isinstance(doc, Brief):
        return threaded(
            thread_pages(doc),
            lambda page, first_part: render_page(page, first_part=first_part, mode=mode),
        )
    return render_page(page_of(doc), mode=mode)
