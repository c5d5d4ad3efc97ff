"""`/help`: the commands, listed from the registry (their docstrings are the text)."""

from __future__ import annotations

from digest.models import Document, Reply, Section, TextItem
from handlers.context import Args, HandlerContext
from handlers.registry import command, help_lines

__all__ = ["help_command"]


@command("help", zh="列出所有命令")
async def help_command(ctx: HandlerContext, args: Args) -> Document:
    """List the commands."""
    lines = [
        TextItem(text=f"{synopsis} — {summary}") for synopsis, summary in help_lines(ctx.language)
    ]
    intro = ctx.t(
        "I send a personalised AI-research brief every morning and answer follow-ups. "
        "Ask about a top pick by replying to it (or mentioning me in its thread).",
        "我每天早上发送个性化的 AI 研究简报,并回答后续问题。对某篇重点推荐有疑问,"
        "直接回复那条消息(或在其讨论串里 @我)。",
    )
    return Reply(
        language=ctx.language,
        title="paperdrop",
        sections=[Section(kind="text", title="", intro=intro, items=list(lines))],
    )
