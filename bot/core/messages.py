"""The message a platform is sent: one request, complete except for the destination."""

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
    parent: bool = False  # the thread's parent message (threaded briefs)
    in_thread: bool = False  # send as a reply in the parent's thread
    paper_id: str | None = None  # the paper this message is about (thread context)
    # A figure: when it cannot be sent, the messages after it still are.
    optional: bool = False
    # An image the sender must fetch and upload first (Feishu's img_key), with the card.
    media_url: str | None = None
