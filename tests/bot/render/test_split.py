from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.split import (
    BREAK,
    Cost,
    DocSection,
    Line,
    Span,
    Unit,
    cut_point,
    is_grapheme_boundary,
    pack,
    split_line,
)
from tests.strategies import E_ACUTE, FAMILY, FLAGS, RAINBOW, THUMB, examples, texts


class CharLayout:
    """A toy platform: a fragment is its lines joined by newlines; cost = characters,
    plus a per-fragment cap (like Slack's 3000-character section)."""

    def __init__(self, budget: int, base: int = 0, fragment_cap: int | None = None) -> None:
        self.budget: Cost = (budget,)
        self.base: Cost = (base,)
        self.cap = fragment_cap

    def render(self, lines: Sequence[Line]) -> str | None:
        text = "\n".join(line.text for line in lines)
        return None if self.cap is not None and len(text) > self.cap else text

    def measure(self, fragment: str) -> Cost:
        return (len(fragment) + 1,)

    def visible(self, fragment: str) -> str:
        return fragment


def line(text: str, kind: str = "text") -> Line:
    return Line((Span(text),), kind)  # type: ignore[arg-type]


def section(title: str, *items: str) -> DocSection:
    return DocSection(
        heading=line(title, "heading"),
        continued=line(f"{title} (cont)", "heading"),
        items=[[line(i)] for i in items],
    )


def texts_of(messages: list[list[Unit[str]]]) -> list[list[str]]:
    return [[u.fragment for u in m] for m in messages]


# --- cut points --------------------------------------------------------------------------


def test_cut_prefers_newline_then_space_then_punctuation() -> None:
    assert cut_point("aaaaaaaa\nbbb c,dddddddd", 16) == 9  # after the newline
    assert cut_point("aaaaaaaa bbb,cccccccc", 16) == 9  # after the space
    assert cut_point("aaaaaaaa,bbbbbbbbbbb", 16) == 9  # after the comma
    assert cut_point("强化学习让智能体。学习环境中的", 12) == 9  # after the CJK full stop
    assert cut_point("abcdefghij", 6) == 6  # hard cut as the last resort


def test_cut_ignores_breaks_too_early_in_the_room() -> None:
    # A newline at 2 of 20 would waste the room: a later space wins.
    text = "a\n" + "b" * 10 + " " + "c" * 20
    assert cut_point(text, 20) == 13


@pytest.mark.parametrize("cluster", [FAMILY, RAINBOW, FLAGS[:2], THUMB, E_ACUTE, "\r\n"])
def test_hard_cuts_never_split_a_grapheme(cluster: str) -> None:
    text = cluster * 50
    for limit in range(len(cluster), len(text)):
        pos = cut_point(text, limit)
        assert pos <= max(limit, len(cluster))
        assert pos % len(cluster) == 0, (cluster, limit, pos)


def test_regional_indicator_pairs_stay_together() -> None:
    flags = FLAGS * 3  # six indicators: three flags
    boundaries = [p for p in range(len(flags) + 1) if is_grapheme_boundary(flags, p)]
    assert boundaries == [0, 2, 4, 6, 8, 10, 12]


def test_split_line_keeps_styles_and_loses_nothing() -> None:
    ln = Line((Span("Label: ", bold=True), Span("x" * 30, url="https://a.b")))
    head, rest = split_line(ln, lambda part: len(part.text) <= 20)
    assert head.text + rest.text == ln.text
    assert head.spans[0] == Span("Label: ", bold=True)
    assert all(s.url == "https://a.b" for s in rest.spans)
    assert len(head.text) <= 20


def test_split_line_refuses_when_nothing_fits() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        split_line(line("abc"), lambda part: False)


@settings(max_examples=examples(50), deadline=None)
@given(texts.filter(lambda t: len(t) > 1), st.integers(min_value=4, max_value=40))
def test_split_line_reassembles_exactly(text: str, room: int) -> None:
    chunks = []
    rest = line(text)
    while len(rest.text) > room:
        head, rest = split_line(rest, lambda part: len(part.text) <= room)
        chunks.append(head.text)
        consumed = len("".join(chunks))
        assert is_grapheme_boundary(text, consumed) or len(head.text) >= room
    chunks.append(rest.text)
    assert "".join(chunks) == text


# --- packing -------------------------------------------------------------------------------


def test_whole_sections_share_a_message_when_they_fit() -> None:
    messages = pack([section("A", "a1", "a2"), section("B", "b1")], CharLayout(100))
    assert texts_of(messages) == [["A\n\na1\n\na2", "B\n\nb1"]]


def test_a_section_that_fits_a_new_message_is_not_split() -> None:
    messages = pack([section("A", "a" * 30), section("B", "b" * 20, "c" * 20)], CharLayout(50))
    assert texts_of(messages) == [["A\n\n" + "a" * 30], ["B\n\n" + "b" * 20 + "\n\n" + "c" * 20]]


def test_items_continue_under_a_repeated_heading() -> None:
    items = [c * 30 for c in "abcd"]
    messages = pack([section("S", *items)], CharLayout(70))
    flat = texts_of(messages)
    assert flat[0][0] == "S"
    assert all(m[0] == "S (cont)" for m in flat[1:])
    assert [f for m in flat for f in m if f not in ("S", "S (cont)")] == items
    assert all(sum(len(f) + 1 for f in m) <= 70 for m in flat)


def test_heading_is_never_left_alone_at_the_end() -> None:
    messages = pack([section("A", "a" * 40), section("B", "b" * 60, "c" * 60)], CharLayout(70))
    for m in texts_of(messages):
        assert m[-1] not in ("A", "B")


