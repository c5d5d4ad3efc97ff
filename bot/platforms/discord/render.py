"""Discord rendering: the document as messages of embeds (REST `POST .../messages` bodies).

Each message holds at most 10 embeds and 6,000 characters of embed text; an embed's
title at most 256, its description 4,096 (`bot.render.split` packs the lines under
those budgets). A section's heading is an embed's title, its lines the description.

Paper, user and LLM text is data: every Markdown marker in it (`\\ * _ ~ ` | [ ] < >`)
is escaped with a backslash, and so are the line-start markers of headings, quotes and
lists (`#`, `-`, `+`, `>`, `1.`); a web address written in the text is left as it is
(Discord links it, and a backslash inside would break it). "@everyone"/"@here" are
broken by a zero-width space, `<@id>` cannot form (the `<` is escaped), and every
message goes with `allowed_mentions: {"parse": []}`. Only the code's labels are bold;
links are `[label](url)` with the code's URLs, percent-encoding what would end them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.core.buttons import button_data
from bot.core.messages import OutMessage
from bot.render.layout import Page, page_of, safe_url, thread_pages
from bot.render.split import Cost, Line, Span, cut_point, pack, utf16_len
from bot.render.threads import threaded
from bot.render.urls import with_urls
from digest.i18n import label
from digest.models import Brief, Button, Document

__all__ = [
    "ALLOWED_MENTIONS",
    "BUTTONS_PER_ROW",
    "CONTENT_MAX",
    "CUSTOM_ID_MAX",
    "DESCRIPTION_MAX",
    "EMBEDS_MAX",
    "EMBED_BUDGET",
    "EMBED_TOTAL_MAX",
    "LABEL_MAX",
    "ROWS_MAX",
    "THREAD_NAME_MAX",
    "TITLE_MAX",
    "escape",
    "link",
    "render_discord",
    "visible_text",
]

# --- Limits (Discord's API reference: Message, Embed Limits, Message Components) --------
CONTENT_MAX = 2000  # a message's content (unused: everything goes in embeds)
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000  # title + description + fields + footer + author, all embeds
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
ROWS_MAX = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID_MAX = 100
LABEL_MAX = 80
THREAD_NAME_MAX = 100
# Packed under this many embed characters: the joins between fragments ("\n\n") are
# counted in each fragment, and a figure's caption may join the first message.
EMBED_BUDGET = EMBED_TOTAL_MAX - 300
FIGURE_CAPTION_MAX = 250
ALLOWED_MENTIONS: dict[str, list[str]] = {"parse": []}  # nobody is ever pinged

_JOIN = "\n\n"
_ZWSP = "\u200b"
_ALWAYS = re.compile(r"([\\*_~`|\[\]<>])")
# At a line's start: a heading (#, -#), a quote (>), a list item (-, +, *, "1.").
_LINE_START = re.compile(r"^([ \t]*)([#>+-])", re.MULTILINE)
_NUMBERED = re.compile(r"^([ \t]*\d+)\.(?=[ \t])", re.MULTILINE)
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_BARE_URL = re.compile(r"(?<![A-Za-z0-9])https?://[^\s<>\"'`\\\u3000-\u303f\uff00-\uffef]+")
# In an address left as written, what Discord (or `visible_text`) would read as markup.
_URL_MARKUP = ("**", "](", "||", "~~", "__")
_URL_TRAILING = ".,;:!?|"
_PAIRS = {")": "(", "]": "["}
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# What `visible_text` reads: an escaped character, a masked link, our bold markers.
_TOKEN = re.compile(r"\\([^0-9A-Za-z\s])|\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)|\*\*")


def _escape_plain(text: str) -> str:
    text = _ALWAYS.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\.", text)
    return _MASS_MENTION.sub("@" + _ZWSP, text)


def escape(text: str) -> str:
    """Data text as inert Discord Markdown; a web address in it stays as written."""

    def as_written(url: str) -> str | None:
        markup = _MASS_MENTION.search(url) or any(m in url for m in _URL_MARKUP)
        return None if markup else url  # None: escaped as text instead

    return with_urls(text, _BARE_URL, _URL_TRAILING, _PAIRS, plain=_escape_plain, url=as_written)


def _safe_url(url: str) -> str:
    for ch, enc in (("(", "%28"), (")", "%29"), (" ", "%20"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(ch, enc)
    return url


def link(url: str, text: str) -> str:
    """A masked link; its label on one line, escaped (never a link of the data's own)."""
    return f"[{_escape_plain(_LINE_BREAKS.sub(' ', text))}]({_safe_url(url)})"


def _markdown(line: Line) -> str:
    out: list[str] = []
    for span in line.spans:
        if not span.text:
            continue
        if span.url is not None:
            out.append(link(span.url, span.text))
            continue
        core = span.text.strip()
        if span.bold and core:
            lead = span.text[: len(span.text) - len(span.text.lstrip())]
            trail = span.text[len(span.text.rstrip()) :]
            out.append(f"{lead}**{escape(core)}**{trail}")
        else:
            out.append(escape(span.text))
    return "".join(out)


def visible_text(markdown: str) -> str:
    """What Discord shows for Markdown we produced: escapes and bold markers dropped,
    link labels kept."""

    def shown(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        if m.group(2) is not None:
            return visible_text(m.group(2))
        return ""

    return _TOKEN.sub(shown, markdown)


@dataclass(frozen=True)
class Fragment:
    """Embeds with what they show and their size, known at render time."""

    embeds: list[dict[str, Any]]
    visible: str
    chars: int


def _title(line: Line) -> str | None:
    plain = " ".join(line.text.split())
    title = escape(plain)
    return title if plain and utf16_len(title) <= TITLE_MAX else None


class DiscordLayout:
    """Budget: embeds and characters of embed text per message."""

    budget: ClassVar[Cost] = (EMBEDS_MAX, EMBED_BUDGET)
    base: ClassVar[Cost] = (0, 0)

    def render(self, lines: Sequence[Line]) -> Fragment | None:
        embeds: list[dict[str, Any]] = []
        shown: list[str] = []
        title: str | None = None
        body: list[str] = []

        def close() -> bool:
            nonlocal title
            text = "\n".join(body).strip("\n")
            body.clear()
            if utf16_len(text) > DESCRIPTION_MAX:
                return False
            if title is not None or text:
                embed: dict[str, Any] = {}
                if title is not None:
                    embed["title"] = title
                if text:
                    embed["description"] = text
                embeds.append(embed)
            title = None
            return True

        for line in lines:
            if line.kind == "break":
                body.append("")
                continue
            if line.kind in ("title", "heading"):
                if not close():
                    return None
                title = _title(line)
                if title is None and line.text.strip():
                    body.append(f"**{escape(' '.join(line.text.split()))}**")
                shown.append(line.text)
                continue
            text = _markdown(line)
            if text.strip():
                body.append(text)
                shown.append(line.text)
        if not close():
            return None
        chars = sum(_embed_chars(e) for e in embeds) + len(_JOIN) * len(embeds)
        return Fragment(embeds, "\n".join(shown), chars)

    def measure(self, fragment: Fragment) -> Cost:
        return (len(fragment.embeds), fragment.chars)

    def visible(self, fragment: Fragment) -> str:
        return fragment.visible


def _embed_chars(embed: dict[str, Any]) -> int:
    return utf16_len(str(embed.get("title", ""))) + utf16_len(str(embed.get("description", "")))


def _merged(embeds: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """An untitled embed joins the one before it while the description fits: one card
    per section, not one per item."""
    out: list[dict[str, Any]] = []
    for embed in embeds:
        prev = out[-1] if out else None
        if prev is not None and "title" not in embed and "image" not in prev:
            joined = _JOIN.join(d for d in (prev.get("description"), embed["description"]) if d)
            if utf16_len(joined) <= DESCRIPTION_MAX:
                out[-1] = {**prev, "description": joined}
                continue
        out.append(dict(embed))
    return out


def _components(buttons: Sequence[Button]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    elements: list[dict[str, Any]] = []
    for button in buttons:
        cid = button_data(button)  # <= 57 characters by the model, under Discord's 100
        if cid in seen or len(cid) > CUSTOM_ID_MAX:
            continue
        seen.add(cid)
        text = " ".join(button.label.split())
        shown = text if len(text) <= LABEL_MAX else text[: cut_point(text, LABEL_MAX - 1)] + "…"
        elements.append({"type": 2, "style": 2, "label": shown, "custom_id": cid})
    elements = elements[: ROWS_MAX * BUTTONS_PER_ROW]
    return [
        {"type": 1, "components": elements[i : i + BUTTONS_PER_ROW]}
        for i in range(0, len(elements), BUTTONS_PER_ROW)
    ]


def _figure_embed(page: Page) -> dict[str, Any] | None:
    figure = page.figure
    if figure is None or safe_url(figure.url) is None:
        return None
    caption = " ".join(f"{figure.label}: {figure.caption}".split())
    if len(caption) > FIGURE_CAPTION_MAX:
        caption = caption[: cut_point(caption, FIGURE_CAPTION_MAX - 1)] + "…"
    return {"description": escape(caption), "image": {"url": figure.url}}


def _thread_name(page: Page) -> str:
    """A pick's thread is named after its first linked line ("1. Title")."""
    for section in page.sections:
        for item in section.items:
            for line in item:
                if line.kind == "text" and any(s.url for s in line.spans):
                    name = " ".join(line.text.split())
                    name = _MASS_MENTION.sub("@" + _ZWSP, name)
                    if len(name) > THREAD_NAME_MAX:
                        name = name[: cut_point(name, THREAD_NAME_MAX - 1)] + "…"
                    return name
    return (page.paper_id or page.title)[:THREAD_NAME_MAX] or "paper"


def _body(embeds: list[dict[str, Any]], components: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"embeds": embeds, "allowed_mentions": ALLOWED_MENTIONS}
    if components:
        body["components"] = components
    return body


def render_page(page: Page, *, first_part: int = 0, thread: bool = False) -> list[OutMessage]:
    """One page as message bodies; its buttons under the last, its figure first. With
    `thread` (a brief's pick) the first message starts a thread of its own."""
    fallback = Line((Span(label("continued", page.language)),), "heading")
    packed = pack(page.sections, DiscordLayout(), fallback_continued=fallback)
    out: list[OutMessage] = []
    for i, units in enumerate(packed):
        embeds = _merged([e for u in units for e in u.fragment.embeds])
        visible = "\n".join(u.visible for u in units)
        figure = _figure_embed(page) if i == 0 else None
        if figure is not None and len(embeds) < EMBEDS_MAX:
            total = sum(_embed_chars(e) for e in embeds) + _embed_chars(figure)
            if total <= EMBED_TOTAL_MAX:
                embeds.insert(0, figure)
                visible = visible_text(figure["description"]) + "\n" + visible
        last = i == len(packed) - 1
        body = _body(embeds, _components(page.buttons) if last else [])
        method, payload = "messages", body
        if thread and i == 0:
            method, payload = "thread", {"message": body, "name": _thread_name(page)}
        out.append(
            OutMessage(
                platform="discord",
                part=first_part + i,
                method=method,
                payload=payload,
                text=visible,
                paper_id=page.paper_id,
            )
        )
    return out


def render_discord(doc: Document, *, threads: bool = False) -> list[OutMessage]:
    """A brief or a reply as message bodies.

    With `threads` (a brief only): the head first, then each top pick its own message
    with 👍/👎 buttons, each starting a thread of its own for its discussion, then the
    rest. All of them are posted in the channel (Discord threads hang off a message).
    """
    if threads and isinstance(doc, Brief):
        pages = thread_pages(doc)

        def render(page: Page, *, first_part: int = 0) -> list[OutMessage]:
            return render_page(page, first_part=first_part, thread=page.paper_id is not None)

        out = threaded(pages, render)
        for msg in out:
            msg.in_thread = False  # a pick opens its own thread; none goes under the head
        return out
    return render_page(page_of(doc))
