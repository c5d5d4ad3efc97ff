"""`/subscribe`, `/unsubscribe`, `/lang`: the chat's own settings (`/interests` is in
`handlers.interests`).

In groups, changing them is for chat admins (the conversation asks the platform). A chat
that is not subscribed still keeps its language and interests (`ChatPrefs`), so the
answers to `/paper` use them and `/subscribe` starts from them.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.chatstate import ChatPrefs, get_prefs, save_prefs
from digest.models import Document, Language, Reply, Subscription
from handlers.context import Args, HandlerContext, UsageError
from handlers.registry import command

__all__ = ["lang", "subscribe", "unsubscribe"]

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _time_and_zone(
    ctx: HandlerContext, words: list[str], sub: Subscription | None
) -> tuple[str, str]:
    time = sub.time if sub else "08:00"
    zone = sub.tz if sub else "UTC"
    for word in words:
        m = _HHMM.match(word)
        if m:
            time = f"{int(m.group(1)):02d}:{m.group(2)}"
            continue
        try:
            ZoneInfo(word)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                ctx.t(
                    f"“{word[:40]}” is neither a time (HH:MM) nor a time zone (e.g. "
                    "Asia/Shanghai). Try /subscribe 08:00 Europe/Berlin.",
                    f"“{word[:40]}”既不是时间(HH:MM)也不是时区(如 Asia/Shanghai)。"
                    "试试 /subscribe 08:00 Asia/Shanghai。",
                )
            ) from None
        zone = word
    return time, zone


@command(
    "subscribe",
    usage="[HH:MM] [time zone]",
    zh="订阅每日简报(可指定时间和时区,如 08:00 Asia/Shanghai)",
    admin=True,
)
async def subscribe(ctx: HandlerContext, args: Args) -> Document:
    """Get the brief here every morning (default 08:00 UTC; e.g. 08:00 Asia/Shanghai)."""
    if ctx.chat.platform is None:
        raise UsageError("use `paperdrop subscribe --platform … --chat …` on the command line")
    sub = ctx.subscription
    time, zone = _time_and_zone(ctx, ctx_words(args), sub)
    prefs = await get_prefs(ctx.store, ctx.chat.key)
    if sub is None:
        sub = Subscription(
            platform=ctx.chat.platform,
            chat_id=ctx.chat.chat_id,
            language=ctx.language,
            interests=prefs.interests,
            # In groups each pick gets its own message, so it can be discussed in a thread.
            threads=ctx.chat.is_group,
        )
    sub = sub.model_copy(update={"time": time, "tz": zone, "active": True, "inactive_reason": None})
    await ctx.store.save_subscription(sub)
    what = ", ".join(sub.interests) if sub.interests else ctx.t("the default profile", "默认画像")
    return Reply.text(
        ctx.language,
        ctx.t(
            f"Subscribed: the brief arrives every day at {time} ({zone}), for {what}. "
            "Change it with /interests and /lang; stop with /unsubscribe.",
            f"已订阅:每天 {time}({zone})发送简报,兴趣:{what}。"
            "用 /interests 和 /lang 调整,/unsubscribe 退订。",
        ),
    )


def ctx_words(args: Args) -> list[str]:
    return args.words[:4]


@command("unsubscribe", zh="退订每日简报", admin=True)
async def unsubscribe(ctx: HandlerContext, args: Args) -> Document:
    """Stop the morning brief here."""
    if ctx.chat.platform is None or ctx.subscription is None:
        return Reply.text(ctx.language, ctx.t("This chat is not subscribed.", "这个聊天没有订阅。"))
    sub = ctx.subscription
    # Keep language and interests, so /subscribe later starts from them.
    prefs = ChatPrefs(language=sub.language, interests=sub.interests)
    await save_prefs(ctx.store, ctx.chat.key, prefs)
    await ctx.store.delete_subscription(ctx.chat.platform, ctx.chat.chat_id)
    return Reply.text(
        ctx.language,
        ctx.t(
            "Unsubscribed. /subscribe brings the brief back.",
            "已退订。发送 /subscribe 可重新订阅。",
        ),
    )


@command("lang", usage="zh|en", zh="设置回复和简报的语言", admin=True)
async def lang(ctx: HandlerContext, args: Args) -> Document:
    """Set the language of the brief and the answers (zh or en)."""
    choice = args.first.lower()
    if choice not in ("zh", "en"):
        raise UsageError(ctx.t("Use /lang zh or /lang en.", "请用 /lang zh 或 /lang en。"))
    language: Language = "zh" if choice == "zh" else "en"
    if ctx.subscription is not None:
        await ctx.store.save_subscription(
            ctx.subscription.model_copy(update={"language": language})
        )
    else:
        prefs = await get_prefs(ctx.store, ctx.chat.key)
        await save_prefs(ctx.store, ctx.chat.key, prefs.model_copy(update={"language": language}))
    text = "好的,之后用中文。" if language == "zh" else "OK, English from now on."
    return Reply.text(language, text)
