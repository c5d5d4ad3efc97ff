"""What paperdrop writes without a model: one writer for the brief, the `/paper` card and
an LLM's fallbacks, with one table of topical categories."""

from digest.extractive.categories import category_label, topic_category
from digest.extractive.writer import (
    TAKEAWAY_CHARS,
    PaperText,
    Writer,
    extractive_summary,
    paper_text,
    reader_notes,
    takeaway,
)

__all__ = [
    "TAKEAWAY_CHARS",
    "PaperText",
    "Writer",
    "category_label",
    "extractive_summary",
    "paper_text",
    "reader_notes",
    "takeaway",
    "topic_category",
]
