"""A reader's profile: what they research, in a small TOML file.

name = "wenjun"
language = "zh"            # zh | en
timezone = "Asia/Shanghai" # IANA zone of the brief's times (default UTC)
interests = [
    "code intelligence",                                  # a plain phrase
    { phrase = "agentic RL", label = "智能体强化学习" },  # a phrase with a display label
]
avoid = ["medical imaging"]
categories = ["cs.CL", "cs.LG", "cs.AI"]
top_picks = 5
papers = ["2501.12948"]    # your own or favourite papers (arXiv ids): they train your model
authors = ["Yoshua Bengio"] # followed authors: their new papers are always shown

[labels]                   # another way to label phrases: phrase = label
"code intelligence" = "代码智能"

Interest phrases are matched against the papers' titles and abstracts, which are English:
write each phrase in English. A label is only how the brief *names* the interest, in the
profile's language (a Chinese reader's brief says "智能体强化学习" where the phrase
"agentic RL" matched); labels are used when the brief is in the profile's own language and
the phrase is shown otherwise. A phrase written in Chinese alone would match no English
abstract, so give it as a label of an English phrase instead.

`papers` are fetched once (arXiv) and cached; with 👍/👎 and the papers a chat asks
about they train the reader's model (`digest.learning`). `paperdrop profile import`
fills them from a BibTeX or Zotero CSL-JSON export.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from digest.authors import clean_author
from digest.errors import InvalidPaperId, ProfileError
from digest.evidence import Evidence
from digest.ids import parse_arxiv_id
from digest.models import Language

__all__ = ["Profile", "add_papers", "example_profile", "load_profile"]

_CATEGORY = r"^[a-z\-]+(\.[A-Za-z\-]+)?$"
log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PAPERS = 500
MAX_AUTHORS = 100

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Profile(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=80)
    language: Language = "en"
    interests: list[str] = Field(min_length=1, max_length=50)
    avoid: list[str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=lambda: ["cs.AI", "cs.CL", "cs.LG"])
    top_picks: int = Field(default=5, ge=1, le=15)
    timezone: str = "UTC"  # IANA zone: the brief's retrieval time is shown in it
    # Display labels of interest phrases (phrase -> label), in `labels_language`.
    labels: dict[str, str] = Field(default_factory=dict)
    labels_language: Language | None = None  # None: the profile's language
    papers: list[str] = Field(default_factory=list, max_length=MAX_PAPERS)  # seed arXiv ids
    authors: list[str] = Field(default_factory=list, max_length=MAX_AUTHORS)  # followed
    # What the chat's 👍/👎, asks and seeds say (digest.evidence); set by the bot, not
    # written by hand: the seeds above join it when a brief is built.
    evidence: Evidence = Field(default_factory=Evidence)

    @model_validator(mode="before")
    @classmethod
    def _interest_tables(cls, data: Any) -> Any:
        """`{phrase = "...", label = "..."}` entries of `interests` become a phrase and a
        label; plain strings stay as they are."""
        if not isinstance(data, dict) or not isinstance(data.get("interests"), list):
            return data
        phrases: list[object] = []
        labels = dict(data.get("labels") or {}) if isinstance(data.get("labels"), dict) else {}
        for entry in data["interests"]:
            if isinstance(entry, dict):
                unknown = set(entry) - {"phrase", "label"}
                if unknown or not isinstance(entry.get("phrase"), str):
                    raise ValueError(
                        "an interest is a phrase or a table {phrase = ..., label = ...}"
                    )
                phrase = " ".join(entry["phrase"].split())
                phrases.append(phrase)
                label = entry.get("label")
                if isinstance(label, str) and label.strip():
                    labels.setdefault(phrase, " ".join(label.split()))
            else:
                phrases.append(entry)
        out = {**data, "interests": phrases}
        if labels:
            out["labels"] = labels
        return out

    @field_validator("interests", "avoid")
    @classmethod
    def _clean_phrases(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in value]
        if any(not v or len(v) > 200 for v in cleaned):
            raise ValueError("each phrase must be 1-200 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("papers")
    @classmethod
    def _check_papers(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for raw in value:
            try:
                out.append(parse_arxiv_id(raw))
            except InvalidPaperId:
                raise ValueError(f"not an arXiv id: {raw[:60]!r} (e.g. 2501.12948)") from None
        return list(dict.fromkeys(out))

    @field_validator("authors")
    @classmethod
    def _check_authors(cls, value: list[str]) -> list[str]:
        cleaned = [clean_author(a) for a in value]
        if any(not a for a in cleaned):
            raise ValueError('an author is a name, e.g. "Yoshua Bengio"')
        return list(dict.fromkeys(cleaned))

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not re.match(_CATEGORY, c)]
        if bad:
            raise ValueError(f"not arXiv categories: {', '.join(bad)} (e.g. cs.CL)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("labels")
    @classmethod
    def _clean_labels(cls, value: dict[str, str]) -> dict[str, str]:
        out = {" ".join(k.split()): " ".join(v.split()) for k, v in value.items()}
        if any(not k or not v or len(v) > 80 for k, v in out.items()):
            raise ValueError("each label must be 1-80 characters")
        return out

    def label(self, phrase: str) -> str:
        """How the brief names an interest: its label in the profile's language, else the
        phrase itself."""
        if (self.labels_language or self.language) != self.language:
            return phrase
        return self.labels.get(phrase, phrase)

    @property
    def unmatchable(self) -> list[str]:
        """Interest phrases with no Latin letter: they cannot match an English abstract."""
        return [i for i in self.interests if _CJK.search(i) and not re.search(r"[A-Za-z]", i)]

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
                *sorted(self.papers),
                "|",
                *sorted(a.casefold() for a in self.authors),
                "|",
                # Only evidence a model is trained on makes a brief of its own: chats in
                # the cold start still share theirs.
                self.evidence.key if self.evidence.active else "",
                "|",
                self.timezone,
                *(f"{k}={self.label(k)}" for k in sorted(self.labels) if k in self.interests),
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_profile(path: Path | str, language: Language | None = None) -> Profile:
    """Read and validate a TOML profile; `language` overrides the file's."""
    p = Path(path).expanduser()
    return _validate(_read(p, tomllib.loads, tomllib.TOMLDecodeError), str(p), language)


