"""Fixed strings of the brief in each language. LLM prose is never looked up here."""

from __future__ import annotations

from typing import Final

from digest.models import Language

__all__ = ["label"]

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
    # Why (GitHub failed, or not asked offline) is in the sources section.
    "not_verified": {"zh": "未验证", "en": "not verified"},
    "based_on": {"zh": "依据", "en": "Builds on"},
    "first_experiment": {"zh": "第一个实验", "en": "First experiment"},
    "problem": {"zh": "问题", "en": "Problem"},
    "method": {"zh": "方法", "en": "Method"},
    "results": {"zh": "关键结果", "en": "Key results"},
    "limits": {"zh": "局限", "en": "Limits"},
    "quoted_note": {
        "zh": "以下为摘要原文摘录(未配置 LLM)。",
        "en": "Quoted from the abstract (no LLM configured).",
    },
    "paper": {"zh": "论文", "en": "Paper"},
    "extractive_note": {
        "zh": "摘录模式:未配置 LLM,以下文字取自 Hugging Face AI 摘要与论文摘要原文。",
        "en": "Extractive mode: no LLM configured; texts below are taken from Hugging Face "
        "AI summaries and the abstracts themselves.",
    },
    "ideas_disabled": {
        "zh": "摘录模式下不生成研究 idea。设置 PAPERDROP_LLM_API_KEY(或 OPENAI_API_KEY)后启用。",
        "en": "No research ideas in extractive mode. Set PAPERDROP_LLM_API_KEY (or "
        "OPENAI_API_KEY) to enable them.",
    },
    "continued": {"zh": "(续)", "en": "(continued)"},
}


def label(key: str, language: Language, **fmt: str) -> str:
    text = _LABELS[key][language]
    return text.format(**fmt) if fmt else text
