"""`/brief`: today's brief for this chat, now (the one already built today when it exists)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from digest.chatstate import get_day_brief, put_day_brief, record_brief
from digest.models import Document
from digest.pipeline import NoBrief, build_brief
from handlers.context import Args, HandlerContext, UsageError
from handlers.registry import command

__all__ = ["brief"]


def _local_day(ctx: HandlerContext) -> dt.date:
    zone = ctx.subscription.tz if ctx.subscription else "UTC"
    try:
        return ctx.now().astimezone(ZoneInfo(zone)).date()
    except (ValueError, KeyError):
        return ctx.now().date()


@command("brief", zh="立即获取今天的简报", llm=True)
async def brief(ctx: HandlerContext, args: Args) -> Document:
    """Today's brief for this chat, now."""
    day = _local_day(ctx)
    made = await get_day_brief(ctx.store, ctx.profile.key, day)
    if made is None:
        ctx.say(f"building the brief of {day}")
        try:
            made = await build_brief(
                ctx.settings,
                ctx.profile,
                day,
                store=ctx.store,
                readers=[ctx.chat.key],
                use_llm=ctx.llm is not None,
                llm=ctx.llm,
                now=ctx.now,
                progress=ctx.progress,
            )
        except NoBrief as exc:
            # The sentence names the day and says once what each source did.
            raise UsageError(
                ctx.t("No brief could be made: ", "无法生成简报:") + exc.sentence(ctx.language)
            ) from None
        await put_day_brief(ctx.store, ctx.profile.key, day, made)
    await record_brief(ctx.store, ctx.chat.key, made)
    return made
