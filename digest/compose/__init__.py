"""Composing the Brief: the reader's picks, summaries and notes as typed sections.

Links, ids, numbers and dates are copied from `Paper` and `RepoInfo`; the LLM's prose
(summaries, notes) fills text fields only and is stripped of URLs once more here, so a
link in a brief can only come from source data. Every source text shown (titles, quoted
sentences, LLM prose) goes through `digest.cleaning` (LaTeX to plain text).

What no model wrote comes from `digest.extractive.Writer`: the why-picked line of every
pick (both modes), and in an extractive brief the relations, the reasons to read closely,
the overview and the conclusion; related picks share one group heading
(`digest.grouping`; the LLM's title when it gave one). An LLM's overview is its own, with
any count of papers the papers do not bear out dropped (`digest.counts`).

brief      compose_brief: the sections in the reference brief's order
header     the note under the title (retrieved when, window, sources, papers kept out)
repos      the repos section, with GitHub's facts where it answered
llm_state  what the LLM did (used, not configured, off, failed) and its source note
context    what every section is made with: cleaned prose, repo keys, paper cards
"""