def _read(p: Path, parse: Callable[[str], T], invalid: type[Exception]) -> T:
    """The profile file `p` parsed; ProfileError when it is missing, unreadable or not
    TOML (`invalid`, the parser's error)."""
    try:
        return parse(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"profile file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile {p}: {exc.__class__.__name__}") from None
    except invalid as exc:
        raise ProfileError(f"profile {p} is not valid TOML: {exc}") from None


def example_profile(language: Language | None = None) -> Profile:
    """The profile shipped with the package (the reference brief's reader)."""
    text = resources.files("digest.data").joinpath("example_profile.toml").read_text("utf-8")
    return _validate(tomllib.loads(text), "example profile", language)


def _validate(data: object, where: str, language: Language | None) -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(f"profile {where} must be a TOML table")
    if language is not None:
        # Labels are written in the file's language: a brief in another one shows phrases.
        data = {**data, "labels_language": data.get("language", "en"), "language": language}
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "profile"
        raise ProfileError(f"profile {where}: {loc}: {first['msg']}") from None
    for phrase in profile.unmatchable:
        log.warning(
            "profile %s: interest %r has no English word and matches no English abstract; "
            'write it as {phrase = "<English phrase>", label = %r}',
            where,
            phrase,
            phrase,
        )
    return profile


def add_papers(path: Path | str, paper_ids: list[str]) -> int:
    """Add seed papers to the profile file's `papers` (kept as written: comments, order,
    other keys); returns how many were new. The result is validated before it is saved."""
    # tomlkit (which keeps comments and order) is imported by the one command that writes
    # a profile: its import is slow, and reading needs only tomllib.
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    p = Path(path).expanduser()
    doc = _read(p, tomlkit.parse, TOMLKitError)
    current = [str(x) for x in doc.get("papers", [])]
    new = [pid for pid in dict.fromkeys(paper_ids) if pid not in current]
    if len(current) + len(new) > MAX_PAPERS:
        raise ProfileError(f"profile {p}: at most {MAX_PAPERS} papers")
    if not new:
        return 0
    papers = tomlkit.array()
    papers.multiline(True)
    papers.extend([*current, *new])
    doc["papers"] = papers
    text = tomlkit.dumps(doc)
    _validate(tomllib.loads(text), str(p), None)
    p.write_text(text, encoding="utf-8")
    return len(new)
