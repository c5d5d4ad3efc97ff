"""The platform-neutral data model: candidate papers, repos, summaries and the Brief.

The Brief holds typed blocks and plain text only: no Markdown, HTML or mrkdwn. Every
link, id, number and date in it is copied from source data by code; LLM output only
fills the prose fields (contribution, why, relation, overview, ideas, conclusion).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_serializer, model_validator

__all__ = [
    "BUTTON_ACTION",
    "BUTTON_VALUE",
    "Brief",
    "Button",
    "Detail",
    "Document",
    "FigureRef",
    "IdeaItem",
    "Item",
    "LLMUsage",
    "Language",
    "Link",
    "Paper",
    "PaperItem",
    "PaperLinks",
    "PaperSummary",
    "Platform",
    "Ranked",
    "Reply",
    "RepoInfo",
    "RepoItem",
    "Section",
    "SectionKind",
    "SourceItem",
    "SourceStatus",
    "Subscription",
    "TextItem",
]

Language = Literal["zh", "en"]
# A platform's registry name ("telegram"…): the bot checks it against its registry
# (`bot.platforms`); the core knows no platform.
Platform = str
SectionKind = Literal[
    "overview",
    "top_picks",
    "others",
    "must_read",
    "repos",
    "ideas",
    "conclusion",
    "sources",
    "text",  # a reply's plain paragraphs
]


def abs_url(paper_id: str) -> str:
    return f"https://arxiv.org/abs/{paper_id}"


def pdf_url(paper_id: str) -> str:
    return f"https://arxiv.org/pdf/{paper_id}"


def hf_url(paper_id: str) -> str:
    return f"https://huggingface.co/papers/{paper_id}"


class Paper(BaseModel):
    """A candidate paper, merged from every source that knew it (keyed by bare arXiv id)."""

    paper_id: str
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published: dt.date | None = None
    listed: dt.date | None = None  # the HF daily-papers day it appeared on
    upvotes: int | None = None
    num_comments: int | None = None
    ai_summary: str | None = None
    keywords: list[str] = Field(default_factory=list)
    github_repo: str | None = None  # https://github.com/owner/name, as HF's githubRepo names it
    # A repo only the abstract or the arXiv comment names: unverified until GitHub answers.
    repo_in_text: str | None = None
    repo_promised: bool = False  # the text says the code is coming ("coming soon")
    project_page: str | None = None
    primary_category: str | None = None
    categories: list[str] = Field(default_factory=list)
    comment: str | None = None  # arXiv author comment
    withdrawn: bool = False
    version: int | None = None  # the arXiv version the source answered with (2 for v2)
    on_hf: bool = False  # HF has a page for it
    sources: list[str] = Field(default_factory=list)  # "hf", "arxiv"

    @property
    def day(self) -> dt.date | None:
        return self.listed or self.published

    def links(self) -> PaperLinks:
        """The paper's links, with the repository HF's githubRepo names (compose replaces
        it by what GitHub answered)."""
        return PaperLinks(
            abs=abs_url(self.paper_id),
            pdf=pdf_url(self.paper_id),
            hf=hf_url(self.paper_id) if self.on_hf else None,
            repo=self.github_repo,
            project=self.project_page,
        )


class RepoInfo(BaseModel):
    """A GitHub repository as fetched from the API."""

    full_name: str  # owner/name, as GitHub spells it
    url: str
    stars: int
    pushed_at: dt.datetime | None = None
    description: str | None = None
    archived: bool = False
    fetched_at: dt.datetime
    size: int | None = None  # KB as GitHub reports it; 0: nothing pushed yet

    @property
    def empty(self) -> bool:
        return self.size == 0


class PaperSummary(BaseModel):
    """Profile-independent texts of a paper: cached per (bare id, language, prompt version)."""

    contribution: str
    why: str
    category: str
    mode: Literal["llm", "extractive"]


class LLMUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_summaries: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: LLMUsage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_summaries += other.cached_summaries


# --- The Brief -------------------------------------------------------------------------


class PaperLinks(BaseModel):
    abs: str
    pdf: str
    hf: str | None = None
    repo: str | None = None  # a repository known to exist: HF names it, or GitHub answered
    # A repository the paper's text names that is not verified (GitHub not asked, rate
    # limited, or the code is "coming soon"): shown as announced, never as "Repo".
    announced: str | None = None
    project: str | None = None
    html: str | None = None  # arXiv's HTML rendering, when the card was read from it


class Detail(BaseModel):
    """A labelled paragraph of a paper's deeper card ("Problem", "Method", ...)."""

    label: str
    text: str


