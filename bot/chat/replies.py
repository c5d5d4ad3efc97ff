"""What the conversation tells a chat in words: bad input, pointers, refusals, failures."""

from __future__ import annotations

from digest.errors import InvalidPaperId
from digest.models import Language
from handlers.context import tr

__all__ = [
    "admins_only",
    "bad_id",
    "not_found",
    "pointer",
    "sources_down",
    "unknown",
    "went_wrong",
]


def bad_id(language: Language, exc: InvalidPaperId) -> str:
    shown = exc.text.strip()[:60]
    return tr(
        language,
        f"“{shown}” is not an arXiv id. Try /paper 2605.29559, an arXiv or Hugging Face "
        "link, an old-style id such as hep-th/9901001, or an item number of your last brief.",
        f"“{shown}”不是 arXiv 编号。可以试试 /paper 2605.29559、arXiv 或 Hugging Face 链接、"
        "旧式编号如 hep-th/9901001,或上一期简报中的条目序号。",
    )


def admins_only(language: Language, shown: str) -> str:
    return tr(
        language,
        f"Only chat admins can use {shown} in a group.",
        f"群聊中只有管理员可以使用 {shown}。",
    )


def pointer(language: Language, p: str) -> str:
    return tr(
        language,
        f"I answer commands: {p}help lists them (for example {p}paper 2605.29559 or {p}ideas).",
        f"我能回答命令:发送 {p}help 查看(例如 {p}paper 2605.29559 或 {p}ideas)。",
    )


def unknown(language: Language, name: str, p: str) -> str:
    shown = name[:32]
    return tr(
        language,
        f"Unknown command {p}{shown}. {p}help lists what I can do.",
        f"没有 {p}{shown} 这个命令。发送 {p}help 查看可用命令。",
    )


def not_found(language: Language, paper_id: str) -> str:
    return tr(
        language,
        f"No paper {paper_id} on arXiv or Hugging Face.",
        f"arXiv 和 Hugging Face 上都没有论文 {paper_id}。",
    )


def sources_down(language: Language) -> str:
    return tr(
        language,
        "arXiv and Hugging Face could not be reached just now: try again in a few minutes.",
        "暂时连不上 arXiv 和 Hugging Face,请几分钟后再试。",
    )


def went_wrong(language: Language) -> str:
    return tr(language, "Something went wrong, try again.", "出了点问题,请再试一次。")