def test_oversized_item_is_split_as_text_and_fills_messages() -> None:
    text = "。".join(["句子" * 5] * 40)
    messages = pack([section("S", text)], CharLayout(100))
    flat = texts_of(messages)
    assert "".join(f for m in flat for f in m if f not in ("S", "S (cont)")) == text
    assert all(sum(len(f) + 1 for f in m) <= 100 for m in flat)
    assert all(m[-1].endswith("。") for m in flat[:-1])


def test_fragment_cap_splits_within_a_message() -> None:
    messages = pack([section("S", "x " * 100)], CharLayout(1000, fragment_cap=50))
    frags = [f for m in texts_of(messages) for f in m]
    assert len(messages) == 1 and all(len(f) <= 50 for f in frags)
    assert "".join(frags[1:]) == "x " * 100


def test_break_after_ends_the_message() -> None:
    opening = DocSection(line("T", "title"), None, [[line("ov")]], break_after=True)
    messages = pack([opening, section("A", "a")], CharLayout(100))
    assert texts_of(messages) == [["T\n\nov"], ["A\n\na"]]


def test_whole_section_joins_items_with_breaks() -> None:
    sec = section("A", "a1", "a2")
    layout = CharLayout(100)
    whole = layout.render([sec.heading, BREAK, sec.items[0][0], BREAK, sec.items[1][0]])  # type: ignore[list-item]
    assert texts_of(pack([sec], layout)) == [[whole]]


def test_long_continued_heading_falls_back_to_the_short_one() -> None:
    sec = DocSection(
        line("H", "heading"),
        line("H" * 60 + " (cont)", "heading"),
        [[line("x" * 90)], [line("y" * 90)]],
    )
    messages = pack([sec], CharLayout(100), fallback_continued=line("(cont)", "heading"))
    assert texts_of(messages)[1][0] == "(cont)"


def test_wrapper_larger_than_budget_is_an_error() -> None:
    with pytest.raises(ValueError, match="wrapper"):
        pack([section("A", "a")], CharLayout(10, base=10))


# --- sections that must not stand alone ---------------------------------------------------


def sticky(title: str, *items: str) -> DocSection:
    return replace(section(title, *items), keep_with_previous=True)


def test_a_sticky_section_that_fits_stays_where_it_is() -> None:
    messages = pack([section("A", "a" * 20), sticky("S", "s")], CharLayout(100))
    assert texts_of(messages) == [["A\n\n" + "a" * 20, "S\n\ns"]]


def test_a_sticky_section_brings_the_previous_whole_section_along() -> None:
    sections = [section("A", "a" * 40), section("B", "b" * 20), sticky("S", "s" * 20)]
    messages = pack(sections, CharLayout(80))
    assert texts_of(messages) == [["A\n\n" + "a" * 40], ["B\n\n" + "b" * 20, "S\n\n" + "s" * 20]]


def test_a_sticky_section_brings_the_last_item_under_a_repeated_heading() -> None:
    sections = [section("A", *(c * 25 for c in "abcd")), sticky("S", "s" * 20)]
    messages = pack(sections, CharLayout(90))
    flat = texts_of(messages)
    assert flat[-1] == ["A (cont)", "d" * 25, "S\n\n" + "s" * 20]
    assert [f for m in flat for f in m if f not in ("A", "A (cont)")][-2:] == [
        "d" * 25,
        flat[-1][-1],
    ]


def test_a_sticky_section_brings_the_last_line_of_a_big_item() -> None:
    item = [line("x" * 30), line("y" * 30)]
    sections = [
        DocSection(line("A", "heading"), line("A (cont)", "heading"), [item]),
        sticky("S", "s" * 20),
    ]
    messages = pack(sections, CharLayout(80))
    flat = texts_of(messages)
    assert flat == [["A\n\n" + "x" * 30], ["A (cont)", "y" * 30, "S\n\n" + "s" * 20]]


def test_a_sticky_section_too_big_to_share_is_placed_as_usual() -> None:
    sections = [section("A", "a" * 60), sticky("S", "s" * 60)]
    messages = pack(sections, CharLayout(70))
    assert texts_of(messages) == [["A\n\n" + "a" * 60], ["S\n\n" + "s" * 60]]


def test_a_sticky_section_after_a_break_starts_the_next_message() -> None:
    opening = DocSection(line("T", "title"), None, [[line("ov")]], break_after=True)
    messages = pack([opening, sticky("S", "s")], CharLayout(100))
    assert texts_of(messages) == [["T\n\nov"], ["S\n\ns"]]


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=1, max_value=35), min_size=1, max_size=5),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(min_value=1, max_value=15), min_size=1, max_size=2),
)
def test_a_small_sticky_section_never_opens_a_message(
    sizes: list[list[int]], sticky_sizes: list[int]
) -> None:
    budget = 100
    secs = [
        section(f"H{i}", *(chr(97 + j) * n for j, n in enumerate(items)))
        for i, items in enumerate(sizes)
    ]
    tail = sticky("S", *("s" * n for n in sticky_sizes))
    messages = texts_of(pack([*secs, tail], CharLayout(budget)))
    assert all(sum(len(f) + 1 for f in m) <= budget for m in messages)
    # Nothing lost, nothing repeated but headings, in order.
    body = [f for m in messages for f in m if not f.endswith("(cont)")]
    expected: list[str] = []
    for sec in [*secs, tail]:
        assert sec.heading is not None
        expected.append(sec.heading.text)
        expected += [item[0].text for item in sec.items]
    assert "".join(body).replace("\n", "") == "".join(expected)
    # The sticky section shares its message with something before it.
    last = [f for f in messages[-1] if not f.endswith("(cont)")]
    assert not last[0].startswith("S"), messages