class PaperItem(BaseModel):
    type: Literal["paper"] = "paper"
    paper_id: str  # bare arXiv id
    title: str
    authors: list[str] = Field(default_factory=list)
    links: PaperLinks
    date: dt.date | None = None
    category: str = ""  # a short label, e.g. "LLM Agent / RL"
    arxiv_category: str | None = None
    upvotes: int | None = None
    contribution: str = ""
    why: str = ""
    relation: str = ""
    matched: list[str] = Field(default_factory=list)  # the reader's interests it matched
    # The same interests as the brief names them (the profile's labels in its language),
    # for display; `matched` keeps the phrases (what 👍/👎 learn from).
    matched_labels: list[str] = Field(default_factory=list)
    note: str = ""  # e.g. why to read it closely (must_read)
    details: list[Detail] = Field(default_factory=list)  # the deeper card (/paper)


class RepoItem(BaseModel):
    type: Literal["repo"] = "repo"
    url: str
    full_name: str
    stars: int | None = None  # None: not verified (GitHub did not answer)
    pushed_at: dt.datetime | None = None
    description: str | None = None
    archived: bool = False
    paper_id: str | None = None
    paper_title: str | None = None
    note: str = ""  # what to follow there
    # Stars gained since the previous fetch the Store kept (about a day earlier), and how
    # many days that was; None when there is no earlier count.
    stars_delta: int | None = None
    delta_days: int | None = None


class IdeaItem(BaseModel):
    type: Literal["idea"] = "idea"
    title: str
    body: str
    experiment: str = ""  # a first experiment to run
    paper_ids: list[str] = Field(default_factory=list)  # the papers it builds on


class Link(BaseModel):
    """A labelled link written by code ("§3 Experiments" -> …/html/<id>#S3); `url` None:
    a label shown as text (a PDF page without an address)."""

    label: str
    url: str | None = None


class TextItem(BaseModel):
    type: Literal["text"] = "text"
    text: str
    # Where the text comes from (an answer's sections of the paper), shown after it.
    sources: list[Link] = Field(default_factory=list)


class FigureRef(BaseModel):
    """A paper's figure shown with a card: the image's address and its caption (text)."""

    url: str
    caption: str
    label: str = "Figure"  # "Figure 1"


# not_configured / off: a part that needs configuration (the LLM) was not set up, or was
# switched off for this run; skipped: a source that was not asked.
SourceStatus = Literal["ok", "partial", "failed", "skipped", "not_configured", "off"]


class SourceItem(BaseModel):
    type: Literal["source"] = "source"
    source: str  # "Hugging Face", "arXiv", "GitHub", "LLM"
    status: SourceStatus
    detail: str  # what happened and what was used instead


Item = Annotated[
    PaperItem | RepoItem | IdeaItem | TextItem | SourceItem, Field(discriminator="type")
]


class Section(BaseModel):
    kind: SectionKind
    title: str
    intro: str = ""
    items: list[Item] = Field(default_factory=list)


class Brief(BaseModel):
    date: dt.date
    language: Language
    reader: str
    title: str
    overview: str
    mode: Literal["llm", "extractive"]
    generated_at: dt.datetime
    window_start: dt.date
    window_end: dt.date
    sections: list[Section]
    usage: LLMUsage = Field(default_factory=LLMUsage)
    # The retrieval note under the title: when (reader's time zone), the window and why it
    # widened, which sources answered. Plain text, localised.
    header: str = ""

    def section(self, kind: SectionKind) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)

    def paper_ids(self) -> list[str]:
        """Ids of the papers this brief shows, in order, without repeats."""
        seen: dict[str, None] = {}
        for s in self.sections:
            for item in s.items:
                if isinstance(item, PaperItem):
                    seen.setdefault(item.paper_id, None)
        return list(seen)

    def find_paper(self, paper_id: str) -> PaperItem | None:
        for s in self.sections:
            for item in s.items:
                if isinstance(item, PaperItem) and item.paper_id == paper_id:
                    return item
        return None


