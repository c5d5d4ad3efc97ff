"""Our buttons as a click brings them back, for every platform's renderer and receiver.

A button (`digest.models.Button`) comes back as its action and value: in one string,
"action|value" (`button_data`), where the platform carries one (Telegram's callback
data, Slack's value, Discord's custom_id), or as two fields (Feishu's card value). A
click is ours when both are as a `Button` writes them and its action is one a click may
run: 👍/👎 (feedback) or a command that is not admin-only (no button runs one; a click
elsewhere, such as Feishu's, does not say whether the chat is a group). Anything else
(an old keyboard, another app's button, forged data) is not ours.
"""

from __future__ import annotations

import re
from typing import Final

from digest.chatstate import FEEDBACK_ACTION
from digest.models import BUTTON_ACTION, BUTTON_VALUE, Button
from handlers.registry import COMMANDS

__all__ = ["button_command", "button_data", "our_button", "parse_button"]

SEP: Final = "|"
_ACTION: Final = re.compile(BUTTON_ACTION)
_VALUE: Final = re.compile(BUTTON_VALUE)


def button_data(button: Button) -> str:
    """What a click on `button` sends back where a platform carries one string."""
    return f"{button.action}{SEP}{button.value}"


def button_command(action: str) -> str | None:
    """The command a click with `action` runs; None when a click may run none."""
    if action == FEEDBACK_ACTION:
        return "feedback"
    cmd = COMMANDS.get(action)
    return action if cmd is not None and not cmd.admin else None


def our_button(action: object, value: object) -> tuple[str, str] | None:
    """(action, value) of a click on one of our buttons, else None."""
    if not (isinstance(action, str) and isinstance(value, str)):
        return None
    if not (_ACTION.fullmatch(action) and _VALUE.fullmatch(value)):
        return None
    return (action, value) if button_command(action) is not None else None


def parse_button(data: object) -> tuple[str, str] | None:
    """`our_button` of a click's one string ("action|value"), else None."""
    if not isinstance(data, str):
        return None
    action, sep, value = data.partition(SEP)
    return our_button(action, value) if sep else None
