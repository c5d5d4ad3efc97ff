"""Slack rendering: the Brief as Block Kit messages (typed slack_sdk blocks).

Paper and LLM text is data. In mrkdwn it gets `&`, `<`, `>` escaped (so `<!channel>` or
`<url|x>` stay text), its formatting markers `* _ ~ \u0060` fenced by zero-width spaces
(mrkdwn has no backslash escape; a marker with a non-space on both sides opens and closes
nothing), and "@channel"/"@here"/"@everyone" broken by a zero-width joiner so nobody is
notified. Only our own labels are bold; links are `<url|text>` with `|`, `<`, `>` and
spaces percent-encoded in the URL, so the first `|` always ends it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.layout import Page, page_of, thread_pages
from bot.platforms.base import OutMessage, threaded
from bot.split import Cost, Line, Span, cut_point, pack
from digest.i18n import label
from digest.models import Brief, Button, Document

__all__ = [
    "CONTEXT_MAX_ELEMENTS",
    "FALLBACK_MAX",
    "FIELDS_MAX",
    "FIELD_TEXT_MAX",
    "HEADER_TEXT_MAX",
    "MAX_BLOCKS",
    "MESSAGE_TEXT_BUDGET",
    "SECTION_TEXT_MAX",
    "Fragment",
    "SlackLayout",
    "escape",
    "link",
    "render_slack",
    "slack_len",
    "visible_text",
]

# --- Limits (Block Kit reference; SDK constants where slack_sdk has them) --------------
MAX_BLOCKS = 50  # per message; slack_sdk does not check this one
SECTION_TEXT_MAX = SectionBlock.text_max_length  # 3000
HEADER_TEXT_MAX = HeaderBlock.text_max_length  # 150
FIELDS_MAX = SectionBlock.fields_max_length  # 10 (fields are not used: meta goes to context)
FIELD_TEXT_MAX = 2000
CONTEXT_MAX_ELEMENTS = ContextBlock.elements_max_length  # 10
# msg_blocks_too_long has been seen near 13k characters of block text with no single
# documented limit hit; stay well under it.
MESSAGE_TEXT_BUDGET = 11_000
FALLBACK_MAX = 1_000  # the notification text; the blocks carry the content

_ZWSP = "\u200b"
_ZWJ = "\u200d"
_MARKERS = re.compile(r"[*_~`]")
_MASS_MENTION = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
# "<!channel>", "<@U1>", "<#C1>" written literally in plain text (headers, not escaped).
_SPECIAL = re.compile(r"<(?=[!@#])")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_LINK = re.compile(r"<([^|>]*)\|([^>]*)>")
_USER_STAR = _ZWSP + "*" + _ZWSP


def slack_len(text: str) -> int:
    """Length in UTF-16 units: never less than code points, so a safe measure."""
    return len(text.encode("utf-16-le")) // 2


def neutralise_mentions(text: str) -> str:
    """Break "@channel"-style words and "<!...>" specials with an invisible joiner."""
    return _SPECIAL.sub("<" + _ZWJ, _MASS_MENTION.sub("@" + _ZWJ, text))


def escape(text: str) -> str:
    """Plain text as inert mrkdwn."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKERS.sub(lambda m: _ZWSP + m.group(0) + _ZWSP, text)
    return neutralise_mentions(text)


