"""Fixed strings of the brief in each language. LLM prose is never looked up here."""

from __future__ import annotations

from typing import Final

from digest.models import Language

__all__ = ["label"]


def _extractive_note(zh: str, en: str) -> dict[Language, str]:
    """The top picks' note in an extractive brief: why there is no LLM text, then what
    the text is instead (the same whatever the reason)."""
    return {
        "zh": f"{zh}:引号内是论文摘要或 Hugging Face AI 摘要的原文,入选原因与关系由规则"
        "根据你的兴趣写成。",
        "en": f"{en}: quoted text is the papers' own words (abstracts, Hugging Face AI "
        "summaries); reasons and relations are written by rules from your interests.",
    }


_LABELS: Final[dict[str, dict[Language, str]]] = {
    "brief_title": {
        "zh": "{date} AI 研究简报 · {reader}",
        "en": "AI research brief · {date} · {reader}",
    },
    "overview": {"zh": "一句话总览", "en": "Overview"},
    "top_picks": {"zh": "重点推荐", "en": "Top picks"},
    "others": {"zh": "其他值得扫一眼的论文", "en": "Also worth a glance"},
    "must_read": {"zh": "今日最值得精读的 3 篇", "en": "Three to read closely"},
    "repos": {"zh": "值得跟进的 repo", "en": "Repos to follow"},
    "ideas": {"zh": "研究机会 / idea", "en": "Research ideas"},
    "conclusion": {"zh": "今日结论", "en": "Conclusion"},
    "sources": {"zh": "来源说明", "en": "Sources"},
    "title": {"zh": "标题", "en": "Title"},
    "authors": {"zh": "作者", "en": "Authors"},
    "date": {"zh": "日期", "en": "Date"},
    "category": {"zh": "类别", "en": "Category"},
    "contribution": {"zh": "一句话核心贡献", "en": "Contribution"},
    "why": {"zh": "为什么值得关注", "en": "Why it matters"},
    "relation": {"zh": "与你研究方向的关系", "en": "For your research"},
    "matched": {"zh": "匹配兴趣", "en": "Matched interests"},
    "read_reason": {"zh": "精读理由", "en": "Why read it"},
    "upvotes": {"zh": "HF 点赞", "en": "HF upvotes"},
    "stars": {"zh": "Stars", "en": "Stars"},
    "last_push": {"zh": "最近更新", "en": "Last push"},
    "archived": {"zh": "已归档", "en": "archived"},
    # Why (GitHub failed, or not asked offline) is the repos section's intro.
    "not_verified": {"zh": "未验证", "en": "not verified"},
    # A repository a paper's text names that GitHub has not confirmed: plain text.
    "code_announced": {"zh": "代码(尚未验证)", "en": "code announced"},
    "based_on": {"zh": "依据", "en": "Builds on"},
    "first_experiment": {"zh": "第一个实验", "en": "First experiment"},
    "problem": {"zh": "问题", "en": "Problem"},
    "method": {"zh": "方法", "en": "Method"},
    "results": {"zh": "关键结果", "en": "Key results"},
    "limits": {"zh": "局限", "en": "Limits"},
    "code_data": {"zh": "代码与数据", "en": "Code and data"},
    "read_from": {"zh": "依据", "en": "Read from"},
    "cited": {"zh": "出处", "en": "Sources"},
    "quoted_note": {
        "zh": "以下为摘要原文摘录(未配置 LLM)。",
        "en": "Quoted from the abstract (no LLM configured).",
    },
    "quoted_note_failed": {
        "zh": "以下为摘要原文摘录(LLM 这次没有答复)。",
        "en": "Quoted from the abstract (the LLM did not answer this time).",
    },
    "paper": {"zh": "论文", "en": "Paper"},
    "why_picked": {"zh": "入选原因", "en": "Why picked"},
    "takeaway": {"zh": "一句话", "en": "Takeaway"},
    "stars_delta": {"zh": "较上次 {delta} star({days} 天)", "en": "{delta} stars in {days} days"},
    "stars_since_yesterday": {"zh": "较昨天 {delta} star", "en": "{delta} stars since yesterday"},
    # Source statuses as the reader reads them (the model keeps the codes): one wording for
    # the header and the source note.
    "status_ok": {"zh": "正常", "en": "answered"},
    "status_partial": {"zh": "部分失败", "en": "partly failed"},
    "status_failed": {"zh": "失败", "en": "failed"},
    "status_skipped": {"zh": "未查询", "en": "not queried"},
    "status_not_configured": {"zh": "未配置", "en": "not configured"},
    "status_off": {"zh": "已关闭", "en": "switched off"},
    # A must-read paper's place among the picks above it.
    "pick_ref": {"zh": "见上文第 {n} 篇", "en": "#{n} above"},
    # The top picks' note in an extractive brief, by why there is no LLM text.
    "extractive_note_not_configured": _extractive_note("未使用 LLM", "No LLM"),
    "extractive_note_off": _extractive_note("LLM 已关闭", "LLM switched off"),
    "extractive_note_failed": _extractive_note("LLM 调用失败", "The LLM failed"),
    "extractive_note_used": {"zh": "", "en": ""},
    # Kept for callers of the former single note (the extractive /paper card, renderers).
    "extractive_note": {
        "zh": "摘录模式:未使用 LLM,引号内是论文摘要或 Hugging Face AI 摘要的原文。",
        "en": "Extractive mode: no LLM; quoted text is the abstracts' and Hugging Face AI "
        "summaries' own words.",
    },
    "ideas_failed": {
        "zh": "研究 idea 需要 LLM;今天的 LLM 调用失败,未生成。",
        "en": "Research ideas need an LLM, and today's LLM call failed: none this time.",
    },
    "ideas_disabled": {
        "zh": "研究 idea 需要 LLM,本简报未使用 LLM。",
        "en": "Research ideas need an LLM; this brief was made without one.",
    },
    "continued": {"zh": "(续)", "en": "(continued)"},
}


def label(key: str, language: Language, **fmt: str) -> str:
    text = _LABELS[key][language]
    return text.format(**fmt) if fmt else text
