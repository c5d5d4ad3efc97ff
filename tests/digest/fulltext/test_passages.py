"""Passages, retrieval and the token budget, on the fixture papers."""

from __future__ import annotations

import pytest

from digest.fulltext.budget import select_excerpts
from digest.fulltext.passages import Index, estimate_tokens, passages_of
from tests.fulltext_fixtures import fixture_paper, questions, scaling_pdf_text


def test_retrieval_finds_the_right_section_in_its_top_three() -> None:
    pairs = questions()
    assert len(pairs) >= 30
    indexes: dict[str, Index] = {}
    hits = 0
    for text, question, where in pairs:
        index = indexes.setdefault(text.paper_id, Index(text))
        found = index.search(question, 3)
        hits += any(p.section == where or p.cite.label == where for p, _ in found)
    assert hits / len(pairs) >= 0.9


@pytest.mark.parametrize(
    "question",
    ["What is the weather in Paris?", "Does it use RLHF?", "Is the protein folded correctly?"],
)
def test_a_question_the_paper_has_no_word_for_matches_nothing(question: str) -> None:
    assert Index(fixture_paper("2605.06663", "2605.06663v2.html")).search(question) == []


def test_a_chinese_question_finds_its_english_section() -> None:
    index = Index(fixture_paper("2605.06663", "2605.06663v2.html"))
    [(best, _), *_] = index.search("预训练用了什么数据?")
    assert best.section == "§4.1 Pretraining data"
    [(best, _), *_] = index.search("有什么局限?")
    assert best.section == "§7 Limitations"


def test_citations_link_into_the_html_and_name_pdf_pages() -> None:
    html = passages_of(fixture_paper("2605.06663", "2605.06663v2.html"))
    table = next(p for p in html if p.kind == "table")
    assert table.cite.label == "Table 1"
    assert table.cite.url == "https://arxiv.org/html/2605.06663v2#S5.T1"
    limits = next(p for p in html if p.section == "§7 Limitations")
    assert limits.cite.url == "https://arxiv.org/html/2605.06663v2#S7"
    pdf = passages_of(scaling_pdf_text())
    results = next(p for p in pdf if p.section == "§3 Results")
    assert results.cite.label == "§3 Results (p. 2)"
    assert results.cite.url == "https://arxiv.org/pdf/2605.01640#page=2"


@pytest.mark.parametrize("budget", [600, 1500, 6000])
def test_the_excerpts_fit_the_budget_and_cover_what_the_card_needs(budget: int) -> None:
    text = fixture_paper("2605.06663", "2605.06663v2.html")
    excerpts = select_excerpts(text, budget)
    assert sum(estimate_tokens(e.text) + 8 for e in excerpts) <= budget
    where = [e.where for e in excerpts]
    for needed in ("§7 Limitations", "§5 Results", "§4.1 Pretraining data"):
        assert needed in where
    assert any(w.startswith("Table") for w in where)
    # In the paper's order, not by score.
    sections = [w for w in where if w.startswith("§") and w[1].isdigit()]
    assert sections == sorted(sections, key=lambda w: [int(x) for x in w[1:].split()[0].split(".")])


def test_a_small_budget_keeps_limitations_and_results_before_related_work() -> None:
    excerpts = select_excerpts(fixture_paper("2605.06663", "2605.06663v2.html"), 400)
    where = [e.where for e in excerpts]
    assert "§7 Limitations" in where and "§2 Related Work" not in where
