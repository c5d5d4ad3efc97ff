"""The Brief as Markdown, for the terminal and files (`paperdrop brief`).

The same content as the chat layout (`bot.render.layout`): the retrieval note under the title,
"worth a glance" as a table of one line per paper, repos with their fetched facts.
"""

from __future__ import annotations

import re

from bot.render.layout import (
    announced,
    glance_takeaway,
    matched_names,
    named_links,
    repo_facts,
    source_status,
)
from digest.i18n import label
from digest.models import (
    Document,
    IdeaItem,
    Item,
    Language,
    PaperItem,
    Reply,
    RepoItem,
    Section,
    SourceItem,
    TextItem,
)

__all__ = ["escape_md", "render_markdown"]

# "_" inside a word (snake_case, PAPERDROP_LLM_API_KEY) never emphasises in CommonMark:
# it stays as it is, so it can be copied; every other syntax character (and "&", which
# starts an entity) is escaped.
_MD_SPECIAL = re.compile(r"[\\`*~&\[\]<>|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def escape_md(text: str) -> str:
    """Text from papers and LLMs stays text: Markdown syntax in it is escaped."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _link(text: str, url: str) -> str:
    return f"[{escape_md(text)}](<{url}>)"


def _paper_links(item: PaperItem, lang: Language) -> str:
    shown = [_link(name, url) for name, url in named_links(item.links)]
    if item.links.announced:  # named by the text, not verified: plain text, not a link
        shown.append(escape_md(announced(item.links, lang)))
    return " · ".join(shown)


def _meta(item: PaperItem, lang: Language) -> str:
    parts = []
    if item.date:
        parts.append(f"{label('date', lang)}: {item.date.isoformat()}")
    if item.category:
        parts.append(f"{label('category', lang)}: {escape_md(item.category)}")
    if item.arxiv_category and item.arxiv_category != item.category:
        parts.append(item.arxiv_category)
    if item.upvotes is not None:
        parts.append(f"{label('upvotes', lang)}: {item.upvotes}")
    return " · ".join(parts)


def _paper(item: PaperItem, n: int, kind: str, lang: Language) -> list[str]:
    out = [f"### {n}. {_link(item.title, item.links.abs)}", ""]
    out.append(f"- {_paper_links(item, lang)}")
    meta = _meta(item, lang)
    if meta:
        out.append(f"- {meta}")
    if item.contribution:
        out.append(f"- **{label('contribution', lang)}**: {escape_md(item.contribution)}")
    for detail in item.details:
        out.append(f"- **{escape_md(detail.label)}**: {escape_md(detail.text)}")
    picked_because = kind == "top_picks" and item.note
    names = matched_names(item)
    if names and not picked_because and not all(m in item.relation for m in names):
        out.append(f"- **{label('matched', lang)}**: {escape_md(', '.join(names))}")
    if kind == "must_read" and item.note:
        out.append(f"- **{label('read_reason', lang)}**: {escape_md(item.note)}")
    if picked_because:
        out.append(f"- **{label('why_picked', lang)}**: {escape_md(item.note)}")
    out.append("")
    if item.why and kind == "top_picks":
        out += [f"**{label('why', lang)}**", "", escape_md(item.why), ""]
    if item.relation and kind == "top_picks":
        out += [f"**{label('relation', lang)}**", "", escape_md(item.relation), ""]
    return out


def _others_table(items: list[Item], lang: Language, numbers: dict[str, int]) -> list[str]:
    """One line per paper: number, category, title link, one-line takeaway."""
    header = ["#", label("category", lang), label("title", lang), label("takeaway", lang)]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in items:
        if not isinstance(item, PaperItem):
            continue
        cells = [
            str(numbers.get(item.paper_id, "")),
            escape_md(" ".join(item.category.split())),
            _link(item.title, item.links.hf or item.links.abs),
            escape_md(glance_takeaway(item)),
        ]
        rows.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
    return [*rows, ""]


def _repo(item: RepoItem, n: int, lang: Language) -> list[str]:
    facts = [escape_md(f) for f in repo_facts(item, lang)]
    head = f"{n}. {_link(item.full_name, item.url)}"
    out = [f"{head} — {' · '.join(facts)}" if facts else head]
    if item.description:
        out.append(f"   - {escape_md(item.description)}")
    if item.paper_id and item.paper_title:
        out.append(
            f"   - {label('paper', lang)}: "
            f"{_link(item.paper_title, f'https://arxiv.org/abs/{item.paper_id}')}"
        )
    if item.note:
        out.append(f"   - {escape_md(item.note)}")
    return out


def _idea(item: IdeaItem, n: int, lang: Language) -> list[str]:
    out = [f"### Idea {n}: {escape_md(item.title)}", "", escape_md(item.body), ""]
    if item.experiment:
        out += [f"*{label('first_experiment', lang)}*: {escape_md(item.experiment)}", ""]
    if item.paper_ids:
        refs = ", ".join(_link(pid, f"https://arxiv.org/abs/{pid}") for pid in item.paper_ids)
        out += [f"*{label('based_on', lang)}*: {refs}", ""]
    return out


def _section(section: Section, lang: Language, numbers: dict[str, int]) -> list[str]:
    out = [f"## {escape_md(section.title)}", ""] if section.title else []
    if section.intro:
        out += [f"> {escape_md(section.intro)}", ""]
    if section.kind == "others":
        return out + _others_table(section.items, lang, numbers)
    n = 0
    for item in section.items:
        if isinstance(item, PaperItem):
            # Papers keep one number across the document: `/paper 7` is the one shown as 7.
            n = numbers.get(item.paper_id, n + 1)
            if section.kind == "must_read":
                # A list of its own with the pick's number as a reference (numbered 1, 3, 4
                # it would read as if items were missing).
                ref = label("pick_ref", lang, n=str(n))
                out.append(f"- {_link(item.title, item.links.abs)} ({ref})")
                if item.note:
                    out.append(f"  - {label('read_reason', lang)}: {escape_md(item.note)}")
            else:
                out += _paper(item, n, section.kind, lang)
        elif isinstance(item, RepoItem):
            n += 1
            out += _repo(item, n, lang)
        elif isinstance(item, IdeaItem):
            n += 1
            out += _idea(item, n, lang)
        elif isinstance(item, TextItem):
            out += [escape_md(item.text), ""]
            if item.sources:
                cited = " · ".join(
                    _link(x.label, x.url) if x.url else escape_md(x.label) for x in item.sources
                )
                out += [f"*{label('cited', lang)}*: {cited}", ""]
        elif isinstance(item, SourceItem):
            status = source_status(item.status, lang)
            out.append(f"- **{escape_md(item.source)}** ({status}): {escape_md(item.detail)}")
    out.append("")
    return out


def render_markdown(doc: Document) -> str:
    """A brief (or a command's reply) as Markdown for the terminal and files."""
    if isinstance(doc, Reply):
        head = [f"# {escape_md(doc.title)}", ""] if doc.title else []
        if doc.figure is not None:
            caption = escape_md(f"{doc.figure.label}: {doc.figure.caption}")
            head += [f"![{caption}](<{doc.figure.url}>)", "", f"*{caption}*", ""]
        numbers = _numbers(doc.sections)
        for section in doc.sections:
            head += _section(section, doc.language, numbers)
        return "\n".join(head).rstrip() + "\n"
    brief = doc
    lang = brief.language
    window = (
        brief.window_end.isoformat()
        if brief.window_start == brief.window_end
        else f"{brief.window_start.isoformat()} – {brief.window_end.isoformat()}"
    )
    stamp = brief.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    # The retrieval note (time, window and why it widened, sources) when compose wrote one.
    note = " ".join(brief.header.split()) if brief.header.strip() else f"{window} · {stamp}"
    lines = [f"# {escape_md(brief.title)}", "", f"*{escape_md(note)}*", ""]
    numbers = _numbers(brief.sections)
    for section in brief.sections:
        lines += _section(section, lang, numbers)
    return "\n".join(lines).rstrip() + "\n"


def _numbers(sections: list[Section]) -> dict[str, int]:
    order: dict[str, int] = {}
    for section in sections:
        for item in section.items:
            if isinstance(item, PaperItem):
                order.setdefault(item.paper_id, len(order) + 1)
    return order
