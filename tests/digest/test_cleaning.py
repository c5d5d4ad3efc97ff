"""Source text cleaned for reading: LaTeX, connectives, shortening, surveys, quotations."""

from __future__ import annotations

import pytest

from digest.cleaning import (
    clean_sentence,
    clean_title,
    drop_connective,
    latex_to_text,
    quote,
    shorten,
    survey_topic,
)
from digest.extractive import TAKEAWAY_CHARS, paper_text, takeaway
from digest.models import Paper
from digest.sample import sample_candidates
from digest.sources.hf import parse_paper


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (r"$T \propto D^{\gamma}$", "T ∝ D^γ"),
        (r"($T \propto D^{\gamma}$, $R^{2} > 0.99$)", "(T ∝ D^γ, R² > 0.99)"),
        (r"reduces bpb by $0.81\%$", "reduces bpb by 0.81%"),
        (
            r"We introduce \textbf{InterLV-Search}, a benchmark",
            "We introduce InterLV-Search, a benchmark",
        ),
        (r"A$^2$TGPO", "A²TGPO"),
        (r"\emph{global ignition}", "global ignition"),
        (
            r"r\underline{e}ranking, \underline{co}de and \textsc{CoREB}",
            "reranking, code and CoREB",
        ),
        (r"as argued \citep{mankiw2020}, wages", "as argued, wages"),
        (r"$\alpha$-divergence with $\beta=0.5$", "α-divergence with β=0.5"),
        (r"$O(n^2)$ time, $\mathcal{O}(\log n)$ memory", "O(n²) time, O(log n) memory"),
        (r"$\frac{1}{2}$ and $\sqrt{d_k}$", "1/2 and √dₖ"),
        (r"$x_{t+1} = f(x_t)$", "xₜ₊₁ = f(xₜ)"),
        (r"$10^{-3}$ and $e^{-x}$", "10⁻³ and e^(-x)"),
        (r"$\theta_{old}$, $W^\top$, $\mathbb{R}^d$", "θ_old, Wᵀ, ℝ^d"),
        (r"$a \leq b \times c \approx d \to e$", "a ≤ b × c ≈ d → e"),
        (r"\foo{kept} \bar{x} \unknowncommand dropped", "kept x dropped"),
        (r"\href{https://x.org}{the site}, \textcolor{red}{warning}", "the site, warning"),
        ("``quoted'' words", "“quoted” words"),
        ("the accuracy--cost tradeoff", "the accuracy–cost tradeoff"),
        ("fast --- and cheap -- runs", "fast — and cheap – runs"),
        ("Task~B and Fig.~3 (see Table~(2))", "Task B and Fig. 3 (see Table (2))"),
        (r"as shown \cite{x}~and kept", "as shown and kept"),
        ("improves by ~10% and ~ 5 points", "improves by ~10% and ~ 5 points"),
        ("--flag stays", "--flag stays"),
        # Not LaTeX: left alone.
        ("costs $5 and $10 per run", "costs $5 and $10 per run"),
        ("Plain text (with parens), 5% gains.", "Plain text (with parens), 5% gains."),
        ("  spaced \n out  ", "spaced out"),
    ],
)
def test_latex_becomes_plain_text(raw: str, clean: str) -> None:
    assert latex_to_text(raw) == clean


def test_nested_markup_with_math_inside() -> None:
    raw = (
        r"\textbf{Agents are not labor; they convert compute capital $K_c$ into units of "
        r"cognitive labor $L_A$.}"
    )
    assert latex_to_text(raw) == (
        "Agents are not labor; they convert compute capital K_c into units of cognitive labor L_A."
    )


def test_unbalanced_markup_does_not_crash() -> None:
    for raw in (r"\textbf{open", "$x", r"a \ ", r"\\", "}{", r"$\frac{1}$", "x^2 $^$"):
        assert isinstance(latex_to_text(raw), str)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "To address this, we introduce MASPO, a novel framework.",
            "We introduce MASPO, a novel framework.",
        ),
        ("In this paper, we propose A2TGPO.", "We propose A2TGPO."),
        ("In this work we present X.", "We present X."),
        ("However, existing methods fail.", "Existing methods fail."),
        ("To tackle this challenge, we propose SkillOS.", "We propose SkillOS."),
        ("To address this gap, we introduce BioTool.", "We introduce BioTool."),
        ("Building on this insight, we propose LPO.", "We propose LPO."),
        ("To this end, we present HyperEyes.", "We present HyperEyes."),
        (
            "To bridge this gap, this survey proposes a framework.",
            "This survey proposes a framework.",
        ),
        ("However, in this paper, we show it.", "We show it."),
        (
            "Building on the textbook factor-pricing framework, we derive a bound.",
            "We derive a bound.",
        ),
        # Not connectives: kept.
        ("To train agents, we use RL.", "To train agents, we use RL."),
        ("Using a new dataset, the model improves.", "Using a new dataset, the model improves."),
        ("We propose X.", "We propose X."),
        ("However", "However"),
    ],
)
def test_leading_connectives_are_dropped(raw: str, clean: str) -> None:
    assert drop_connective(raw) == clean


