"""What the bot remembers about a chat, on top of the Store's key/value primitives.

* the last briefs a chat received (item numbers of `/paper 3`, grounding of `/ideas`),
* papers by id (abstracts for `/paper` and thread questions, without asking arXiv again),
* 👍/👎 votes per (chat, paper): idempotent, they train the chat's model
  (`digest.reader` gathers them with its other evidence, `digest.learning` fits it),
* chat preferences (language, interests) for chats that are not subscribed, and so the
  language a chat is answered in (`chat_language`),
* which message holds which paper (thread context).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from digest.models import Brief, Button, Language, Paper, PaperItem, Subscription
from digest.store.base import CacheSet, Store

__all__ = [
    "BRIEF_NS",
    "FEEDBACK_ACTION",
    "LAST_NS",
    "VOTE_NS",
    "ChatPrefs",
    "LastBrief",
    "Vote",
    "brief_record",
    "chat_language",
    "day_brief_key",
    "default_language",
    "feedback_buttons",
    "get_day_brief",
    "get_paper",
    "get_prefs",
    "get_votes",
    "last_briefs",
    "parse_last_briefs",
    "parse_votes",
    "put_day_brief",
    "put_papers",
    "record_brief",
    "save_prefs",
    "thread_key",
    "vote",
]

PAPER_NS = "paper"
LAST_NS = "lastbrief"
VOTE_NS = "votes"
PREFS_NS = "prefs"
PAPER_TTL = dt.timedelta(days=60)
LAST_TTL = dt.timedelta(days=30)
KEEP_BRIEFS = 5  # recent briefs remembered per chat
MAX_VOTES = 500  # per chat, newest kept


FEEDBACK_ACTION = "fb"


def feedback_buttons(paper_id: str) -> tuple[Button, ...]:
    """👍 / 👎 under a paper: clicks come back as ("fb", "up:<id>") / ("fb", "down:<id>")."""
    return (
        Button(label="👍", action=FEEDBACK_ACTION, value=f"up:{paper_id}"),
        Button(label="👎", action=FEEDBACK_ACTION, value=f"down:{paper_id}"),
    )


def thread_key(platform: str, chat_id: str, message_ref: str) -> str:
    return f"{platform}:{chat_id}:{message_ref}"


# --- papers ----------------------------------------------------------------------------


async def put_papers(store: Store, papers: Iterable[Paper]) -> None:
    """Keep the papers (one round trip for all of them on Redis)."""
    items = {paper.paper_id: paper.model_dump_json() for paper in papers}
    if items:
        await store.cache_set_many(PAPER_NS, items, PAPER_TTL)


async def get_paper(store: Store, paper_id: str) -> Paper | None:
    raw = await store.cache_get(PAPER_NS, paper_id)
    if raw is None:
        return None
    try:
        return Paper.model_validate_json(raw)
    except ValidationError:
        return None


# --- the day's brief of a profile (shared by every chat with that profile) --------------

BRIEF_NS = "brief"
# Long enough to resume a delivery late in the (local) day, short enough to stay small.
BRIEF_TTL = dt.timedelta(days=3)


def day_brief_key(profile_key: str, day: dt.date) -> str:
    return f"{profile_key}|{day.isoformat()}"


async def get_day_brief(store: Store, profile_key: str, day: dt.date) -> Brief | None:
    raw = await store.cache_get(BRIEF_NS, day_brief_key(profile_key, day))
    if raw is None:
        return None
    try:
        return Brief.model_validate_json(raw)
    except ValidationError:
        return None


async def put_day_brief(store: Store, profile_key: str, day: dt.date, brief: Brief) -> None:
    await store.cache_set(
        BRIEF_NS, day_brief_key(profile_key, day), brief.model_dump_json(), BRIEF_TTL
    )


# --- the briefs a chat received --------------------------------------------------------


class LastBrief(BaseModel):
    date: dt.date
    items: list[PaperItem]  # in the brief's numbering order (item n is items[n-1])


async def record_brief(store: Store, chat_key: str, brief: Brief) -> None:
    """Remember that `chat_key` received `brief` (newest first, a few kept)."""
    await store.write([brief_record(chat_key, brief, await last_briefs(store, chat_key))])


def brief_record(chat_key: str, brief: Brief, previous: Iterable[LastBrief]) -> CacheSet:
    """The write that records `brief` in front of the chat's `previous` briefs (as
    `last_briefs` read them), for `Store.write` with other writes."""
    items: dict[str, PaperItem] = {}
    for section in brief.sections:
        for item in section.items:
            if isinstance(item, PaperItem):
                items.setdefault(item.paper_id, item)
    entry = LastBrief(date=brief.date, items=list(items.values()))
    kept = [entry, *(b for b in previous if b.date != brief.date)][:KEEP_BRIEFS]
    payload = json.dumps([b.model_dump(mode="json") for b in kept], ensure_ascii=False)
    return CacheSet(LAST_NS, chat_key, payload, LAST_TTL)


async def last_briefs(store: Store, chat_key: str) -> list[LastBrief]:
    return parse_last_briefs(await store.cache_get(LAST_NS, chat_key))


def parse_last_briefs(raw: str | None) -> list[LastBrief]:
    """What `last_briefs` makes of a stored value (a corrupt one is no brief)."""
    if raw is None:
        return []
    try:
        data = json.loads(raw)
        return [LastBrief.model_validate(b) for b in data] if isinstance(data, list) else []
    except (ValueError, ValidationError):
        return []


# --- feedback --------------------------------------------------------------------------


class Vote(BaseModel):
    paper_id: str
    value: Literal[1, -1]
    at: dt.datetime
    title: str = ""
    interests: list[str] = Field(default_factory=list)  # the chat's interests it matched
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


async def get_votes(store: Store, chat_key: str) -> list[Vote]:
    return parse_votes(await store.cache_get(VOTE_NS, chat_key))


def parse_votes(raw: str | None) -> list[Vote]:
    """What `get_votes` makes of a stored value (a corrupt one is no vote)."""
    if raw is None:
        return []
    try:
        data = json.loads(raw)
        return [Vote.model_validate(v) for v in data] if isinstance(data, list) else []
    except (ValueError, ValidationError):
        return []


async def vote(store: Store, chat_key: str, new: Vote) -> Literal["new", "same", "changed"]:
    """Record a vote; the same vote twice counts once, the other one replaces it."""
    votes = await get_votes(store, chat_key)
    old = next((v for v in votes if v.paper_id == new.paper_id), None)
    if old is not None and old.value == new.value:
        return "same"
    kept = [v for v in votes if v.paper_id != new.paper_id]
    kept.append(new)
    payload = json.dumps([v.model_dump(mode="json") for v in kept[-MAX_VOTES:]])
    await store.cache_set(VOTE_NS, chat_key, payload)
    return "new" if old is None else "changed"


# --- preferences of chats without a subscription -----------------------------------------


class ChatPrefs(BaseModel):
    language: Language | None = None
    interests: list[str] = Field(default_factory=list)


async def get_prefs(store: Store, chat_key: str) -> ChatPrefs:
    raw = await store.cache_get(PREFS_NS, chat_key)
    if raw is None:
        return ChatPrefs()
    try:
        return ChatPrefs.model_validate_json(raw)
    except ValidationError:
        return ChatPrefs()


async def save_prefs(store: Store, chat_key: str, prefs: ChatPrefs) -> None:
    await store.cache_set(PREFS_NS, chat_key, prefs.model_dump_json())


# --- a chat's language ---------------------------------------------------------------------


def default_language(configured: str | None) -> Language:
    """The configured language (PAPERDROP_LANGUAGE) when it is zh or en, else English."""
    return "zh" if configured == "zh" else "en"


async def chat_language(
    store: Store, sub: Subscription | None, chat_key: str, configured: str | None
) -> Language:
    """The language a chat is answered and briefed in: its subscription's, else the one it
    chose without one (`/lang`), else the configured one (`default_language`)."""
    if sub is not None:
        return sub.language
    return (await get_prefs(store, chat_key)).language or default_language(configured)
