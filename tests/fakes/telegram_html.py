"""Telegram's server-side HTML parser (parse_mode="HTML"), reimplemented for the fake.

Follows the rules of tdlib's ``parse_html`` (the code behind the Bot API) as documented by
the Bot API "HTML style" section and tdlib's own test cases:

- Tags: b strong i em u ins s strike del tg-spoiler span(class="tg-spoiler") a(href) code
  pre(+ ``<code class="language-x">``) blockquote(+ bare ``expandable``) tg-emoji(emoji-id).
  Anything else, ``<br>``/``<p>`` included, is ``Unsupported start tag "p" at byte offset N``.
  A bare ``<`` in text is a start tag with an empty name (``Unsupported start tag ""``).
- Tag and attribute names are case-insensitive; values are quoted or a bare token of
  letters, digits, ``.`` and ``-``; ``</>`` closes whatever is open.
- Entities: numeric (``&#NNN;`` / ``&#xHH;``) and the named ``&lt; &gt; &amp; &quot;``;
  the ``;`` is optional. Any other ``&...`` stays literal text (no error).
- Byte offsets are UTF-8 byte positions in the source, like Telegram's.
- Entity offsets/lengths are UTF-16 code units, like the Bot API's.

One deliberate difference (``strict_nesting=True``): where Telegram silently drops an
entity it cannot nest (anything inside code/pre, blockquote in blockquote, a link in a
link), the fake refuses the message, marking the description ``(fake strict nesting)``,
so a renderer that relies on the silent drop is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["HtmlParseError", "TgEntity", "parse_telegram_html", "utf16_len"]

SUPPORTED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "tg-spoiler", "span", "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "tg-emoji": "custom_emoji",
}
_SPACES = frozenset(b" \t\r\n\x0b\x0c")
_LT, _GT, _AMP, _SLASH, _EQ, _HASH = (ord(c) for c in "<>&/=#")
_QUOTES = frozenset(b"\"'")
_TOKEN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
# tdlib gives up on numeric entities this long ("&#" + digits + ";").
_MAX_NUMERIC_ENTITY_LEN = 10
_MAX_CODE_POINT = 0x10FFFF
_INVALID_UNICODE = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)


class HtmlParseError(ValueError):
    """Telegram's reason, e.g. ``Unsupported start tag "p" at byte offset 0``."""