def test_a_real_abstract_sentence_reads_alone() -> None:
    raw = (
        r"In this paper, we propose A$^2$TGPO (Agentic Turn-Group Policy Optimization with "
        r"Adaptive Turn-level Clipping), which retains IG as the intrinsic signal but re-designs "
        r"how it is normalized, accumulated, and consumed: (i) turn-group normalization: "
        r"normalizes IG within each (prompt, turn-index) group; (ii) variance-rescaled "
        r"discounted accumulation."
    )
    sentence = clean_sentence(raw)
    assert sentence.startswith("We propose A²TGPO (Agentic")
    short = shorten(sentence, 160)
    # The acronym's expansion goes first, then the enumeration.
    assert short == (
        "We propose A²TGPO, which retains IG as the intrinsic signal but re-designs how it "
        "is normalized, accumulated, and consumed…"
    )


def test_shorten_keeps_the_statement_after_a_scene_setting_opener() -> None:
    raw = (
        "Across 16 diverse tasks spanning medical diagnosis, legal analysis, code generation, "
        "web search, tool use, and embodied interaction, CASCADE improves macro-averaged "
        "success rate by 20.9% over zero-shot prompting while consistently outperforming "
        "gradient-based and memory-based baselines."
    )
    assert shorten(raw, 240).startswith("CASCADE improves macro-averaged success rate by 20.9%")
    assert shorten("Short enough.", 40) == "Short enough."
    for limit in (30, 60, 120):
        assert len(shorten(raw, limit)) <= limit


def test_survey_topics() -> None:
    title = "From Storage to Experience: A Survey on the Evolution of LLM Agent Memory Mechanisms"
    assert survey_topic(title) == "Evolution of LLM Agent Memory Mechanisms"
    assert survey_topic("Agent Memory: A Survey") == "Agent Memory"
    assert survey_topic("A Comprehensive Review of World Models") == "World Models"
    assert survey_topic("SkillOS: Learning Skill Curation for Self-Evolving Agents") is None


def test_a_surveys_contribution_says_what_it_surveys() -> None:
    [survey] = [p for p in sample_candidates("en").papers if p.paper_id == "2605.06716"]
    text = paper_text(survey)
    assert text.kind == "survey" and text.survey == "Evolution of LLM Agent Memory Mechanisms"
    # Not the background opener ("LLM-based agents have fundamentally reshaped AI …").
    assert text.contribution.startswith("This survey proposes a novel evolutionary framework")
    line = takeaway(survey, "zh")
    assert line.startswith("综述“Evolution of LLM Agent Memory Mechanisms”")
    assert len(line) <= TAKEAWAY_CHARS


def test_every_sample_text_is_clean() -> None:
    """No LaTeX survives in any contribution, key sentence or title of the sample day."""
    for paper in sample_candidates("en").papers:
        text = paper_text(paper)
        for shown in (text.contribution, text.key, clean_title(paper.title)):
            assert "\\" not in shown and "$" not in shown, (paper.paper_id, shown)
            assert not shown.startswith(("To address", "In this paper", "However,")), shown


def test_quotes_mark_the_sources_words() -> None:
    assert quote("We propose X.", "zh") == "“We propose X.”"
    assert quote("“Already quoted.”", "en") == "“Already quoted.”"
    assert quote("  ", "en") == ""


def test_title_cleaning_leaves_plain_titles_alone() -> None:
    for title in ("EMO: Pretraining MoE", "x^n-free designs", "Plain: a title"):
        assert clean_title(title) == title
    assert clean_title(r"A$^2$TGPO:  Agentic") == "A²TGPO: Agentic"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("A^2TGPO: Agentic Turn-Group Policy Optimization", "A²TGPO: Agentic Turn-Group"),
        ("O(n^2) attention and 10^{-3} error", "O(n²) attention and 10⁻³ error"),
        ("x^n and a ^ b stay", "x^n and a ^ b stay"),
    ],
)
def test_a_caret_typed_without_dollars_is_an_exponent(raw: str, clean: str) -> None:
    assert latex_to_text(raw).startswith(clean)


@pytest.mark.parametrize(
    "raw",
    [
        r"\emph{global} $\lambda \cdot k$ as argued \citep{x}, A$^2$TGPO",
        "A^2TGPO: plain text",
        "Already clean: A²TGPO, 0.81%.",
    ],
)
def test_cleaning_is_idempotent(raw: str) -> None:
    once = latex_to_text(raw)
    assert latex_to_text(once) == once


def test_source_text_is_cleaned_where_it_enters() -> None:
    """Titles, abstracts and HF summaries are plain text from the parsers on: a /paper
    card, the LLM's prompt and every renderer read the same, without LaTeX."""
    paper = parse_paper(
        {
            "id": "2605.06200",
            "title": "A^2TGPO: Agentic Turn-Group Policy Optimization",
            "summary": (
                r"We scale \emph{turns} by $\lambda \cdot k$ \citep{ref} and reach $0.81\%$."
            ),
            "ai_summary": r"A$^2$TGPO uses \textbf{information gain}.",
        }
    )
    assert paper is not None
    assert paper.title == "A²TGPO: Agentic Turn-Group Policy Optimization"
    assert paper.abstract == "We scale turns by λ · k and reach 0.81%."
    assert paper.ai_summary == "A²TGPO uses information gain."


def test_paper_text_without_an_abstract_uses_the_title() -> None:
    paper = Paper(paper_id="2605.00001", title=r"\textbf{Bold} Title")
    assert paper_text(paper).contribution == "Bold Title"
