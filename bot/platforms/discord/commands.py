"""Discord's application (slash) commands, made from the command registry, and the
text an invoked one stands for.

Every listed command of `handlers.registry` is a CHAT_INPUT command with one optional
string option carrying what would follow it when typed (`/paper args: 2605.29559`);
its description is the registry's help line (English, Chinese as the zh-CN
localization). One more, `/ask question:…`, asks a question in a pick's thread: over
HTTP interactions a bot never sees plain messages (that needs the Gateway), so a
question is a slash command. The list replaces the application's global commands with
`PUT /applications/{id}/commands` (at the receiver's start, or once by hand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.render.split import cut_point
from handlers.registry import COMMANDS

__all__ = [
    "ARGS_OPTION",
    "ASK_COMMAND",
    "DESCRIPTION_MAX",
    "application_commands",
    "invoked_text",
]

DESCRIPTION_MAX = 100  # a command's or an option's description
ARGS_OPTION = "args"
ASK_COMMAND = "ask"
QUESTION_OPTION = "question"
_STRING = 3  # option type STRING
_CHAT_INPUT = 1


def _short(text: str) -> str:
    text = " ".join(text.split()) or "-"
    if len(text) <= DESCRIPTION_MAX:
        return text
    return text[: cut_point(text, DESCRIPTION_MAX - 1)].rstrip() + "…"


def _ask() -> dict[str, Any]:
    return {
        "type": _CHAT_INPUT,
        "name": ASK_COMMAND,
        "description": "Ask about the paper of this thread (use it in a pick's thread)",
        "description_localizations": {"zh-CN": "就本话题串的论文提问(在论文的话题串里使用)"},
        "options": [
            {
                "type": _STRING,
                "name": QUESTION_OPTION,
                "description": "your question",
                "description_localizations": {"zh-CN": "你的问题"},
                "required": True,
            }
        ],
    }


def application_commands() -> list[dict[str, Any]]:
    """The body of `PUT /applications/{id}/commands`: the registry's listed commands,
    then /ask."""
    out: list[dict[str, Any]] = []
    for cmd in COMMANDS.values():
        if cmd.hidden or cmd.name == ASK_COMMAND:
            continue
        entry: dict[str, Any] = {
            "type": _CHAT_INPUT,
            "name": cmd.name,
            "description": _short(cmd.summary("en")),
        }
        if cmd.summary_zh:
            entry["description_localizations"] = {"zh-CN": _short(cmd.summary_zh)}
        if cmd.usage:
            entry["options"] = [
                {
                    "type": _STRING,
                    "name": ARGS_OPTION,
                    "description": _short(cmd.usage),
                    "required": False,
                }
            ]
        out.append(entry)
    out.append(_ask())
    return out


def _values(options: Sequence[Any]) -> list[str]:
    values: list[str] = []
    for option in options:
        if not isinstance(option, Mapping):
            continue
        if isinstance(option.get("options"), list):  # a subcommand's own options
            values.extend(_values(option["options"]))
        elif option.get("value") is not None:
            values.append(str(option["value"]))
    return values


def invoked_text(data: Mapping[str, Any]) -> str:
    """What an application command stands for, as if typed: "/paper 2605.29559"; for
    /ask the question alone (in a pick's thread, a question is answered about its paper)."""
    name = str(data.get("name") or "").lower()
    options = data.get("options")
    values = " ".join(v.strip() for v in _values(options if isinstance(options, list) else []))
    if name == ASK_COMMAND:
        return values.strip()
    return f"/{name} {values}".strip()
