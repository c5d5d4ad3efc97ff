"""The note under a brief's title: when it was retrieved (in the reader's time zone), over
which window and why it widened, which sources answered, and what the reader's avoid list
or 👎 kept out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from zoneinfo import ZoneInfo

from digest.compose.llm_state import LLM_SOURCE, LLMState
from digest.i18n import label
from digest.models import Language, SourceItem

__all__ = ["WINDOW_SOURCES", "BriefFacts", "header_note"]

# Reports that are about the window, not a source (older callers still send one).
WINDOW_SOURCES: Final = frozenset({"Window", "时间窗口"})


@dataclass(frozen=True)
class BriefFacts:
    """How the brief was made, for its header: all optional, all from code."""

    sample: bool = False  # the offline sample shipped in the package
    candidates: int | None = None  # papers the sources gave
    counts: Mapping[str, int] = field(default_factory=dict)  # papers per source name
    widened: str = ""  # why the window widened (localised), "" when it did not
    hidden_avoid: int = 0  # papers the avoid list kept out of the brief
    hidden_feedback: int = 0  # papers the reader's model pushed out of the brief
    llm_off: bool = False  # a key is configured but this run was told not to use it


_LLM_WORDS: Final[dict[Language, dict[LLMState, str]]] = {
    "zh": {"used": "已使用", "not_configured": "未配置", "off": "已关闭", "failed": "失败"},
    "en": {
        "used": "used",
        "not_configured": "not configured",
        "off": "switched off",
        "failed": "failed",
    },
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def header_note(
    *,
    language: Language,
    generated_at: dt.datetime,
    timezone: str,
    window_start: dt.date,
    window_end: dt.date,
    reports: Sequence[SourceItem],
    llm: LLMState,
    facts: BriefFacts,
) -> str:
    """The retrieval note under the title, in the reader's language and time zone."""
    zh = language == "zh"
    stamp = generated_at.astimezone(_zone(timezone)).strftime("%Y-%m-%d %H:%M")
    parts = [
        _retrieved(stamp, timezone, sample=facts.sample, zh=zh),
        _window(window_start, window_end, facts.widened, zh),
        _sources(reports, facts.counts, llm, language),
    ]
    hidden = _hidden(facts, zh)
    if hidden:
        parts.append(("另有 " + ",".join(hidden)) if zh else "; ".join(hidden))
    if zh:
        return "。".join(parts) + "。"
    return ". ".join(p[0].upper() + p[1:] for p in parts) + "."


def _retrieved(stamp: str, timezone: str, *, sample: bool, zh: bool) -> str:
    if sample:
        return (
            f"离线样例:随包附带的真实数据,未联网;生成于 {stamp}({timezone})"
            if zh
            else f"Offline sample: real data shipped with the package, no network used; "
            f"made {stamp} ({timezone})"
        )
    return f"检索时间:{stamp}({timezone})" if zh else f"Retrieved {stamp} ({timezone})"


def _window(start: dt.date, end: dt.date, widened: str, zh: bool) -> str:
    window = str(end) if start == end else (f"{start} 至 {end}" if zh else f"{start} to {end}")
    text = f"时间范围:{window}" if zh else f"Window: {window}"
    if widened:
        text += f"({widened})" if zh else f" ({widened})"
    return text


def _sources(
    reports: Sequence[SourceItem], counts: Mapping[str, int], llm: LLMState, language: Language
) -> str:
    """Each source that answered (with its papers), failed or was skipped; then the LLM."""
    zh = language == "zh"
    names: list[str] = []
    for r in reports:
        if r.source in WINDOW_SOURCES or r.source == LLM_SOURCE:
            continue
        count = counts.get(r.source)
        word = label(f"status_{r.status}", language)  # the source note's word too
        if count is not None and r.status in ("ok", "partial"):
            what = (
                (f"{count} 篇" if r.status == "ok" else f"{count} 篇,{word}")
                if zh
                else (f"{count} papers" if r.status == "ok" else f"{count} papers, {word}")
            )
        else:
            what = word
        names.append(f"{r.source}({what})" if zh else f"{r.source} ({what})")
    names.append(f"LLM({_LLM_WORDS['zh'][llm]})" if zh else f"LLM ({_LLM_WORDS['en'][llm]})")
    return ("来源:" + "、".join(names)) if zh else ("Sources: " + ", ".join(names))


def _hidden(facts: BriefFacts, zh: bool) -> list[str]:
    """How many papers the avoid list, and how many the reader's model, kept out."""
    hidden: list[str] = []
    if facts.hidden_avoid:
        n = facts.hidden_avoid
        hidden.append(
            f"{n} 篇因你的 avoid 列表未显示"
            if zh
            else f"{n} {'paper' if n == 1 else 'papers'} hidden by your avoid list"
        )
    if facts.hidden_feedback:
        n = facts.hidden_feedback
        hidden.append(
            f"{n} 篇因你的 👍/👎 与论文学到的偏好未显示"
            if zh
            else f"{n} {'paper' if n == 1 else 'papers'} hidden by what your 👍/👎 and "
            "papers taught"
        )
    return hidden