@dataclass(frozen=True)
class TgEntity:
    type: str
    offset: int  # UTF-16 code units
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        for key in ("url", "language", "custom_emoji_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass
class _Open:
    name: str
    attrs: dict[str, str]
    utf16: int  # output position where the tag opened
    chunk: int  # index into the output chunks
    byte: int  # byte offset of "<" in the source
    language: str | None = field(default=None)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(b: bytes, pos: int) -> tuple[str, int] | None:
    """The character of the entity at `pos` and the position after it, or None."""
    n = len(b)
    end = pos + 1
    if end < n and b[end] == _HASH:
        end += 1
        hexa = end < n and b[end] == ord("x")
        if hexa:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexa else "0123456789"
        start = end
        while end < n and chr(b[end]) in digits:
            end += 1
        if end == start or end - pos >= _MAX_NUMERIC_ENTITY_LEN:
            return None
        code = int(b[start:end], 16 if hexa else 10)
        if code == 0 or code > _MAX_CODE_POINT:
            return None
        char = chr(code)
    else:
        start = end
        while end < n and chr(b[end]).isascii() and chr(b[end]).isalpha():
            end += 1
        if b[start:end] not in NAMED_ENTITIES:
            return None
        char = NAMED_ENTITIES[b[start:end]]
    if end < n and b[end] == ord(";"):
        end += 1
    return char, end


def _has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


class _Parser:
    def __init__(self, source: str, strict_nesting: bool) -> None:
        self.b = source.encode("utf-8", "surrogatepass")
        self.n = len(self.b)
        self.strict = strict_nesting
        self.chunks: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[TgEntity] = []

    def emit(self, text: str) -> None:
        self.chunks.append(text)
        self.utf16 += utf16_len(text)

    def skip_spaces(self, i: int) -> int:
        while i < self.n and self.b[i] in _SPACES:
            i += 1
        return i

    def run(self) -> tuple[str, list[TgEntity]]:
        b, n, i = self.b, self.n, 0
        while i < n:
            c = b[i]
            if c == _AMP:
                decoded = _decode_entity(b, i)
                if decoded is None:
                    self.emit("&")
                    i += 1
                else:
                    self.emit(decoded[0])
                    i = decoded[1]
            elif c != _LT:
                j = i + 1
                while j < n and b[j] not in (_AMP, _LT):
                    j += 1
                # Chunks end at ASCII bytes, so no UTF-8 sequence is cut.
                self.emit(b[i:j].decode("utf-8", "surrogatepass"))
                i = j
            elif i + 1 < n and b[i + 1] == _SLASH:
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        text = "".join(self.chunks)
        if _has_surrogates(text):
            raise HtmlParseError(_INVALID_UNICODE)
        return text, sorted(self.entities, key=lambda e: (e.offset, -e.length))

    def start_tag(self, begin: int) -> int:
        b, n = self.b, self.n
        i = begin + 1
        while i < n and b[i] not in _SPACES and b[i] != _GT:
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
        name = b[begin + 1 : i].decode("utf-8", "replace").lower()
        if name not in SUPPORTED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {begin}')
        unclosed = f'Unclosed start tag "{name}" at byte offset {begin}'
        attrs: dict[str, str] = {}
        while True:
            i = self.skip_spaces(i)
            if i >= n:
                raise HtmlParseError(unclosed)
            if b[i] == _GT:
                break
            attr_begin = i
            while i < n and b[i] not in _SPACES and b[i] not in (_EQ, _GT):
                i += 1
            attr = b[attr_begin:i].decode("utf-8", "replace").lower()
            if not attr:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {begin}'
                )
            i = self.skip_spaces(i)
            if i >= n or b[i] != _EQ:
                if name == "blockquote" and attr == "expandable":
                    attrs[attr] = ""  # the one valueless attribute Telegram knows
                    continue
                if i >= n:
                    raise HtmlParseError(unclosed)
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{name}" at byte offset {begin}'
                )
            i = self.skip_spaces(i + 1)
            if i >= n:
                raise HtmlParseError(unclosed)
            value = bytearray()
            if b[i] in _QUOTES:
                quote = b[i]
                i += 1
                while i < n and b[i] != quote:
                    decoded = _decode_entity(b, i) if b[i] == _AMP else None
                    if decoded is None:
                        value.append(b[i])
                        i += 1
                    else:
                        value += decoded[0].encode("utf-8", "surrogatepass")
                        i = decoded[1]
                if i < n:
                    i += 1
            else:
                token = i
                while i < n and b[i] in _TOKEN:
                    i += 1
                value += b[token:i].lower()
                if i < n and b[i] not in _SPACES and b[i] != _GT:
                    raise HtmlParseError(f"Unexpected end of name token at byte offset {token}")
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            attrs[attr] = value.decode("utf-8", "replace")
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        if self.strict:
            self.check_nesting(name, begin)
        self.stack.append(_Open(name, attrs, self.utf16, len(self.chunks), begin))
        return i + 1

    def check_nesting(self, name: str, begin: int) -> None:
        for outer in self.stack:
            if outer.name in ("code", "pre"):
                # Only the <pre><code class="language-x"> pairing lives inside code/pre.
                allowed = outer.name == "pre" and name == "code" and outer is self.stack[-1]
            else:
                allowed = not (outer.name == name and name in ("blockquote", "a"))
            if not allowed:
                raise HtmlParseError(
                    f'Tag "{name}" can\'t be nested in "{outer.name}" at byte offset {begin} '
                    "(fake strict nesting)"
                )

    def end_tag(self, begin: int) -> int:
        b, n = self.b, self.n
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        i = begin + 2
        while i < n and b[i] not in _SPACES and b[i] != _GT:
            i += 1
        end_name = b[begin + 2 : i].decode("utf-8", "replace").lower()
        i = self.skip_spaces(i)
        if i >= n or b[i] != _GT:
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        top = self.stack.pop()
        if end_name and end_name != top.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{top.name}>", '
                f'found "</{end_name}>"'
            )
        self.close(top)
        return i + 1

    def close(self, tag: _Open) -> None:
        length = self.utf16 - tag.utf16
        if length <= 0:
            return  # Telegram drops empty entities
        name, attrs = tag.name, tag.attrs
        if name == "a":
            url = attrs.get("href") or "".join(self.chunks[tag.chunk :])
            if url:
                self.entities.append(TgEntity("text_link", tag.utf16, length, url=url))
        elif name == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
            self.entities.append(TgEntity(kind, tag.utf16, length))
        elif name == "code" and self.stack and self.stack[-1].name == "pre":
            language = attrs.get("class", "")
            if language.startswith("language-") and self.stack[-1].utf16 == tag.utf16:
                self.stack[-1].language = language.removeprefix("language-")
            else:
                self.entities.append(TgEntity("code", tag.utf16, length))
        elif name == "pre":
            self.entities.append(TgEntity("pre", tag.utf16, length, language=tag.language))
        elif name == "tg-emoji":
            emoji_id = attrs.get("emoji-id")
            self.entities.append(
                TgEntity("custom_emoji", tag.utf16, length, custom_emoji_id=emoji_id)
            )
        else:
            self.entities.append(TgEntity(_ENTITY_TYPE[name], tag.utf16, length))


def parse_telegram_html(source: str, *, strict_nesting: bool = True) -> tuple[str, list[TgEntity]]:
    """The visible text and entities Telegram makes of `source`, or HtmlParseError."""
    return _Parser(source, strict_nesting).run()
