"""paperdrop's exceptions.

    PaperdropError                 every error paperdrop raises on purpose
    ├── ConfigError                settings or a profile that cannot be used
    │   └── ProfileError           a missing or malformed profile file
    ├── InvalidPaperId             text that is not an arXiv id
    ├── PaperNotFound              a well-formed id that no source knows
    ├── SourceError                a source (HF, arXiv, GitHub) that did not answer usefully
    ├── LLMError                   the LLM failed or answered something unusable
    ├── StoreError                 the Store could not be reached or used
    └── DeliveryError              a platform refused a message
        └── ChatGone               the bot was removed or blocked from a chat (403)

Messages are one line, meant for the user, and never contain a secret (text from
libraries and servers is cleaned by `digest.redaction` first).
"""

from __future__ import annotations

__all__ = [
    "ChatGone",
    "ConfigError",
    "DeliveryError",
    "InvalidPaperId",
    "LLMError",
    "PaperNotFound",
    "PaperdropError",
    "ProfileError",
    "SourceError",
    "StoreError",
]


class PaperdropError(Exception):
    """Base class of paperdrop's own errors."""


class ConfigError(PaperdropError):
    """Settings that cannot be used as given."""


class ProfileError(ConfigError):
    """A reader's profile is missing or malformed."""


class InvalidPaperId(PaperdropError, ValueError):
    """Text that is not an arXiv identifier."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        super().__init__(
            f"{shown!r} is not an arXiv id (expected e.g. 2605.29559 or hep-th/9901001)"
        )
        self.text = text


class PaperNotFound(PaperdropError, LookupError):
    """A well-formed arXiv id that no source knows."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(f"paper {paper_id} was not found on arXiv or Hugging Face")
        self.paper_id = paper_id


class SourceError(PaperdropError):
    """A source failed; `source` names it, `reason` says how (timeout, HTTP 429, ...)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class LLMError(PaperdropError):
    """The LLM failed or its answer could not be used."""


class StoreError(PaperdropError):
    """The Store could not be reached or used."""


class DeliveryError(PaperdropError):
    """A platform refused a message; `platform` and `chat` say where."""

    def __init__(self, platform: str, chat: str, reason: str) -> None:
        super().__init__(f"{platform} chat {chat}: {reason}")
        self.platform = platform
        self.chat = chat
        self.reason = reason


class ChatGone(DeliveryError):
    """The bot was removed from the chat or blocked by the user: stop sending there."""
