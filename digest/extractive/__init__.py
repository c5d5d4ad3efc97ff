"""What paperdrop writes without a model: one writer for the brief, the `/paper` card and
an LLM's fallbacks, with one table of topical categories.

Two kinds of text, never mixed up:

- *Quoted*: a paper's contribution and key result are its abstract's (or Hugging Face AI
  summary's) own English sentences — LaTeX resolved, leading connectives dropped,
  shortened at a clause boundary — and marked as quotations (“…”), whatever the language.
- *Written*: why a paper was picked, how it relates to the reader, why to read it closely,
  the group headings, the theme counts, the overview and the conclusion. These are built
  from facts the code holds (the reader's matched interests and their labels, the paper's
  own distinctive terms from `digest.grouping.lexicon.Lexicon`, HF upvotes, a linked repo,
  the figures its abstract states, what kind of paper it is) in the reader's language, so
  a Chinese reader gets Chinese sentences wherever no model is needed.

papertext   a paper's own sentences chosen: contribution, key result, figures, kind
summary     those sentences quoted: the extractive summary, the one-line takeaway
categories  the table of topical categories
phrasing    lists joined, sentences closed, a term standing on its own
base        one brief as the writer sees it: reader, papers, terms, groups, themes
picked      why a paper was picked; an other paper's one line
relation    how a pick relates to the reader; why to read it closely
overview    group headings, themes, must-reads, overview, conclusion
writer      the `Writer` of all of them, and the reader notes of an extractive brief
"""

from digest.extractive.categories import category_label, topic_category
from digest.extractive.papertext import PaperText, paper_text
from digest.extractive.summary import TAKEAWAY_CHARS, extractive_summary, takeaway
from digest.extractive.writer import Writer, reader_notes

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
