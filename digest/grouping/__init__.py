"""Which of the day's papers answer the same question: lexical, deterministic grouping.

A `Lexicon` is built over the day's candidates. Each paper's *terms* are its words and
two-word phrases (title, abstract, HF keywords and AI summary; stopwords and generic
research verbs left out), weighted by where they occur (a title term counts most) and by
how rare they are among the candidates (idf). Two papers are *related* when

- they share a matched interest of the reader (both matched one),
- the cosine of their term vectors is at least `RELATED_SIMILARITY`, and
- they share at least `MIN_SHARED_TERMS` distinctive terms (each in at most
  `DISTINCTIVE_DF` of the candidates), one of them a phrase or a word of both titles.

`plan_picks` walks the shown papers best first: each paper not yet placed opens a pick and
takes up to `MAX_GROUP - 1` later papers related to it (and to each other), until the
reader's number of picks is reached; the rest are worth a glance. Only word statistics of
the day decide: no paper id, no list of topics.

Groups and themes are *named* by the day's key phrases (`digest.keyphrases`): a group by
the phrases all its papers use ("skill library", "RL"), `themes` by a phrase or an
established acronym at least `MIN_THEME_PAPERS` shown papers use ("world models", "RL"),
for the overview and the conclusion. Never a loose word cut out of a compound.

terms    a paper's terms: words and two-word phrases, weighted by where they occur
lexicon  the day's term statistics over the candidates (`Lexicon`, `lexicon_of`)
groups   related picks under one pick (`plan_picks`, `merge_groups`)
themes   what several shown papers are about; a paper's short name; interest counts
"""