# What a button's action and value may be (a click's are checked against them too).
BUTTON_ACTION = r"^[a-z_]{1,16}$"
BUTTON_VALUE = r"^[A-Za-z0-9_.:/\-]{1,40}$"


class Button(BaseModel):
    """A button under a message; `action` and `value` come back when it is clicked.

    Both are short ASCII written by code (e.g. "fb", "up:2605.29559"): Telegram allows
    64 bytes of callback data.
    """

    label: str
    action: str = Field(pattern=BUTTON_ACTION)
    value: str = Field(pattern=BUTTON_VALUE)


class Reply(BaseModel):
    """A command's answer: the same typed sections a brief has, with no markup in them.

    `title` may be empty (a one-line answer). `buttons` go under the last message.
    `paper_id` names the paper the reply is about, so a question in its thread is
    answered about that paper.
    """

    language: Language
    title: str = ""
    sections: list[Section] = Field(default_factory=list)
    buttons: list[Button] = Field(default_factory=list)
    paper_id: str | None = None
    private: bool = False  # only the asker needs to see it (Slack: ephemeral)
    figure: FigureRef | None = None  # shown before the card (a paper's first figure)

    def section(self, kind: SectionKind) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)

    @classmethod
    def text(cls, language: Language, *paragraphs: str, title: str = "") -> Reply:
        items: list[Item] = [TextItem(text=p) for p in paragraphs if p]
        return cls(
            language=language, title=title, sections=[Section(kind="text", title="", items=items)]
        )


Document = Brief | Reply


# --- Subscriptions ---------------------------------------------------------------------


class Subscription(BaseModel):
    """A chat that receives the brief every morning."""

    platform: Platform
    chat_id: str
    # The platform's own options (a Feishu custom bot's webhook URL and signing secret…),
    # declared and checked by its adapter. Every value is held as a secret: masked in
    # reprs and logs, revealed only in the JSON the Store keeps.
    options: dict[str, SecretStr] = Field(default_factory=dict)
    profile_path: str | None = None
    interests: list[str] = Field(default_factory=list)  # inline, when no profile file
    language: Language = "en"
    time: str = "08:00"  # local HH:MM
    tz: str = "UTC"  # IANA zone
    threads: bool = False
    active: bool = True
    inactive_reason: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}"

    def option(self, name: str) -> str | None:
        """An option's value, or None when it is not set."""
        value = self.options.get(name)
        return value.get_secret_value() if value is not None else None

    @model_validator(mode="before")
    @classmethod
    def _stored_before_options(cls, data: Any) -> Any:
        # Subscriptions stored before options existed kept their two options (a custom
        # bot's "webhook" and "secret") at the top level: they load as options.
        if not isinstance(data, dict) or not _LEGACY_OPTIONS & data.keys():
            return data
        moved = {k: v for k, v in data.items() if k not in _LEGACY_OPTIONS}
        options = dict(data.get("options") or {})
        for key in sorted(_LEGACY_OPTIONS):
            if data.get(key) is not None:
                options.setdefault(key, data[key])
        moved["options"] = options
        return moved

    @field_serializer("options", when_used="json")
    def _reveal(self, value: dict[str, SecretStr]) -> dict[str, str]:
        # The Store must keep the real values; logs use repr(), which stays masked.
        return {k: v.get_secret_value() for k, v in value.items()}


_LEGACY_OPTIONS = frozenset({"webhook", "secret"})


class Ranked(BaseModel):
    """A candidate with its score for one reader and the interests that explain it."""

    paper: Paper
    score: float
    matched: list[str] = Field(default_factory=list)  # the reader's interests it matched
    # The same interests as the brief names them (the profile's labels in its language),
    # for display; `matched` keeps the phrases (what 👍/👎 learn from).
    matched_labels: list[str] = Field(default_factory=list)
    signals: dict[str, float] = Field(default_factory=dict)  # score components, for --explain
    followed: list[str] = Field(default_factory=list)  # followed authors who wrote it
    # The reader's paper it is most like, by their model: (id, "liked" | "seed").
    like: tuple[str, Literal["liked", "seed"]] | None = None
