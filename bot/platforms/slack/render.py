"""Slack rendering: the Brief as Block Kit messages (typed slack_sdk blocks).

Paper and LLM text is data. In mrkdwn it gets `&`, `<`, `>` escaped (so `<!channel>` or
`<url|x>` stay text) and "@channel"/"@here"/"@everyone" broken by a zero-width joiner so
nobody is notified. mrkdwn has no backslash escape, and formats only at word edges: a
`*`, `_` or `~` between two ASCII letters or digits (PAPERDROP_LLM_API_KEY, snake_case,
2*3) can neither open nor close formatting and is left alone, so the word copies as it
is; any other marker (and every backtick) is fenced by zero-width spaces, which are not
word edges, so it opens and closes nothing. A web address in the text that has such a
marker (`/~name/`) becomes a link `<url>` instead (Slack shows the address itself), so
an address is never fenced either. Only our own labels are bold, and only where mrkdwn
reads the markers as bold; links are `<url|text>` with `|`, `<`, `>` and spaces
percent-encoded in the URL, so the first `|` always ends it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from bot.core.buttons import button_data
from bot.core.messages import OutMessage
from bot.render.layout import Page, page_of, safe_url, thread_pages
from bot.render.split import Cost, Line, Span, cut_point, pack, utf16_len
from bot.render.threads import threaded
from bot.render.urls import with_urls
from digest.i18n import label
from digest.models import Brief, Button, Document, FigureRef

# slack_sdk's blocks are imported where blocks are built: the SDK takes ~0.2 s to import,
# which the commands that render for another platform (or none) should not pay.
if TYPE_CHECKING:
    from slack_sdk.models.blocks import Block

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
    "visible_text",
]

# --- Limits (Block Kit reference; a test checks them against slack_sdk's where it has them)
MAX_BLOCKS = 50  # per message; slack_sdk does not check this one
SECTION_TEXT_MAX = 3000  # SectionBlock.text_max_length
HEADER_TEXT_MAX = 150  # HeaderBlock.text_max_length
FIELDS_MAX = 10  # SectionBlock.fields_max_length (not used: meta goes to context)
FIELD_TEXT_MAX = 2000
CONTEXT_MAX_ELEMENTS = 10  # ContextBlock.elements_max_length
# msg_blocks_too_long has been seen near 13k characters of block text with no single
# documented limit hit; stay well under it.
MESSAGE_TEXT_BUDGET = 11_000
FALLBACK_MAX = 1_000  # the notification text; the blocks carry the content

_ZWSP = "\u200b"
_ZWJ = "\u200d"
_MARKERS = frozenset("*_~`")
_WORD = frozenset(string.ascii_letters + string.digits)
# After a bold marker of ours: what ends it in mrkdwn (a space, punctuation, the end).
_CLOSES = frozenset(string.whitespace + string.punctuation) - _MARKERS
# A web address written in the text: it ends at a space, markup or CJK punctuation.
_BARE_URL = re.compile(
    r"(?<![A-Za-z0-9])https?://"
    r"[^\s<>|\"'`\u00ab\u00bb\u2018-\u201f\u2026\u3000-\u303f\uff00-\uffef]+"
)
_URL_TRAILING = ".,;:!?*_~"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_MASS_MENTION = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
# "<!channel>", "<@U1>", "<#C1>" written literally in plain text (headers, not escaped).
_SPECIAL = re.compile(r"<(?=[!@#])")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
# What `visible_text` reads: a labelled link, an address shown as a link, a data asterisk
# (fenced), any other asterisk (ours, or inside a word).
_TOKEN = re.compile(r"<([^|>]*)\|([^>]*)>|<(https?://[^|>]*)>|\u200b\*\u200b|\*")


def neutralise_mentions(text: str) -> str:
    """Break "@channel"-style words and "<!...>" specials with an invisible joiner."""
    return _SPECIAL.sub("<" + _ZWJ, _MASS_MENTION.sub("@" + _ZWJ, text))


def _inert(text: str, i: int) -> bool:
    """The marker text[i] sits inside an ASCII word: mrkdwn cannot format with it."""
    return (
        text[i] != "`" and 0 < i < len(text) - 1 and text[i - 1] in _WORD and text[i + 1] in _WORD
    )


def escape(text: str) -> str:
    """Plain text as inert mrkdwn; zero-width spaces only around markers at word edges."""
    fenced = "".join(
        _ZWSP + ch + _ZWSP if ch in _MARKERS and not _inert(text, i) else ch
        for i, ch in enumerate(text)
    )
    fenced = fenced.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return neutralise_mentions(fenced)


def escape_text(text: str) -> str:
    """Data text as mrkdwn: `escape`, except that a web address with a marker at a word
    edge in it (`/~name/`, `/_x`) becomes a link showing the address, instead of text
    with zero-width spaces in it."""

    def linked(url: str) -> str | None:
        if _MASS_MENTION.search(url) or escape(url) == url:  # nothing to fence: stays text
            return None
        return f"<{_safe_url(url)}>"

    return with_urls(text, _BARE_URL, _URL_TRAILING, _PAIRS, plain=escape, url=linked)


def _safe_url(url: str) -> str:
    for ch, enc in (("|", "%7C"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        url = url.replace(ch, enc)
    return url.replace("&", "&amp;")


def link(url: str, text: str) -> str:
    # A line break inside <...|...> may end the link: show it as a space.
    return f"<{_safe_url(url)}|{escape(_LINE_BREAKS.sub(' ', text))}>"


def _can_bold(text: str) -> bool:
    # Bold only our own labels: no markers, nothing to escape, no edge spaces.
    return bool(text) and text == text.strip() and not _MARKERS & set(text) and escape(text) == text


def _plain(span: Span) -> str:
    return link(span.url, span.text) if span.url is not None else escape_text(span.text)


def _mrkdwn(line: Line) -> str:
    """A line as mrkdwn. A bold label becomes `*label*` only where mrkdwn reads the
    markers as bold: after a line start or a space, before a space or punctuation."""
    spans = [s for s in line.spans if s.text]
    plain = [_plain(s) for s in spans]
    out: list[str] = []
    for i, span in enumerate(spans):
        core = span.text.rstrip(": ")
        trail = span.text[len(core) :]
        prev = out[-1][-1] if out and out[-1] else None
        after = trail[:1] or (plain[i + 1][:1] if i + 1 < len(plain) else "")
        if (
            span.bold
            and span.url is None
            and _can_bold(core)
            and (prev is None or prev.isspace())
            and (not after or after in _CLOSES)
        ):
            out.append(f"*{core}*{trail}")
        else:
            out.append(plain[i])
    return "".join(out)


def visible_text(mrkdwn: str) -> str:
    """What Slack shows for mrkdwn we produced: link labels and addresses, our bold
    markers dropped, data asterisks (fenced, or inside a word) kept."""

    def shown(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            return m.group(2)
        if m.group(3) is not None:
            return m.group(3)
        if m.group(0) == "*":
            i = m.start()
            inside = 0 < i < len(mrkdwn) - 1 and mrkdwn[i - 1] in _WORD and mrkdwn[i + 1] in _WORD
            return "*" if inside else ""
        return m.group(0)

    text = _TOKEN.sub(shown, mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_text(block: Block) -> tuple[str, str]:
    """(source text, visible text) of a block we built."""
    from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

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
        from slack_sdk.models.blocks import (
            ContextBlock,
            HeaderBlock,
            MarkdownTextObject,
            PlainTextObject,
            SectionBlock,
        )

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
                size = utf16_len(text)
                if size > SECTION_TEXT_MAX:
                    return False
                chars += size
                blocks.append(SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)))
            return True

        def close_meta() -> bool:
            nonlocal chars
            if meta:
                sizes = [utf16_len(t) for t in meta]
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
                if plain and utf16_len(plain) <= HEADER_TEXT_MAX:
                    header_text = PlainTextObject(text=neutralise_mentions(plain), emoji=False)
                    blocks.append(HeaderBlock(text=header_text))
                    chars += utf16_len(plain)
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
    if utf16_len(visible) <= FALLBACK_MAX:
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
                "value": button_data(b),
            }
            for i, b in enumerate(buttons)
        ],
    }


IMAGE_TEXT_MAX = 2000  # an image block's alt_text and title


def _image_block(figure: FigureRef) -> dict[str, Any]:
    """The figure as an image block (Slack fetches the URL); plain text, no markup."""
    caption = neutralise_mentions(" ".join(f"{figure.label}: {figure.caption}".split()))
    short = caption if len(caption) <= IMAGE_TEXT_MAX else caption[: IMAGE_TEXT_MAX - 1] + "…"
    return {
        "type": "image",
        "image_url": figure.url,
        "alt_text": short,
        "title": {"type": "plain_text", "text": short, "emoji": False},
    }


def render_page(page: Page, *, first_part: int = 0) -> list[OutMessage]:
    """One page as `chat.postMessage` payloads; its figure, if any, as an image block
    at the top of the first (the sender drops it if Slack cannot fetch the image)."""
    fallback = Line((Span(label("continued", page.language)),), "heading")
    messages = pack(page.sections, SlackLayout(), fallback_continued=fallback)
    out: list[OutMessage] = []
    for i, units in enumerate(messages):
        blocks = [b for u in units for b in u.fragment.blocks]
        visible = "\n".join(_block_text(b)[1] for b in blocks)  # as Slack will show it
        dicts = [b.to_dict() for b in blocks]  # to_dict() validates each block
        figure = page.figure
        if i == 0 and figure is not None and safe_url(figure.url) and len(dicts) < MAX_BLOCKS - 1:
            dicts.insert(0, _image_block(figure))
            visible = f"{figure.label}: {figure.caption}\n{visible}"
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
