"""The most useful parts of a paper within a token budget (the /paper card's input).

Not the first N characters: every passage is scored by what the card needs of it — the
problem (introduction), the method and its data and training setup, the results with
their numbers (results sections and tables), the limitations, code and data release —
and the best are taken until the budget is spent, then put back in the paper's order,
grouped by section. Related work, references and acknowledgements weigh little; the
first passage of each useful section is preferred to the later ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.fulltext.model import FullText
from digest.fulltext.passages import Passage, estimate_tokens, passages_of

__all__ = ["Excerpt", "select_excerpts"]

# (pattern on the section title, weight): the first match decides.
_ROLES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p, re.IGNORECASE), w)
    for p, w in (
        (r"limitation|broader impact|weakness|failure", 3.0),
        (r"result|experiment|evaluation|benchmark|main|comparison|ablation", 2.6),
        (r"setup|training|implementation|data|hyper|detail|pretrain", 2.4),
        (r"method|approach|model|framework|architecture|design|algorithm|ours", 2.2),
        (r"introduction|overview", 1.8),
        (r"conclusion|discussion|summary|analysis", 1.6),
        (r"related|background|preliminar|notation", 0.5),
        (r"acknowledg|ethic|reproducib|checklist|contribution statement", 0.3),
    )
)
_NUMBER = re.compile(r"\d")
_RELEASE = re.compile(
    r"github\.com|huggingface\.co|code (?:is|are|will be) (?:publicly )?(?:available|released)"
    r"|we (?:release|open-source|open source|make .{0,30} available)|publicly available",
    re.IGNORECASE,
)
MAX_PASSAGE_TOKENS = 450  # one long passage never eats the budget alone


@dataclass(frozen=True)
class Excerpt:
    """What the LLM reads of one section (or a table)."""

    where: str  # "§5 Results", "Table 1"
    text: str


def _weight(p: Passage, first_in_section: bool, position: int) -> float:
    title = p.section
    role = next((w for pattern, w in _ROLES if pattern.search(title)), 1.0)
    if title.startswith("§") and re.match(r"§[A-Z]", title):
        role *= 0.6  # an appendix
    if p.kind == "table":
        role = max(role, 2.5)
    elif p.kind == "figure":
        role = min(role, 1.2)
    if _RELEASE.search(p.text):
        role += 2.0  # whether code and data are released
    if _NUMBER.search(p.text) and role >= 2.0:
        role += 0.4  # results and setups are about numbers
    bonus = 1.3 if first_in_section else 1.0 / (1.0 + 0.15 * position)
    return role * bonus


def _clip(text: str, tokens: int) -> str:
    if estimate_tokens(text) <= tokens:
        return text
    cut = text[: tokens * 4]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return (cut[: end + 1] if end > len(cut) // 2 else cut.rsplit(" ", 1)[0]) + " …"


def select_excerpts(text: FullText, budget: int) -> list[Excerpt]:
    """The best passages within `budget` tokens, in the paper's order, by section."""
    passages = passages_of(text)
    seen: dict[str, int] = {}
    scored: list[tuple[float, int, Passage]] = []
    for p in passages:
        position = seen.get(p.section, 0)
        seen[p.section] = position + 1
        scored.append((_weight(p, position == 0 and p.kind == "text", position), p.order, p))
    scored.sort(key=lambda t: (-t[0], t[1]))
    chosen: list[tuple[Passage, str]] = []
    spent = 0
    for _, _, p in scored:
        room = budget - spent
        if room < 60:
            break
        body = _clip(p.text, min(MAX_PASSAGE_TOKENS, room))
        cost = estimate_tokens(body) + 8  # the label and the JSON around it
        if cost > room:
            continue
        chosen.append((p, body))
        spent += cost
    chosen.sort(key=lambda t: t[0].order)
    out: list[Excerpt] = []
    for p, body in chosen:
        where = p.cite.label if p.kind != "text" else p.section
        if out and out[-1].where == where and p.kind == "text":
            out[-1] = Excerpt(where, f"{out[-1].text}\n{body}")
        else:
            out.append(Excerpt(where, body))
    return out
