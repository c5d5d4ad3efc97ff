"""The Brief as one web page (`paperdrop brief --format html`): the third renderer beside
Markdown (`bot.render.markdown`) and the chat platforms.

The page is self-contained: inline CSS only, no script, no font, image or stylesheet
from anywhere (a Content-Security-Policy says so to the browser too), light and dark
through `prefers-color-scheme`, one column that reads on a phone and a desk. The
"worth a glance" list is a real table (on a narrow screen each row becomes a block).

Every text of the document is escaped with `html.escape`; only http(s) URLs become
links, anything else is shown as text.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlsplit

from bot.render.layout import (
    announced,
    glance_takeaway,
    matched_names,
    named_links,
    repo_facts,
    source_status,
    text_label,
)
from digest.i18n import label
from digest.models import (
    Brief,
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
    abs_url,
)

__all__ = ["render_html", "safe_href"]

SEP = " · "
MAX_AUTHORS = 3  # the authors line names this many, then "et al."

# Strings of the page only (the brief's own come from digest.i18n and bot.render.layout).
_WORDS: dict[str, dict[Language, str]] = {
    "et_al": {"zh": "等", "en": "et al."},
    "generated": {"zh": "生成于 {stamp}", "en": "generated {stamp}"},
    "mode_llm": {"zh": "LLM 撰写", "en": "written with an LLM"},
    "mode_extractive": {"zh": "摘录模式", "en": "extractive"},
    "contents": {"zh": "目录", "en": "Contents"},
    "window": {"zh": "时间范围", "en": "Window"},
    "to_card": {"zh": "跳到这篇的卡片", "en": "to its card above"},
}

_CSS = """
:root{color-scheme:light dark;--bg:#f7f6f2;--fg:#1d2127;--muted:#5d6570;--faint:#8a919b;
--line:#e2dfd6;--card:#fff;--accent:#0a5bc4;--accent-fg:#fff;--chip:#eceae3;--lead:#fffbe8;
--lead-line:#e6c84f;--ok:#1a7f37;--partial:#9a6700;--failed:#c5221f;--skipped:#6e7781;
--shadow:0 1px 2px rgba(20,20,10,.06),0 2px 8px rgba(20,20,10,.04)}
@media (prefers-color-scheme:dark){:root{--bg:#111318;--fg:#e4e6ea;--muted:#a1a9b5;
--faint:#7a828e;--line:#2a2f38;--card:#181b22;--accent:#74b3ff;--accent-fg:#0b1220;
--chip:#232833;--lead:#1d1c15;--lead-line:#8f7a2a;--ok:#4ac26b;--partial:#d4a72c;
--failed:#ff7b72;--skipped:#8b949e;--shadow:none}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.7 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue","Noto Sans","PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;overflow-wrap:break-word}
main{max-width:52rem;margin:0 auto;padding:2.75rem 1.5rem 4rem}
a{color:var(--accent);text-decoration:none}
a:hover,a:focus-visible{text-decoration:underline}
h1{font-size:1.85rem;line-height:1.25;margin:0 0 .6rem;letter-spacing:-.01em}
h2{font-size:1.3rem;line-height:1.35;margin:0 0 1rem;padding-bottom:.4rem;
border-bottom:2px solid var(--line)}
h3{font-size:1.08rem;line-height:1.4;margin:0 0 .5rem}
h4{font-size:.8rem;letter-spacing:.04em;text-transform:uppercase;color:var(--muted);
margin:1rem 0 .2rem}
p{margin:.4rem 0}
.meta{color:var(--muted);font-size:.9rem;margin:.2rem 0}
.note{color:var(--muted);font-size:.92rem;margin:.6rem 0 0;white-space:pre-line}
.intro{color:var(--muted);font-size:.9rem;border-left:3px solid var(--line);
padding:.1rem 0 .1rem .8rem;margin:0 0 1rem}
nav.toc{margin:1.5rem 0 0;display:flex;flex-wrap:wrap;gap:.4rem}
nav.toc a{font-size:.85rem;background:var(--chip);color:var(--fg);border-radius:999px;
padding:.15rem .7rem}
section{margin-top:2.75rem}
.lead{background:var(--lead);border-left:4px solid var(--lead-line);border-radius:8px;
padding:.9rem 1.1rem;font-size:1.05rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;
padding:1.1rem 1.3rem;margin:0 0 1rem;box-shadow:var(--shadow)}
.card>:first-child{margin-top:0}.card>:last-child{margin-bottom:0}
.num{display:inline-block;min-width:1.7em;padding:0 .35em;border-radius:.85em;
background:var(--accent);color:var(--accent-fg);font-size:.8rem;line-height:1.7em;
text-align:center;margin-right:.5em;vertical-align:.12em;font-variant-numeric:tabular-nums}
.links{display:flex;flex-wrap:wrap;gap:.35rem;margin:.1rem 0 .5rem;padding:0;list-style:none}
.links a{font-size:.8rem;border:1px solid var(--line);border-radius:6px;padding:.05rem .5rem}
.authors{color:var(--faint);font-size:.85rem;margin:0 0 .3rem}
.contrib{margin:.5rem 0}
.label{font-weight:600}
dl.details{margin:.6rem 0 0}
dl.details dt{font-weight:600;margin-top:.5rem}
dl.details dd{margin:0}
.chip{display:inline-block;background:var(--chip);border-radius:6px;padding:0 .45rem;
font-size:.8rem;color:var(--muted);white-space:nowrap}
.table-wrap{overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:.93rem;table-layout:fixed}
th,td{text-align:left;vertical-align:top;padding:.6rem .55rem;border-bottom:1px solid var(--line)}
thead th{font-size:.78rem;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);
white-space:nowrap}
td.n{color:var(--faint);font-variant-numeric:tabular-nums;white-space:nowrap}
col.n{width:2.6rem}col.title{width:36%}col.cat{width:8.5rem}
td.cat .chip{white-space:normal;display:inline;line-height:1.9;
-webkit-box-decoration-break:clone;box-decoration-break:clone}
td.title a{font-weight:600}
td .comment{display:block;color:var(--muted);font-size:.88rem;margin-top:.15rem}
ul.reads{list-style:none;padding:0;margin:0}
ul.reads li{margin:0 0 .9rem;padding-left:1.1rem;position:relative}
ul.reads li::before{content:"•";position:absolute;left:0;color:var(--accent)}
ul.reads li.full{padding-left:0}ul.reads li.full::before{content:none}
ul.reads li>a{font-weight:600}
a.ref{font-size:.85rem;color:var(--muted);white-space:nowrap}
a.num,a.num:hover{color:var(--accent-fg);text-decoration:none}
.aside{color:var(--muted)}
p.small{color:var(--muted);font-size:.9rem}
p.group{font-weight:600;font-size:1.02rem;margin:1.6rem 0 .7rem;padding:.45rem .8rem;
border-left:4px solid var(--accent);background:var(--chip);border-radius:0 8px 8px 0}
ul.repos li.archived{border-left:3px solid var(--partial)}
ul.reads .reason{display:block;color:var(--muted);font-size:.93rem}
ul.repos{list-style:none;padding:0;margin:0}
ul.repos li{margin:0 0 .8rem}
.facts{color:var(--muted);font-size:.88rem}
.badge{display:inline-block;border-radius:6px;padding:0 .45rem;font-size:.78rem;
font-weight:600;border:1px solid currentColor}
.status-ok{color:var(--ok)}.status-partial{color:var(--partial)}
.status-failed{color:var(--failed)}.status-skipped,.status-not_configured,.status-off{
color:var(--skipped)}
.archived{color:var(--partial)}
ul.sources{list-style:none;padding:0;margin:0;font-size:.9rem}
ul.sources li{margin:0 0 .5rem}
ul.sources .detail{color:var(--muted)}
footer{margin-top:3rem;padding-top:1rem;border-top:1px solid var(--line);color:var(--faint);
font-size:.82rem}
@media (max-width:640px){main{padding:1.4rem 1rem 3rem}h1{font-size:1.45rem}
h2{font-size:1.15rem}section{margin-top:2rem}.card{padding:.9rem 1rem;border-radius:10px}
table.glance thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.glance{table-layout:auto}
table.glance,table.glance tbody,table.glance tr,table.glance td{display:block;width:auto}
table.glance tr{padding:.7rem 0;border-bottom:1px solid var(--line)}
table.glance td{border:0;padding:0}
table.glance td.n{float:left;margin-right:.5rem}table.glance td.cat{margin:.25rem 0}}
@media print{:root{--bg:#fff;--card:#fff;--shadow:none}nav.toc{display:none}
.card{break-inside:avoid}a{color:inherit}}
"""

# Nothing may load or run: the page is its own whole content.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def _w(key: str, lang: Language, **fmt: str) -> str:
    text = _WORDS[key][lang]
    return text.format(**fmt) if fmt else text


def esc(text: str) -> str:
    """Text from papers, users and LLMs stays text, in content and attributes alike."""
    return html.escape(text, quote=True)


# Characters a browser would not keep inside an href as they are.
_URL_ESCAPES = {c: f"%{ord(c):02X}" for c in " \"'<>`\\^{|}"}


def safe_href(url: str | None) -> str | None:
    """An http(s) URL with a host, ready for an href attribute; None for anything else
    (javascript:, data:, relative or malformed addresses)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    return esc("".join(_URL_ESCAPES.get(c, c) for c in url))


def _a(text: str, url: str | None, cls: str = "") -> str:
    """A link, or (not a web URL) the text with the raw value after it, both escaped."""
    href = safe_href(url)
    if href is not None:
        attr = f' class="{cls}"' if cls else ""
        return f'<a{attr} href="{href}">{esc(text)}</a>'
    return esc(text) + (f" ({esc(url)})" if url else "")


def _paragraphs(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    return "".join(f"<p{attr}>{esc(b).replace(chr(10), '<br>')}</p>" for b in blocks)


def _anchor(paper_id: str) -> str:
    return "p-" + "".join(
        c if c.isascii() and (c.isalnum() or c in ".-_") else "-" for c in paper_id
    )


class _Page:
    """State of one rendering: the one number of each paper across the document (the
    number `/paper N` takes), the texts already shown per paper (a must-read that was a
    pick shows its title and reason only), and the anchors already given."""

    def __init__(self, lang: Language) -> None:
        self.lang = lang
        self._numbers: dict[str, int] = {}
        self._shown: dict[tuple[str, str], str] = {}
        self.anchors: set[str] = set()

    def number(self, paper_id: str) -> int:
        return self._numbers.setdefault(paper_id, len(self._numbers) + 1)

    def fresh(self, paper_id: str, field: str, text: str) -> bool:
        if not text or self._shown.get((paper_id, field)) == text:
            return False
        self._shown[(paper_id, field)] = text
        return True

    def shown(self, paper_id: str) -> bool:
        """The paper's card (links and meta) is already on the page."""
        return (paper_id, "links") in self._shown

    def anchor(self, paper_id: str) -> str:
        """` id="…"` the first time a paper is shown, else nothing."""
        anchor = _anchor(paper_id)
        if anchor in self.anchors:
            return ""
        self.anchors.add(anchor)
        return f' id="{anchor}"'


# --- items --------------------------------------------------------------------------------


def _paper_links(item: PaperItem, lang: Language) -> str:
    shown = [f"<li>{_a(name, url)}</li>" for name, url in named_links(item.links)]
    if item.links.announced:  # named by the text, not verified: plain text, not a link
        shown.append(f'<li class="announced">{esc(announced(item.links, lang))}</li>')
    return f'<ul class="links">{"".join(shown)}</ul>' if shown else ""


def _paper_meta(item: PaperItem, lang: Language) -> str:
    parts = []
    if item.date:
        parts.append(item.date.isoformat())
    if item.category.strip():
        parts.append(f'<span class="chip">{esc(item.category)}</span>')
    if item.arxiv_category and item.arxiv_category != item.category:
        parts.append(esc(item.arxiv_category))
    if item.upvotes is not None:
        parts.append(f"{esc(label('upvotes', lang))} {item.upvotes}")
    return f'<p class="meta">{SEP.join(parts)}</p>' if parts else ""


def _authors(item: PaperItem, lang: Language) -> str:
    if not item.authors:
        return ""
    names = ", ".join(item.authors[:MAX_AUTHORS])
    if len(item.authors) > MAX_AUTHORS:
        names += f" {_w('et_al', lang)}"
    return f'<p class="authors">{esc(names)}</p>'


def _labelled(name: str, text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<p{attr}><span class="label">{esc(name)}:</span> {esc(text)}</p>'


def _fresh_texts(item: PaperItem, page: _Page) -> str:
    """A paper's contribution, details, why, relation and matched interests: each only
    if the page has not shown that text for this paper already."""
    lang, pid, out = page.lang, item.paper_id, []
    if page.fresh(pid, "contribution", item.contribution):
        out.append(_labelled(label("contribution", lang), item.contribution, "contrib"))
    if item.details:
        rows = "".join(f"<dt>{esc(d.label)}</dt><dd>{esc(d.text)}</dd>" for d in item.details)
        out.append(f'<dl class="details">{rows}</dl>')
    for key, text in (("why", item.why), ("relation", item.relation)):
        if page.fresh(pid, key, text):
            out.append(f"<h4>{esc(label(key, lang))}</h4>{_paragraphs(text)}")
    # Extractive relations are the matched interests already: say them once.
    names = matched_names(item)
    matched = ", ".join(names)
    if all(m in item.relation for m in names):
        page.fresh(pid, "matched", matched)
    elif page.fresh(pid, "matched", matched):
        out.append(_labelled(label("matched", lang), matched, "meta"))
    return "".join(out)


def _paper_card(item: PaperItem, kind: str, page: _Page) -> str:
    lang = page.lang
    pid = item.paper_id
    n = page.number(pid)
    out = [f'<article class="card paper"{page.anchor(pid)}>']
    out.append(f'<h3><span class="num">{n}</span>{_a(item.title, item.links.abs)}</h3>')
    # Links and meta once per paper: a must-read that was a pick is its title and reason.
    if page.fresh(pid, "links", "shown"):
        out += [_authors(item, lang), _paper_links(item, lang), _paper_meta(item, lang)]
    out.append(_fresh_texts(item, page))
    if item.note:
        if kind == "must_read":
            out.append(_labelled(label("read_reason", lang), item.note))
        else:
            out.append(f'<p class="aside">→ {esc(item.note)}</p>')
    out.append("</article>")
    return "".join(out)


def _glance_table(items: list[Item], page: _Page) -> str:
    """One row per paper: number, title link, category, one-line takeaway."""
    lang = page.lang
    cols = '<colgroup><col class="n"><col class="title"><col class="cat"><col></colgroup>'
    head = "".join(
        f'<th scope="col">{esc(name)}</th>'
        for name in (
            "#",
            label("title", lang),
            label("category", lang),
            text_label("takeaway", lang),
        )
    )
    rows = []
    for item in items:
        if not isinstance(item, PaperItem):
            continue
        n = page.number(item.paper_id)
        cat = f'<span class="chip">{esc(item.category)}</span>' if item.category.strip() else ""
        rows.append(
            f'<tr{page.anchor(item.paper_id)}><td class="n">{n}</td>'
            f'<td class="title">{_a(item.title, item.links.hf or item.links.abs)}</td>'
            f'<td class="cat">{cat}</td><td class="take">{esc(glance_takeaway(item))}</td></tr>'
        )
    if not rows:
        return ""
    return (
        f'<div class="table-wrap"><table class="glance">{cols}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _must_read(item: PaperItem, page: _Page) -> str:
    """A paper to read closely: its number (a jump to its card above), title, reason."""
    lang = page.lang
    pid = item.paper_id
    if not page.shown(pid):  # no card above: the whole card here
        return f'<li class="full">{_paper_card(item, "must_read", page)}</li>'
    # A list of its own: the pick's number is a reference that jumps to its card (shown
    # as the list's numbers, 1, 3, 4 would read as if items were missing).
    n = page.number(pid)
    ref = esc(label("pick_ref", lang, n=str(n)))
    num = f'<a class="ref" href="#{_anchor(pid)}" title="{esc(_w("to_card", lang))}">{ref}</a>'
    reason = ""
    if item.note:
        reason = (
            f'<span class="reason"><span class="label">{esc(label("read_reason", lang))}:'
            f"</span> {esc(item.note)}</span>"
        )
    # Whatever the card above did not say yet (usually nothing), then the reason.
    title = _a(item.title, item.links.abs)
    return f"<li>{title} {num}{_fresh_texts(item, page)}{reason}</li>"


def _repo(item: RepoItem, page: _Page) -> str:
    lang = page.lang
    facts = SEP.join(esc(f) for f in repo_facts(item, lang))
    head = f"<strong>{_a(item.full_name, item.url)}</strong>"
    if facts:
        head += f' <span class="facts">{facts}</span>'
    body = [f"<p>{head}</p>"]
    if item.description:
        body.append(f"<p>{esc(item.description)}</p>")
    if item.paper_id:
        title = item.paper_title or item.paper_id
        body.append(
            f'<p class="meta">{esc(label("paper", lang))}: {_a(title, abs_url(item.paper_id))}</p>'
        )
    if item.note:
        body.append(f'<p class="aside">→ {esc(item.note)}</p>')
    cls = "card repo archived" if item.archived else "card repo"
    return f'<li class="{cls}">{"".join(body)}</li>'


def _idea(item: IdeaItem, n: int, page: _Page) -> str:
    lang = page.lang
    out = [f'<article class="card idea"><h3><span class="num">{n}</span>{esc(item.title)}</h3>']
    out.append(_paragraphs(item.body))
    if item.experiment:
        out.append(_labelled(label("first_experiment", lang), item.experiment))
    if item.paper_ids:
        refs = ", ".join(_a(pid, abs_url(pid)) for pid in item.paper_ids)
        out.append(
            f'<p class="meta"><span class="label">{esc(label("based_on", lang))}:</span> {refs}</p>'
        )
    out.append("</article>")
    return "".join(out)


def _source(item: SourceItem, lang: Language) -> str:
    status = esc(source_status(item.status, lang))
    return (
        f"<li><strong>{esc(item.source)}</strong> "
        f'<span class="badge status-{item.status}">{status}</span> '
        f'<span class="detail">{esc(item.detail)}</span></li>'
    )


def _section(section: Section, page: _Page, sid: str, lead: str = "") -> str:
    kind = section.kind
    out = [f'<section id="{sid}" class="{kind}">']
    if section.title.strip():
        out.append(f"<h2>{esc(section.title)}</h2>")
    if lead.strip():
        out.append(_paragraphs(lead, "lead"))
    if section.intro:
        out.append(_paragraphs(section.intro, "intro"))
    # Runs of items of one type share a list (or the glance table), in document order.
    run: list[Item] = []
    ideas = 0

    def flush() -> None:
        if not run:
            return
        first = run[0]
        if isinstance(first, PaperItem) and kind == "others":
            out.append(_glance_table(run, page))
        elif isinstance(first, PaperItem) and kind == "must_read":
            rows = [_must_read(i, page) for i in run if isinstance(i, PaperItem)]
            out.append(f'<ul class="reads">{"".join(rows)}</ul>')
        elif isinstance(first, RepoItem):
            rows = [_repo(i, page) for i in run if isinstance(i, RepoItem)]
            out.append(f'<ul class="repos">{"".join(rows)}</ul>')
        elif isinstance(first, SourceItem):
            rows = [_source(i, page.lang) for i in run if isinstance(i, SourceItem)]
            out.append(f'<ul class="sources">{"".join(rows)}</ul>')
        run.clear()

    for item in section.items:
        grouped = isinstance(item, RepoItem | SourceItem) or (
            isinstance(item, PaperItem) and kind in ("others", "must_read")
        )
        if run and (not grouped or type(item) is not type(run[0])):
            flush()
        if grouped:
            run.append(item)
        elif isinstance(item, PaperItem):
            out.append(_paper_card(item, kind, page))
        elif isinstance(item, IdeaItem):
            ideas += 1
            out.append(_idea(item, ideas, page))
        elif isinstance(item, TextItem):
            # In the picks a text is a group's heading (related papers read together).
            cls = {"overview": "lead", "sources": "small", "top_picks": "group"}.get(kind, "")
            out.append(_paragraphs(item.text, cls))
            if item.sources:
                cited = SEP.join(
                    _a(x.label, x.url) if x.url else esc(x.label) for x in item.sources
                )
                out.append(f'<p class="small">{esc(label("cited", page.lang))}: {cited}</p>')
    flush()
    out.append("</section>")
    return "".join(out)


# --- the page -----------------------------------------------------------------------------


def _window(brief: Brief) -> str:
    if brief.window_start == brief.window_end:
        return brief.window_end.isoformat()
    return f"{brief.window_start.isoformat()} – {brief.window_end.isoformat()}"


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M %Z").strip()


def _section_ids(sections: list[Section]) -> list[str]:
    """`top_picks`, `others`, …; a kind that comes again gets `-2`, `-3`."""
    ids: list[str] = []
    for s in sections:
        n = sum(1 for i in ids if i == s.kind or i.startswith(f"{s.kind}-"))
        ids.append(s.kind if n == 0 else f"{s.kind}-{n + 1}")
    return ids


def _toc(sections: list[Section], ids: list[str], lang: Language) -> str:
    links = [
        f'<a href="#{sid}">{esc(s.title)}</a>'
        for s, sid in zip(sections, ids, strict=True)
        if s.title.strip() and s.items
    ]
    if len(links) < 3:
        return ""
    return f'<nav class="toc" aria-label="{esc(_w("contents", lang))}">{"".join(links)}</nav>'


def _page(lang: Language, title: str, body: list[str]) -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    head = (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="generator" content="paperdrop">\n'
        f"<title>{esc(' '.join(title.split()))}</title>\n<style>{_CSS.strip()}</style>\n"
        "</head>\n<body>\n"
    )
    return head + "<main>\n" + "\n".join(b for b in body if b) + "\n</main>\n</body>\n</html>\n"


def render_html(doc: Document) -> str:
    """A brief (or a command's reply) as one self-contained HTML page."""
    lang = doc.language
    page = _Page(lang)
    if isinstance(doc, Reply):
        body = [f"<header><h1>{esc(doc.title)}</h1></header>" if doc.title.strip() else ""]
        if doc.figure is not None:
            # The page loads nothing from elsewhere: the figure is a link, with its caption.
            caption = _a(f"{doc.figure.label}: {doc.figure.caption}", doc.figure.url)
            body.append(f"<figure><figcaption>{caption}</figcaption></figure>")
        ids = _section_ids(doc.sections)
        body += [_section(s, page, i) for s, i in zip(doc.sections, ids, strict=True)]
        return _page(lang, doc.title or "paperdrop", body)
    brief = doc
    mode = _w("mode_llm" if brief.mode == "llm" else "mode_extractive", lang)
    meta = SEP.join(
        [
            f"{esc(_w('window', lang))}: {esc(_window(brief))}",
            esc(_w("generated", lang, stamp=_stamp(brief.generated_at))),
            esc(mode),
        ]
    )
    # The overview opens the page wherever the composer put it; `Brief.overview` is shown
    # there unless one of its paragraphs already says it.
    found = brief.section("overview")
    rest = [s for s in brief.sections if s is not found]
    overview = found or Section(kind="overview", title=label("overview", lang))
    shown = {i.text for i in overview.items if isinstance(i, TextItem)}
    lead = brief.overview if brief.overview not in shown else ""
    # No overview at all (none composed, nothing to say): no section for it.
    ordered = [overview, *rest] if found is not None or lead.strip() else rest
    ids = _section_ids(ordered)
    # The retrieval note says when, which window and which sources; without one, the
    # window and the time the brief was made.
    header = [f"<header><h1>{esc(brief.title)}</h1>"]
    if brief.header.strip():
        header.append(f'<p class="note">{esc(brief.header)}</p>')
    else:
        header.append(f'<p class="meta">{meta}</p>')
    header += [_toc(ordered, ids, lang), "</header>"]
    body = ["".join(header)]
    body += [
        _section(s, page, i, lead if s is overview else "")
        for s, i in zip(ordered, ids, strict=True)
    ]
    body.append(f"<footer>paperdrop{SEP}{esc(brief.date.isoformat())}{SEP}{esc(mode)}</footer>")
    return _page(lang, brief.title, body)
