"""What a platform renderer produces and a sender sends: one message of a brief."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from digest.models import Platform

__all__ = ["OutMessage"]


class OutMessage(BaseModel):
    """One request to a platform, complete except for the destination.

    `payload` is exactly the body sent to `method`, without the chat/channel/receive id
    and thread reference, which the sender adds. `text` is the visible text a reader sees
    (used to prove that splitting is lossless).
    """

    platform: Platform
    part: int  # position in the day's sequence for one chat, from 0
    method: str  # "sendMessage", "chat.postMessage", "webhook", "im/v1/messages"
    payload: dict[str, Any] = Field(default_factory=dict)
    text: str
    parent: bool = False  # the thread's parent message (Slack threads)
    in_thread: bool = False  # send as a reply in the parent's thread
