"""What the LLM did for a brief: its state, and the source note saying so."""

from __future__ import annotations

from typing import Final, Literal

from digest.models import Language, LLMUsage, SourceItem, SourceStatus

__all__ = ["LLM_SOURCE", "LLMState", "llm_source", "llm_state"]

LLM_SOURCE: Final = "LLM"

# used: the LLM wrote text; not_configured: no key; off: a key is set but the run turned the
# LLM off (--no-llm); failed: it was called and failed.
LLMState = Literal["used", "not_configured", "off", "failed"]


def llm_state(mode: Literal["llm", "extractive"], usage: LLMUsage, off: bool) -> LLMState:
    if mode == "llm":
        return "used"
    # Extractive after calls were made means the LLM was configured and failed.
    if usage.calls > 0:
        return "failed"
    return "off" if off else "not_configured"


_LLM_SKIPPED: Final[dict[str, dict[Language, str]]] = {
    "not_configured": {
        "zh": "未配置 LLM:本简报为摘录模式,引号内是论文摘要或 Hugging Face AI 摘要的原文,"
        "其余文字由规则根据你的兴趣写成;不生成研究 idea。",
        "en": "LLM not configured: an extractive brief. Quoted text is the abstracts' or "
        "Hugging Face AI summaries' own words; the rest is written by rules from your "
        "interests; no research ideas.",
    },
    "off": {
        "zh": "LLM 已关闭:本次未调用 LLM,简报为摘录模式,引号内是论文原文;不生成研究 idea。",
        "en": "LLM switched off for this brief: extractive texts, quoted from the papers; no "
        "research ideas.",
    },
}


def llm_source(
    state: LLMState,
    language: Language,
    usage: LLMUsage,
    fallbacks: int,
) -> SourceItem:
    zh = language == "zh"
    if state in _LLM_SKIPPED:
        # The same word as the header's ("未配置", not "未查询").
        status: SourceStatus = "not_configured" if state == "not_configured" else "off"
        return SourceItem(source=LLM_SOURCE, status=status, detail=_LLM_SKIPPED[state][language])
    if state == "failed":
        return SourceItem(
            source=LLM_SOURCE,
            status="failed",
            detail="LLM 调用失败:改用摘录模式,未生成研究 idea。"
            if zh
            else "The LLM failed: fell back to extractive texts; no ideas were generated.",
        )
    detail = (
        f"用于摘要与个性化点评:调用 {usage.calls} 次,共 {usage.total_tokens} tokens;"
        f"{usage.cached_summaries} 篇摘要来自缓存。"
        if zh
        else f"Used for summaries and notes: {usage.calls} calls, {usage.total_tokens} "
        f"tokens; {usage.cached_summaries} summaries from the cache."
    )
    if fallbacks:
        detail += (
            f"{fallbacks} 篇摘要调用失败,改用摘录。"
            if zh
            else f" {fallbacks} summaries fell back to extractive text."
        )
    return SourceItem(source=LLM_SOURCE, status="partial" if fallbacks else "ok", detail=detail)
