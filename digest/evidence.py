"""What a reader has told paperdrop about papers: the training data of their model.

A value type, by bare arXiv id only (the texts live in the Store), small enough to be a
field of the `Profile` and part of its key: a chat whose evidence changes gets a brief of
its own, while chats with too little evidence to train on still share one.

- positives: seed papers (the profile's `papers`, `/interests add paper`), 👍, and weakly
  the papers the chat asked `/paper` about;
- negatives: 👎, and weakly papers the chat was shown and ignored (a sample of them).

A 👎 overrides every positive of the same paper; a vote overrides "ignored".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["MIN_NEGATIVES", "MIN_POSITIVES", "Evidence", "Learned", "Similar"]

# With fewer positives the day's interest ranking decides alone (the cold start).
MIN_POSITIVES: Final = 5
# Fewer labelled negatives than this: the day's other candidates stand in, weakly.
MIN_NEGATIVES: Final = 3


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seeds: tuple[str, ...] = ()
    liked: tuple[str, ...] = ()  # 👍
    asked: tuple[str, ...] = ()  # /paper asks: a weak positive
    disliked: tuple[str, ...] = ()  # 👎
    ignored: tuple[str, ...] = ()  # shown, neither voted nor asked: a weak negative

    @property
    def positives(self) -> list[str]:
        """Seeds, 👍 and asks (in that order, without repeats), none of them 👎."""
        down = set(self.disliked)
        return [p for p in dict.fromkeys((*self.seeds, *self.liked, *self.asked)) if p not in down]

    @property
    def negatives(self) -> list[str]:
        """👎, then the ignored papers no positive names."""
        pos = set(self.positives)
        return [p for p in dict.fromkeys((*self.disliked, *self.ignored)) if p not in pos]

    @property
    def votes(self) -> int:
        return len(set(self.liked) | set(self.disliked))

    @property
    def missing(self) -> int:
        """Positives still needed before a model weighs in (0 once it does)."""
        return max(0, MIN_POSITIVES - len(self.positives))

    @property
    def active(self) -> bool:
        """Enough positives for a model to weigh in."""
        return self.missing == 0

    @property
    def key(self) -> str:
        """Stable id of the evidence: what the model is trained on, in a canonical order."""
        payload = "\x1f".join(
            [
                *sorted(self.seeds),
                "|",
                *sorted(self.liked),
                "|",
                *sorted(self.asked),
                "|",
                *sorted(self.disliked),
                "|",
                *sorted(self.ignored),
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Similar:
    paper_id: str  # the reader's paper
    kind: Literal["seed", "liked"]
    similarity: float  # cosine of their TF-IDF vectors


@dataclass(frozen=True)
class Learned:
    """A reader model's verdict on one day's candidates, as `digest.ranking.rank` takes it.

    `scores` are each candidate's place in the model's order of the day, from 0 (least
    wanted) to 1 (most), by id;
    `weight` how much they count against the interest ranking (0 to `W_MODEL_MAX` of
    `digest.learning`, growing with the evidence); `similar` the liked or seed paper each
    candidate is most like, when it is close enough to say so ("like 2605.06614 you liked").
    """

    scores: Mapping[str, float]
    weight: float
    similar: Mapping[str, Similar] = field(default_factory=dict)