def _safe_url(url: str) -> str:
    for ch, enc in (("|", "%7C"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        url = url.replace(ch, enc)
    return url.replace("&", "&amp;")


def link(url: str, text: str) -> str:
    # A line break inside <...|...> may end the link: show it as a space.
    return f"<{_safe_url(url)}|{escape(_LINE_BREAKS.sub(' ', text))}>"


def _can_bold(text: str) -> bool:
    # Bold only text that needs no escaping and has no edge spaces: our own labels.
    return bool(text) and text == text.strip() and escape(text) == text


def _span(span: Span) -> str:
    if span.url is not None:
        return link(span.url, span.text)
    if span.bold and _can_bold(span.text.rstrip(": ")):
        core = span.text.rstrip(": ")
        return f"*{core}*{span.text[len(core) :]}"
    return escape(span.text)


def _mrkdwn(line: Line) -> str:
    return "".join(_span(s) for s in line.spans if s.text)


def visible_text(mrkdwn: str) -> str:
    """What Slack shows for mrkdwn we produced: link labels, bold markers dropped."""
    text = _LINK.sub(lambda m: m.group(2), mrkdwn)
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(_USER_STAR, i):  # a data asterisk, fenced: keep it
            out.append(_USER_STAR)
            i += len(_USER_STAR)
        elif text[i] == "*":  # one of our bold markers
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_text(block: Block) -> tuple[str, str]:
    """(source text, visible text) of a block we built."""
    if isinstance(block, HeaderBlock):
        assert block.text is not None
        return block.text.text, block.text.text
    if isinstance(block, SectionBlock):
        assert block.text is not None
        return block.text.text, visible_text(block.text.text)
    assert isinstance(block, ContextBlock)
    texts = [e.text for e in block.elements if isinstance(e, MarkdownTextObject)]
    return "".join(texts), "\n".join(visible_text(t) for t in texts)


class Fragment(NamedTuple):
    """Blocks with what they show and their text length, known at render time."""

    blocks: list[Block]
    visible: str
    chars: int


class SlackLayout:
    """Budget: blocks and characters of block text per message."""

    budget: ClassVar[Cost] = (MAX_BLOCKS, MESSAGE_TEXT_BUDGET)
    base: ClassVar[Cost] = (0, 0)

    def render(self, lines: Sequence[Line]) -> Fragment | None:
        blocks: list[Block] = []
        body: list[str] = []
        meta: list[str] = []
        shown: list[str] = []
        chars = 0

        def close_body() -> bool:
            nonlocal chars
            if body:
                text = "\n".join(body)
                body.clear()
                size = slack_len(text)
                if size > SECTION_TEXT_MAX:
                    return False
                chars += size
                blocks.append(SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)))
            return True

        def close_meta() -> bool:
            nonlocal chars
            if meta:
                sizes = [slack_len(t) for t in meta]
                if max(sizes) > SECTION_TEXT_MAX:
                    return False
                chars += sum(sizes)
                elements = [MarkdownTextObject(text=t, verbatim=True) for t in meta]
                meta.clear()
                for i in range(0, len(elements), CONTEXT_MAX_ELEMENTS):
                    blocks.append(ContextBlock(elements=elements[i : i + CONTEXT_MAX_ELEMENTS]))
            return True

        for line in lines:
            if line.kind in ("title", "heading", "break") and not (close_body() and close_meta()):
                return None
            if line.kind == "break":
                continue
            if line.kind in ("title", "heading"):
                plain = " ".join(line.text.split())
                if plain and slack_len(plain) <= HEADER_TEXT_MAX:
                    header_text = PlainTextObject(text=neutralise_mentions(plain), emoji=False)
                    blocks.append(HeaderBlock(text=header_text))
                    chars += slack_len(plain)
                    shown.append(plain)
                elif line.text.strip():
                    body.append(escape(line.text))  # too long for a header: plain text
                    shown.append(line.text)
                continue
            text = _mrkdwn(line)
            if not text.strip():
                continue
            shown.append(line.text)
            if line.kind == "meta":
                if not close_body():
                    return None
                meta.append(text)
            else:
                if not close_meta():
                    return None
                body.append(text)
        if not (close_body() and close_meta()):
            return None
        return Fragment(blocks, "\n".join(shown), chars)

    def measure(self, fragment: Fragment) -> Cost:
        return (len(fragment.blocks), fragment.chars)

    def visible(self, fragment: Fragment) -> str:
        return fragment.visible


def _fallback(visible: str) -> str:
    """The notification text: the start of the message, escaped after cutting."""
    if slack_len(visible) <= FALLBACK_MAX:
        return escape(visible)
    cut = cut_point(visible, FALLBACK_MAX // 2)  # UTF-16 could double the length
    return escape(visible[:cut].rstrip()) + "…"


def _actions(buttons: Sequence[Button]) -> dict[str, Any]:
    # action_id must be unique in the block; the value carries "action|value" back.
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": b.label, "emoji": True},
                "action_id": f"{b.action}:{i}",
                "value": f"{b.action}|{b.value}",
            }
            for i, b in enumerate(buttons)
        ],
    }


def render_page(page: Page, *, first_part: int = 0) -> list[OutMessage]:
    """One page as `chat.postMessage` payloads."""
    fallback = Line((Span(label("continued", page.language)),), "heading")
    messages = pack(page.sections, SlackLayout(), fallback_continued=fallback)
    out: list[OutMessage] = []
    for i, units in enumerate(messages):
        blocks = [b for u in units for b in u.fragment.blocks]
        visible = "\n".join(_block_text(b)[1] for b in blocks)  # as Slack will show it
        dicts = [b.to_dict() for b in blocks]  # to_dict() validates each block
        if page.buttons and i == len(messages) - 1:
            if len(dicts) >= MAX_BLOCKS:  # pragma: no cover - pages with buttons are small
                raise ValueError("no room for the buttons")
            dicts.append(_actions(page.buttons))
        out.append(
            OutMessage(
                platform="slack",
                part=first_part + i,
                method="chat.postMessage",
                payload={
                    "text": _fallback(visible),
                    "blocks": dicts,
                    "unfurl_links": False,
                    "unfurl_media": False,
                },
                text=visible,
                paper_id=page.paper_id,
            )
        )
    return out


def render_slack(doc: Document, *, threads: bool = False) -> list[OutMessage]:
    """A brief or a reply as `chat.postMessage` payloads.

    With `threads` (a brief only) part 0 is the parent and the rest go into its thread:
    each top pick its own message, with 👍/👎 buttons.
    """
    if threads and isinstance(doc, Brief):
        return threaded(thread_pages(doc), render_page)
    return render_page(page_of(doc))
