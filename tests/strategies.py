"""Hypothesis strategies that build hostile Briefs, for any test that renders or splits.

Texts mix ordinary prose (Latin, Chinese, Arabic) with markup of every platform
("<b>", "&amp;", "*bold*", "<!channel>", "@everyone", '<at user_id="all">',
"[x](http://evil)", backticks), words a reader copies (PAPERDROP_LLM_API_KEY, snake_case,
arXiv ids, web addresses with "_" and "~" in them), emoji ZWJ sequences, flags, skin
tones, combining marks, huge single words and huge items.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st

from digest.models import (
    Brief,
    IdeaItem,
    Item,
    Paper,
    PaperItem,
    PaperLinks,
    RepoItem,
    Section,
    SectionKind,
    SourceItem,
    TextItem,
    abs_url,
    hf_url,
    pdf_url,
)
from digest.profile import Profile

__all__ = [
    "COPYABLE",
    "HOSTILE",
    "briefs",
    "days",
    "huge_texts",
    "idea_items",
    "identifiers",
    "ordinary_briefs",
    "paper_items",
    "readers",
    "repo_items",
    "sections",
    "short_texts",
    "source_items",
    "texts",
    "urls",
]

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # ZWJ sequence
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"
FLAGS = "\U0001f1e8\U0001f1f3\U0001f1fa\U0001f1f8"  # CN, US
THUMB = "\U0001f44d\U0001f3fd"  # skin tone modifier
E_ACUTE = "e\u0301"  # decomposed: base + combining mark

HOSTILE = [
    "<b>x</b>", "<b>", "</a>", "&amp;", "&lt;", "&", '<a href="http://evil">x</a>', "<script>",
    "*bold*", "_it_", "~s~", "`code`", "```", "<!channel>", "<!here>", "<!everyone>",
    "@channel", "@here", "@everyone", "@Channel", '<at user_id="all">', "<at id=all></at>",
    "[x](http://evil)", "](", "# heading", "\n- item", "\n1. item", "\n> quote", "| a | b |",
    "\\", "$x$", "<@U123>", "<http://evil|click>", "{{x}}", "&#42;",
    FAMILY, RAINBOW, FLAGS, THUMB, E_ACUTE, "नमस्ते", "مرحبا بالعالم", "سلام عليكم",
    "深度学习模型", "中文句子,带标点。", "这是什么?", "日本語", "한국어", "\n", "\n\n", " ", "。",
]  # fmt: skip
# Words a reader copies out of a brief: they must reach every platform unchanged.
COPYABLE = [
    "PAPERDROP_LLM_API_KEY", "OPENAI_API_KEY", "snake_case_name", "2605.29559", "2*3*4", "x~y",
    "https://github.com/JasonZhujp/Skill0_5", "https://www.cs.example.edu/~name/a_b.html",
    "https://example.org/p?a=1&b=2", "https://x.io/_private_/~tilde~",
]  # fmt: skip
HOSTILE += COPYABLE
# An identifier whose markers all sit between letters or digits (never at its edges).
identifiers = st.one_of(
    st.sampled_from(COPYABLE[:6]),
    st.from_regex(r"[A-Za-z0-9]{1,8}([_*~.\-][A-Za-z0-9]{1,8}){1,4}", fullmatch=True),
)

_chars = st.characters(
    categories=("L", "N", "P", "S", "Zs", "Mn"),
    exclude_characters="\u2028\u2029",
)
_fragment = st.one_of(st.sampled_from(HOSTILE), st.text(_chars, min_size=1, max_size=20))

# Ordinary-sized text: a few fragments joined.
texts = st.lists(_fragment, max_size=10).map("".join)
short_texts = st.lists(_fragment, min_size=1, max_size=4).map("".join)


def _repeat(unit: str) -> st.SearchStrategy[str]:
    return st.integers(min_value=1, max_value=9_000 // max(1, len(unit))).map(
        lambda n: (unit * n)[: max(1, min(9_000, len(unit) * n))]
    )


# Texts larger than any message: no spaces, no punctuation, emoji runs, long Chinese.
huge_texts = st.one_of(
    st.integers(min_value=4_000, max_value=9_000).map(lambda n: "w" * n),
    st.integers(min_value=1_500, max_value=5_000).map(lambda n: "长" * n),
    st.integers(min_value=2_000, max_value=6_000).map(
        lambda n: ("强化学习让智能体在环境中学习,并不断改进。" * n)[:n]
    ),
    st.integers(min_value=200, max_value=1_200).map(lambda n: FAMILY * n),
    st.integers(min_value=500, max_value=2_500).map(lambda n: FLAGS * n + "🇯"),
    st.integers(min_value=1_000, max_value=4_000).map(lambda n: E_ACUTE * n),
    st.integers(min_value=300, max_value=1_500).map(lambda n: "<b>&amp;*x*</b> " * n),
    st.integers(min_value=200, max_value=900).map(lambda n: "@channel <!here> " * n),
)
long_texts = st.one_of(texts, texts, texts, huge_texts)

_paper_ids = st.from_regex(r"26[0-9]{2}\.[0-9]{5}", fullmatch=True)
_names = st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)
urls = st.one_of(
    st.builds(lambda o, n: f"https://github.com/{o}/{n}", _names, _names),
    st.sampled_from(
        [
            "https://example.org/p?a=1&b=2",
            "https://x.io/(paren)|pipe<x>",
            "https://例子.中国/路径?q=中文",
            "https://e.com/a b",
            "https://e.com/a_b*c~d`e#frag",
            "javascript:alert(1)",
        ]
    ),
)
_dates = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31))


@st.composite
def paper_items(draw: st.DrawFn, *, huge: bool = True) -> PaperItem:
    pid = draw(_paper_ids)
    body = long_texts if huge else texts
    return PaperItem(
        paper_id=pid,
        title=draw(st.one_of(short_texts, short_texts, huge_texts) if huge else short_texts),
        links=PaperLinks(
            abs=abs_url(pid),
            pdf=pdf_url(pid),
            hf=draw(st.sampled_from([hf_url(pid), None])),
            repo=draw(st.none() | urls),
            announced=draw(st.none() | urls),
            project=draw(st.none() | urls),
        ),
        date=draw(st.none() | _dates),
        category=draw(texts),
        arxiv_category=draw(st.none() | st.sampled_from(["cs.CL", "cs.LG", "cs.AI"])),
        upvotes=draw(st.none() | st.integers(min_value=0, max_value=5000)),
        contribution=draw(body),
        why=draw(body),
        relation=draw(body),
        matched=draw(st.lists(short_texts, max_size=3)),
        note=draw(body),
    )


repo_items = st.builds(
    RepoItem,
    url=urls,
    full_name=short_texts,
    stars=st.none() | st.integers(min_value=0, max_value=200_000),
    pushed_at=st.none()
    | st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2027, 1, 1)),
    description=st.none() | long_texts,
    archived=st.booleans(),
    paper_id=st.none() | _paper_ids,
    paper_title=st.none() | short_texts,
    note=texts,
    stars_delta=st.none() | st.integers(min_value=-500, max_value=50_000),
    delta_days=st.none() | st.integers(min_value=1, max_value=30),
)
idea_items = st.builds(
    IdeaItem, title=short_texts, body=long_texts, paper_ids=st.lists(_paper_ids, max_size=3)
)
text_items = st.builds(TextItem, text=long_texts)
source_items = st.builds(
    SourceItem,
    source=st.sampled_from(["Hugging Face", "arXiv", "GitHub", "LLM"]),
    status=st.sampled_from(["ok", "partial", "failed", "skipped"]),
    detail=texts,
)
_items: st.SearchStrategy[Item] = st.one_of(
    paper_items(), repo_items, idea_items, text_items, source_items
)
_kinds: list[SectionKind] = [
    "top_picks", "others", "must_read", "repos", "ideas", "conclusion", "sources", "overview",
]  # fmt: skip


@st.composite
def sections(draw: st.DrawFn) -> Section:
    return Section(
        kind=draw(st.sampled_from(_kinds)),
        title=draw(short_texts),
        intro=draw(st.one_of(st.just(""), texts)),
        items=draw(st.lists(_items, max_size=6)),
    )


@st.composite
def briefs(draw: st.DrawFn) -> Brief:
    day = draw(_dates)
    secs = draw(st.lists(sections(), max_size=5))
    # A paper may appear twice (a top pick that is also a must-read), as composers do.
    papers = [i for s in secs for i in s.items if isinstance(i, PaperItem)]
    repeat: bool = draw(st.booleans())
    if papers and repeat:
        secs.append(Section(kind="must_read", title="must read", items=[papers[0]]))
    return Brief(
        date=day,
        language=draw(st.sampled_from(["zh", "en"])),
        reader=draw(short_texts),
        title=draw(short_texts),
        overview=draw(long_texts),
        mode=draw(st.sampled_from(["llm", "extractive"])),
        generated_at=dt.datetime.combine(day, dt.time(8)),
        window_start=day,
        window_end=day,
        sections=secs,
        header=draw(st.one_of(st.just(""), texts)),
    )


@st.composite
def ordinary_briefs(draw: st.DrawFn) -> Brief:
    """Briefs of ordinary-sized items (no huge texts) ending with a short sources section,
    as compose makes them: the sources must never be a message of their own."""
    items: st.SearchStrategy[Item] = st.one_of(
        paper_items(huge=False),
        st.builds(TextItem, text=texts),
        st.builds(IdeaItem, title=short_texts, body=texts),
    )
    kinds: list[SectionKind] = ["top_picks", "others", "must_read", "ideas", "conclusion"]
    secs = draw(
        st.lists(
            st.builds(
                Section,
                kind=st.sampled_from(kinds),
                title=short_texts,
                items=st.lists(items, min_size=1, max_size=12),
            ),
            min_size=1,
            max_size=6,
        )
    )
    sources = draw(
        st.lists(
            st.builds(
                SourceItem,
                source=st.sampled_from(["Hugging Face", "arXiv", "GitHub", "LLM"]),
                status=st.sampled_from(["ok", "partial", "failed", "skipped"]),
                detail=short_texts,
            ),
            min_size=1,
            max_size=4,
        )
    )
    day = draw(_dates)
    return Brief(
        date=day,
        language=draw(st.sampled_from(["zh", "en"])),
        reader="r",
        title=draw(short_texts),
        overview=draw(texts),
        mode="llm",
        generated_at=dt.datetime.combine(day, dt.time(8)),
        window_start=day,
        window_end=day,
        sections=[*secs, Section(kind="sources", title="Sources", items=list(sources))],
        header=draw(texts),
    )


# --- synthetic days of papers, and their readers -------------------------------------------

# Topics written the ways abstracts write them (compounds, acronyms, spelled-out terms)...
TOPICS = [
    "world models", "tool use", "long-horizon agents", "agent memory", "KV cache",
    "policy optimization", "verifiable rewards", "self-evolving agents", "code generation",
    "diffusion language models", "multi-agent debate", "retrieval-augmented generation",
    "reinforcement learning", "chain-of-thought reasoning", "mixture-of-experts routing",
    "long-term memory", "tool calling", "GUI agents", "speculative decoding", "RLVR",
]  # fmt: skip
# ... and the prose around them, full of words no theme may be named by.
FILLER = [
    "We propose a novel method that improves performance across diverse tasks.",
    "Experiments show strong results and consistent gains over existing baselines.",
    "The model stores experience from each stage and reuses it at the next stage.",
    "Our approach is simple, effective and efficient in practice.",
    "A long line of work studies this problem; results remain limited.",
    "Code is available at https://github.com/example/repo.",
    "We release the model, the data and the evaluation suite.",
]  # fmt: skip
_LABELS_ZH = {"world models": "世界模型", "agent memory": "Agent 记忆", "tool use": "工具调用"}


@st.composite
def days(draw: st.DrawFn) -> list[Paper]:
    """A day of 4-30 papers, each about one to three topics among filler sentences."""
    count = draw(st.integers(min_value=4, max_value=30))
    papers: list[Paper] = []
    for n in range(count):
        topics = draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True))
        sentences = draw(st.lists(st.sampled_from(FILLER), min_size=1, max_size=4))
        about = [f"We study {t} and show how {topics[0]} helps." for t in topics]
        body = " ".join(draw(st.permutations([*about, *sentences])))
        keywords = draw(st.one_of(st.just([]), st.lists(st.sampled_from(TOPICS), max_size=4)))
        title = f"Name{n}: {topics[0].title()} for {draw(st.sampled_from(TOPICS)).title()}"
        papers.append(
            Paper(
                paper_id=f"2605.{10000 + n:05d}",
                title=title,
                abstract=body,
                keywords=keywords,
                upvotes=draw(st.none() | st.integers(min_value=0, max_value=50)),
                on_hf=True,
            )
        )
    return papers


@st.composite
def readers(draw: st.DrawFn) -> Profile:
    """A reader with two to five interests among the topics, zh (with labels) or en."""
    interests = draw(st.lists(st.sampled_from(TOPICS), min_size=2, max_size=5, unique=True))
    language = draw(st.sampled_from(["zh", "en"]))
    labels = {i: _LABELS_ZH[i] for i in interests if i in _LABELS_ZH} if language == "zh" else {}
    return Profile(
        name="reader",
        language=language,
        interests=interests,
        labels=labels,
        top_picks=draw(st.integers(min_value=2, max_value=6)),
    )


def examples(full: int) -> int:
    """A property test's example count: `full` under the CI profile (100 examples by
    default), scaled down with the local one (tests/conftest.py), never below 5."""
    return max(5, full * settings.default.max_examples // 100)
