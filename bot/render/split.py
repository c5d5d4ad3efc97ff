"""The one splitting algorithm every platform shares.

A renderer describes a brief as `DocSection`s made of `Line`s (plain text in `Span`s, no
markup). A platform supplies a `Layout`: how to render some lines as one fragment, what
that fragment costs (a vector of additive costs, e.g. characters and entities) and the
per-message budget. `pack` then

1. packs whole sections into a message while they fit,
2. otherwise whole items,
3. and splits an item too big on its own into lines and, if a line alone is too big,
   splits that line's TEXT (before any escaping, so never inside a tag, an entity or a
   link) at a newline, then a space, then punctuation, then a grapheme-safe hard cut.

A section that continues into the next message repeats its heading with "(continued)".
A section marked `keep_with_previous` (a brief's sources) never opens a message on its own
when it would not fit where it is: the end of what precedes it (the last unit, else the
last line of it) moves along to the next message with it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, Literal, Protocol, TypeVar

__all__ = [
    "BREAK",
    "Cost",
    "DocSection",
    "Layout",
    "Line",
    "LineKind",
    "Span",
    "Unit",
    "cut_point",
    "is_grapheme_boundary",
    "make_unit",
    "pack",
    "split_line",
    "utf16_len",
]

Cost = tuple[int, ...]
F = TypeVar("F")

# "title": the brief's title; "heading": a section title; "meta": small print (links,
# dates); "text": everything else; "break": the gap between items packed together.
LineKind = Literal["title", "heading", "meta", "text", "break"]

# A chunk cut at a preferred break is accepted only if it keeps at least this share of
# the room; otherwise the next, finer kind of break is tried (avoids tiny fragments).
_MIN_FILL = 0.5

_PUNCTUATION = frozenset(
    ".,;:!?)]}\u3002\uff01\uff1f\uff0c\uff1b\uff1a\u3001\u300d\u300f\uff09\u2026"
)
_ZWJ = "\u200d"


@dataclass(frozen=True)
class Span:
    """A run of plain text, optionally bold and/or a link. Never contains markup."""

    text: str
    bold: bool = False
    url: str | None = None


@dataclass(frozen=True)
class Line:
    """One logical line (a paragraph may hold newlines); the smallest unit split as text."""

    spans: tuple[Span, ...]
    kind: LineKind = "text"

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)

    def slice(self, start: int, end: int) -> Line:
        """The line restricted to text[start:end], keeping each span's style."""
        out: list[Span] = []
        pos = 0
        for s in self.spans:
            lo, hi = max(start, pos), min(end, pos + len(s.text))
            if lo < hi:
                out.append(replace(s, text=s.text[lo - pos : hi - pos]))
            pos += len(s.text)
        return Line(tuple(out), self.kind)


BREAK = Line((), "break")


@dataclass(frozen=True)
class DocSection:
    heading: Line | None
    continued: Line | None  # repeated at the top of the next message when this continues
    items: list[list[Line]] = field(default_factory=list)
    break_after: bool = False  # end the message after this section (Slack thread parent)
    # Never open a message alone: carry the end of the previous content along (sources).
    keep_with_previous: bool = False


@dataclass(frozen=True)
class Unit(Generic[F]):
    """A rendered fragment, its visible text and its cost: what `pack` moves around."""

    fragment: F
    visible: str
    cost: Cost


class Layout(Protocol[F]):
    """What a platform tells the splitter."""

    @property
    def budget(self) -> Cost: ...  # per message, component-wise

    @property
    def base(self) -> Cost: ...  # an empty message (wrappers, headers)

    def render(self, lines: Sequence[Line]) -> F | None:
        """One fragment for these lines, or None if they cannot form one (a per-fragment
        limit such as Slack's 3000-character section)."""
        ...

    def measure(self, fragment: F) -> Cost: ...

    def visible(self, fragment: F) -> str: ...


def _add(a: Cost, b: Cost) -> Cost:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _within(cost: Cost, budget: Cost) -> bool:
    return all(c <= b for c, b in zip(cost, budget, strict=True))


def make_unit(layout: Layout[F], lines: Sequence[Line]) -> Unit[F] | None:
    fragment = layout.render(lines)
    if fragment is None:
        return None
    return Unit(fragment, layout.visible(fragment), layout.measure(fragment))


# --- Text cutting ------------------------------------------------------------------------


