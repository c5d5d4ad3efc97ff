"""A reader's profile: what they research, in a small TOML file.

name = "wenjun"
language = "zh"            # zh | en
interests = ["LLM agents", "code intelligence", "model-based RL"]
avoid = ["medical imaging"]
categories = ["cs.CL", "cs.LG", "cs.AI"]
top_picks = 5
"""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from digest.errors import ProfileError
from digest.models import Language

__all__ = ["Profile", "example_profile", "load_profile"]

_CATEGORY = r"^[a-z\-]+(\.[A-Za-z\-]+)?$"


class Profile(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=80)
    language: Language = "en"
    interests: list[str] = Field(min_length=1, max_length=50)
    avoid: list[str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=lambda: ["cs.AI", "cs.CL", "cs.LG"])
    top_picks: int = Field(default=5, ge=1, le=15)
    # Learned from a chat's 👍/👎 (digest.chatstate.learned_weights): "i:<interest>",
    # "a:<author>", "c:<category>" -> weight in [-1, 1]. Not written by hand.
    boosts: dict[str, float] = Field(default_factory=dict)

    @field_validator("interests", "avoid")
    @classmethod
    def _clean_phrases(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in value]
        if any(not v or len(v) > 200 for v in cleaned):
            raise ValueError("each phrase must be 1-200 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: list[str]) -> list[str]:
        import re

        bad = [c for c in value if not re.match(_CATEGORY, c)]
        if bad:
            raise ValueError(f"not arXiv categories: {', '.join(bad)} (e.g. cs.CL)")
        return value

    @property
    def key(self) -> str:
        """Stable id of what this profile asks for: readers with equal keys share a brief."""
        payload = "\x1f".join(
            [
                self.language,
                *sorted(self.interests),
                "|",
                *sorted(self.avoid),
                "|",
                *sorted(self.categories),
                str(self.top_picks),
                "|",
                *(f"{k}={v:.3f}" for k, v in sorted(self.boosts.items())),
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_profile(path: Path | str, language: Language | None = None) -> Profile:
    """Read and validate a TOML profile; `language` overrides the file's."""
    p = Path(path).expanduser()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"profile file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile {p}: {exc.__class__.__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {p} is not valid TOML: {exc}") from None
    return _validate(data, str(p), language)


def example_profile(language: Language | None = None) -> Profile:
    """The profile shipped with the package (the reference brief's reader)."""
    text = resources.files("digest.data").joinpath("example_profile.toml").read_text("utf-8")
    return _validate(tomllib.loads(text), "example profile", language)


def _validate(data: object, where: str, language: Language | None) -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(f"profile {where} must be a TOML table")
    if language is not None:
        data = {**data, "language": language}
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "profile"
        raise ProfileError(f"profile {where}: {loc}: {first['msg']}") from None
