"""The reader notes of a brief: what an LLM (or the extractive writer) says about the
day's picks for one reader, as one value type both writers return."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["Group", "Idea", "MustRead", "ReaderNotes"]


class MustRead(BaseModel):
    paper_id: str
    reason: str = ""


class Idea(BaseModel):
    title: str
    body: str
    paper_ids: list[str] = Field(default_factory=list)


class Group(BaseModel):
    """Picks answering the same question, shown as one pick (ids in the picks' order)."""

    title: str
    paper_ids: list[str] = Field(min_length=2)


class ReaderNotes(BaseModel):
    overview: str = Field(min_length=1)
    relations: dict[str, str] = Field(default_factory=dict)
    must_read: list[MustRead] = Field(default_factory=list)
    ideas: list[Idea] = Field(default_factory=list)
    conclusion: str = Field(min_length=1)
    repo_notes: dict[str, str] = Field(default_factory=dict)
    others_comments: dict[str, str] = Field(default_factory=dict)  # the glance list's lines
    groups: list[Group] = Field(default_factory=list)