def _extends(ch: str) -> bool:
    """True if `ch` belongs to the grapheme before it (never cut in front of it)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def is_grapheme_boundary(text: str, pos: int) -> bool:
    """A conservative extended-grapheme boundary test (no `regex` dependency)."""
    if pos <= 0 or pos >= len(text):
        return True
    before, after = text[pos - 1], text[pos]
    if before == "\r" and after == "\n":
        return False
    if _extends(after) or before == _ZWJ:
        return False
    if _regional(before) and _regional(after):
        run = 0
        i = pos - 1
        while i >= 0 and _regional(text[i]):
            run += 1
            i -= 1
        return run % 2 == 0  # inside a flag pair when the run so far is odd
    return True


def utf16_len(text: str) -> int:
    """Length in UTF-16 units (Slack's and Discord's measure): never less than code
    points, so a safe measure."""
    return len(text.encode("utf-16-le")) // 2


def cut_point(text: str, limit: int) -> int:
    """Where to cut `text` so the head has at most `limit` characters (0 < result).

    Prefers, within the last half of the room: after a newline, after whitespace, after
    punctuation (Latin and CJK); else the last grapheme boundary.
    """
    limit = min(limit, len(text))
    if limit >= len(text):
        return len(text)
    floor = max(1, int(limit * _MIN_FILL))
    tests: tuple[Callable[[str], bool], ...] = (
        lambda c: c == "\n",
        str.isspace,
        lambda c: c in _PUNCTUATION,
    )
    for test in tests:
        for pos in range(limit, floor - 1, -1):
            if test(text[pos - 1]) and is_grapheme_boundary(text, pos):
                return pos
    for pos in range(limit, 0, -1):
        if is_grapheme_boundary(text, pos):
            return pos
    return max(1, limit)  # one grapheme larger than the room: cut it rather than loop


def split_line(line: Line, fits: Callable[[Line], bool]) -> tuple[Line, Line]:
    """Split `line` into a head that `fits` and the rest (assumes the whole does not fit)."""
    text = line.text
    lo, hi = 0, len(text)  # invariant: head of length lo fits (0 trivially), hi does not
    probe = 256  # grow first: rendering a huge line many times would be quadratic
    while probe < hi and fits(line.slice(0, probe)):
        lo, probe = probe, probe * 2
    hi = min(hi, probe)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(line.slice(0, mid)):
            lo = mid
        else:
            hi = mid
    if lo == 0:
        raise ValueError("a single character does not fit in an empty message")
    cut = cut_point(text, lo)
    return line.slice(0, cut), line.slice(cut, len(text))


# --- Packing ------------------------------------------------------------------------------


def _total(units: Sequence[Unit[F]], start: Cost) -> Cost:
    cost = start
    for u in units:
        cost = _add(cost, u.cost)
    return cost


def _remaining(budget: Cost, used: Cost) -> Cost:
    return tuple(b - u for b, u in zip(budget, used, strict=True))


# A split item starts in the current message only if at least this share of a fresh
# message is left there; otherwise it starts on a new one (no slivers).
_MIN_START_SHARE = 0.25


_Role = Literal["open", "heading", "content", "continued"]


@dataclass(frozen=True)
class _Placed(Generic[F]):
    """A unit in the message being filled, with what is needed to move it (or its last
    line) to the next message: the lines it was rendered from, its role ("open": a whole
    section; "heading": a section's heading; "content": items of a section in progress;
    "continued": a repeated heading) and the heading to repeat in front of its content
    when that starts the next message."""

    unit: Unit[F]
    lines: tuple[Line, ...]
    role: _Role
    cont: tuple[Unit[F], ...] = ()


class _Packer(Generic[F]):
    """Fills messages unit by unit; one instance per `pack` call."""

    def __init__(self, layout: Layout[F]) -> None:
        self.layout = layout
        self.budget, self.base = layout.budget, layout.base
        self.fresh = _remaining(self.budget, self.base)
        if not all(r > 0 for r in self.fresh):
            raise ValueError("the message wrapper alone exceeds the budget")
        self.messages: list[list[Unit[F]]] = []
        self.placed: list[_Placed[F]] = []
        self.used = self.base
        self.continued: list[Unit[F]] = []
        self.heading: Unit[F] | None = None  # the section heading, until content follows it

    @property
    def current(self) -> list[Unit[F]]:
        return [p.unit for p in self.placed]

    # -- message state
    def flush(self) -> None:
        if self.placed:
            self.messages.append(self.current)
        self.placed, self.used = [], self.base

    def new_message(self) -> None:
        """Start the next message, repeating the heading of the section in progress; a
        heading with nothing after it yet moves along instead of staying orphaned."""
        heading = self.heading
        if heading is not None and self.placed and self.placed[-1].unit is heading:
            self.placed.pop()
            self.used = _total(self.current, self.base)
        else:
            heading = None
        self.flush()
        if heading is not None:
            self.add(heading, (), "heading")
        else:
            for unit in self.continued:
                self.add(unit, (), "continued")
        self.heading = heading

    def add(self, unit: Unit[F], lines: Sequence[Line], role: _Role = "content") -> None:
        cont = tuple(self.continued) if role == "content" else ()
        self.placed.append(_Placed(unit, tuple(lines), role, cont))
        self.used = _add(self.used, unit.cost)
        self.heading = None

    def fits(self, units: Sequence[Unit[F]], *, fresh: bool = False) -> bool:
        start = _total(self.continued, self.base) if fresh else self.used
        return _within(_total(units, start), self.budget)

    def unit(self, lines: Sequence[Line], *, fresh: bool = False) -> Unit[F] | None:
        """A unit for these lines if it fits the current (or a fresh) message."""
        unit = make_unit(self.layout, lines)
        return unit if unit is not None and self.fits([unit], fresh=fresh) else None

    def roomy(self) -> bool:
        room = _remaining(self.budget, self.used)
        fresh = _remaining(self.budget, _total(self.continued, self.base))
        return all(r >= f * _MIN_START_SHARE for r, f in zip(room, fresh, strict=True))

    # -- placing content
    def place_item(self, lines: Sequence[Line]) -> None:
        """A whole item if it fits here or on a new message; else line by line, and a
        line too big for any message is split as text to fill the current one."""
        whole = self.unit(lines)
        if whole is not None:
            self.add(whole, lines)
            return
        whole = self.unit(lines, fresh=True)
        if whole is not None:
            self.new_message()
            self.add(whole, lines)
            return
        group: list[Line] = []
        group_unit: Unit[F] | None = None
        for line in lines:
            grown = self.unit([*group, line])
            if grown is not None:
                group.append(line)
                group_unit = grown
                continue
            if group_unit is not None:
                self.add(group_unit, group)
            group, group_unit = [], None
            if self.unit([line], fresh=True) is not None:  # a whole line: move, don't cut
                if (alone := self.unit([line])) is None:
                    self.new_message()
                    alone = self.unit([line])
                group, group_unit = [line], alone
                continue
            rest = line
            while (alone := self.unit([rest])) is None:
                if not self.roomy():
                    self.new_message()
                    continue
                head, rest = split_line(rest, lambda part: self.unit([part]) is not None)
                head_unit = self.unit([head])
                assert head_unit is not None
                self.add(head_unit, [head])
            group, group_unit = [rest], alone
        if group_unit is not None:
            self.add(group_unit, group)

    def place_heading(self, heading: Line, first_item: Sequence[Line]) -> None:
        """The heading, never left alone at the end of a message."""
        unit = make_unit(self.layout, [heading])
        if unit is None or not _within(_total([unit], self.base), self.budget):
            # A heading too big for a message: treat it as an item of its own.
            self.place_item([heading])
            return
        together = self.unit([heading, *first_item])
        if not (self.fits([unit]) and (together is not None or self.roomy())):
            self.flush()
        self.add(unit, [heading], "heading")
        self.heading = unit  # `new_message` carries it along if nothing follows it here

    def carry(
        self, sec: DocSection, unit: Unit[F], lines: Sequence[Line], fallback: Line | None
    ) -> bool:
        """Start a new message with `unit` (a whole section that must not stand alone)
        and the end of the current message: its last unit (with the heading just before
        it), else that unit's last line. False if neither fits beside it."""
        if not self.placed or not _within(_total([unit], self.base), self.budget):
            return False
        placed = self.placed
        k = (
            2
            if len(placed) > 1 and placed[-1].role == "content" and placed[-2].role == "heading"
            else 1
        )
        staying, moving = placed[:-k], placed[-k:]
        if any(p.role != "continued" for p in staying):
            prefix = moving[0].cont if moving[0].role == "content" else ()
            if _within(_total([*prefix, *(p.unit for p in moving), unit], self.base), self.budget):
                self._restart(staying, prefix, moving)
                self.add_open(sec, unit, lines, fallback)
                return True
        return self._carry_last_line(sec, unit, lines, fallback)

    def _carry_last_line(
        self, sec: DocSection, unit: Unit[F], lines: Sequence[Line], fallback: Line | None
    ) -> bool:
        last = self.placed[-1]
        if last.role not in ("open", "content"):
            return False
        head = list(last.lines[:-1])
        while head and head[-1].kind == "break":
            head.pop()
        if not any(ln.kind not in ("title", "heading", "break") for ln in head):
            return False  # what stays would be a heading alone
        head_unit = make_unit(self.layout, head)
        tail_unit = make_unit(self.layout, last.lines[-1:])
        if head_unit is None or tail_unit is None:
            return False
        staying = [*self.placed[:-1], replace(last, unit=head_unit, lines=tuple(head))]
        if not _within(_total([p.unit for p in staying], self.base), self.budget):
            return False
        # The section the line belongs to continues: its heading is repeated first.
        if not _within(_total([*last.cont, tail_unit, unit], self.base), self.budget):
            return False
        self._restart(
            staying, last.cont, [_Placed(tail_unit, last.lines[-1:], "content", last.cont)]
        )
        self.add_open(sec, unit, lines, fallback)
        return True

    def _restart(
        self,
        staying: Sequence[_Placed[F]],
        prefix: Sequence[Unit[F]],
        moving: Sequence[_Placed[F]],
    ) -> None:
        """End the message with `staying`; start the next with `prefix` and `moving`."""
        self.placed = list(staying)
        self.flush()
        for u in prefix:
            self.add(u, (), "continued")
        for p in moving:
            self.placed.append(p)
            self.used = _add(self.used, p.unit.cost)

    def place_section(self, sec: DocSection, fallback: Line | None) -> None:
        self.continued = []
        items = [lines for lines in sec.items if lines]
        whole_lines = [sec.heading] if sec.heading is not None else []
        for lines in items:
            whole_lines += [BREAK, *lines] if whole_lines else list(lines)
        whole = make_unit(self.layout, whole_lines) if whole_lines else None
        # Whole sections first: here, else on a new message.
        if whole is not None and self.fits([whole]):
            self.add_open(sec, whole, whole_lines, fallback)
        elif (
            whole is not None
            and sec.keep_with_previous
            and self.carry(sec, whole, whole_lines, fallback)
        ):
            pass
        elif whole is not None and self.placed and _within(_total([whole], self.base), self.budget):
            self.flush()
            self.add_open(sec, whole, whole_lines, fallback)
        else:
            if sec.heading is not None:
                self.place_heading(sec.heading, items[0] if items else [])
            self.continued = _continued_units(self.layout, sec, fallback, self.fresh)
            for lines in items:
                self.place_item(lines)
        self.continued = []
        if sec.break_after:
            self.flush()

    def add_open(
        self, sec: DocSection, unit: Unit[F], lines: Sequence[Line], fallback: Line | None
    ) -> None:
        """A whole section; remembers its repeated heading in case its end moves on."""
        self.add(unit, lines, "open")
        cont = tuple(_continued_units(self.layout, sec, fallback, self.fresh))
        self.placed[-1] = replace(self.placed[-1], cont=cont)


def pack(
    sections: Sequence[DocSection], layout: Layout[F], *, fallback_continued: Line | None = None
) -> list[list[Unit[F]]]:
    """Pack sections into messages, each within `layout.budget`.

    A section that fits goes in whole (as one unit); otherwise its heading and items are
    placed one by one, and items too big on their own are split (see `_Packer`).
    """
    packer: _Packer[F] = _Packer(layout)
    for sec in sections:
        packer.place_section(sec, fallback_continued)
    packer.flush()
    return packer.messages


def _continued_units(
    layout: Layout[F], sec: DocSection, fallback: Line | None, fresh_room: Cost
) -> list[Unit[F]]:
    """The repeated heading; the short fallback when the full one would eat the room."""
    half = tuple(r // 2 for r in fresh_room)
    for line in (sec.continued, fallback):
        if line is None:
            continue
        unit = make_unit(layout, [line])
        if unit is not None and _within(unit.cost, half):
            return [unit]
    return []
