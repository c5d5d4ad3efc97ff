"""The brief's top picks read in full: which papers, read concurrently within the
brief's budget, and the source note that counts them ("full text: 4 of 5 picks (1 from
PDF), 1 abstract only (no HTML or PDF)")."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from digest.fulltext.model import FullText, Missing
from digest.fulltext.service import read_paper
from digest.grouping.groups import Plan
from digest.models import Language, Paper, SourceItem, SourceStatus
from digest.settings import Settings
from digest.store.base import Store

__all__ = ["fulltext_report", "picks_to_read", "read_picks"]

log = logging.getLogger(__name__)


def picks_to_read(plan: Plan, count: int) -> list[Paper]:
    """The papers of the first `count` picks; a group of related papers is one pick."""
    units: list[str] = []
    out: list[Paper] = []
    for r in plan.picks:
        group = plan.group_of(r.paper.paper_id)
        unit = group.title if group is not None else r.paper.paper_id
        if unit not in units:
            if len(units) >= count:
                break
            units.append(unit)
        out.append(r.paper)
    return out


async def read_picks(
    papers: Sequence[Paper], settings: Settings, store: Store
) -> dict[str, FullText | Missing]:
    """The picks' full texts, read concurrently (each request still waits its turn at
    arXiv); what is not there after PAPERDROP_FULLTEXT_BRIEF_BUDGET seconds stays
    abstract-based ("late") and goes on being read for the thread questions to come."""
    tasks = {
        p.paper_id: asyncio.ensure_future(read_paper(p.paper_id, settings=settings, store=store))
        for p in papers
    }
    if not tasks:
        return {}
    await asyncio.wait(tasks.values(), timeout=settings.fulltext_brief_budget)
    out: dict[str, FullText | Missing] = {}
    for pid, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            out[pid] = task.result()
        elif task.done():
            error = task.exception() if not task.cancelled() else None
            log.warning("full text of %s failed: %r", pid, error)
            out[pid] = Missing(reason="unreachable", detail=repr(error))
        else:
            # read_paper shields the read itself: it finishes and is cached for later.
            task.cancel()
            out[pid] = Missing(reason="late", detail="over the brief's budget")
    return out


def fulltext_report(
    texts: Mapping[str, FullText | Missing],
    language: Language,
    *,
    sample: bool,
    llm: bool,
    off: bool,
) -> SourceItem:
    """The source note on the picks read in full: "full text: 4 of 5 picks (1 from PDF),
    1 abstract only (…)"."""
    zh = language == "zh"
    source = "arXiv 全文" if zh else "arXiv full text"
    if sample or not llm or off:
        why = (
            ("离线样例未读取全文" if sample else "未配置 LLM" if not llm else "已关闭")
            if zh
            else (
                "not read in the offline sample"
                if sample
                else "not read without an LLM"
                if not llm
                else "off (PAPERDROP_FULLTEXT_PICKS=0)"
            )
        )
        detail = (
            f"{why}:重点推荐依据摘要撰写;/paper 与追问会在需要时读取全文。"
            if zh
            else f"{why.capitalize()}: the picks are written from their abstracts; /paper and "
            "questions read a paper in full when asked."
        )
        return SourceItem(source=source, status="skipped", detail=detail)
    read = [t for t in texts.values() if isinstance(t, FullText)]
    pdf = sum(1 for t in read if t.kind == "pdf")
    missing = [t for t in texts.values() if isinstance(t, Missing)]
    reasons = Counter(m.reason for m in missing)
    why = ", ".join(f"{n} {_MISSING_NOTE[r][language]}" for r, n in reasons.most_common())
    if zh:
        detail = f"全文:{len(texts)} 篇重点推荐中读取了 {len(read)} 篇"
        detail += f"(其中 {pdf} 篇来自 PDF)" if pdf else ""
        detail += f",{len(missing)} 篇仅依据摘要({why})。" if missing else "。"
    else:
        detail = f"full text: {len(read)} of {len(texts)} picks"
        detail += f" ({pdf} from PDF)" if pdf else ""
        detail += f", {len(missing)} abstract only ({why})." if missing else "."
    status: SourceStatus = "ok" if not missing else "partial" if read else "failed"
    return SourceItem(source=source, status=status, detail=detail)


_MISSING_NOTE: dict[str, dict[Language, str]] = {
    "no_source": {"en": "no HTML or PDF", "zh": "无 HTML 或 PDF"},
    "too_large": {"en": "too large", "zh": "文件过大"},
    "unreadable": {"en": "unreadable", "zh": "无法解析"},
    "pdf_timeout": {"en": "PDF too slow to parse", "zh": "PDF 解析超时"},
    "unreachable": {"en": "arXiv unreachable", "zh": "arXiv 无法访问"},
    "rate_limited": {"en": "arXiv rate limit", "zh": "arXiv 限流"},
    "withdrawn": {"en": "withdrawn", "zh": "已撤回"},
    "late": {"en": "not read in time", "zh": "未及时读取"},
    "off": {"en": "not asked", "zh": "未读取"},
}
