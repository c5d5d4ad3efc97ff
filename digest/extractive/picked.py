"""Why a paper was picked, in one sentence of the reader's language: what the reader told
us, the interest it serves and what in its text says so, community signal, code; and an
other paper's one line."""

from __future__ import annotations

import re
from typing import Final

from digest.cleaning import clean_title, shorten
from digest.extractive.base import WriterBase
from digest.extractive.phrasing import join, sentence
from digest.extractive.summary import TAKEAWAY_CHARS, takeaway
from digest.models import Ranked

__all__ = ["WhyPicked"]

STRONG_MATCH: Final = 0.75  # a best-interest score this high is a close match
# A title that says what the paper is: a benchmark, a dataset.
_NAMES_ITSELF = re.compile(r"\bbenchmark(?:s|ing)?\b|\bdataset\b", re.IGNORECASE)


class WhyPicked(WriterBase):
    """The why-picked line of every pick and the one line of every other paper."""

    def evidence(self, r: Ranked) -> list[str]:
        """What the reader told us that picked this paper: a followed author, a paper
        they liked (or one of their own) that it is most like."""
        zh = self.zh
        out: list[str] = []
        if r.followed:
            names = join(r.followed, self.language)
            out.append(f"来自你关注的作者 {names}" if zh else f"by {names}, whom you follow")
        if r.like is not None:
            pid, kind = r.like
            if pid == r.paper.paper_id:
                out.append(
                    ("这是你的论文之一" if zh else "one of your own papers")
                    if kind == "seed"
                    else ("你已为它点过 👍" if zh else "you liked it already")
                )
            elif kind == "liked":
                out.append(f"与你点过 👍 的 {pid} 相近" if zh else f"like {pid} you liked")
            else:
                out.append(f"与你的论文 {pid} 相近" if zh else f"like your paper {pid}")
        return out

    def _interest_reason(self, r: Ranked) -> str:
        """Which interest the paper serves and what in its text says so, in a shape that
        follows what kind of paper it is and varies from paper to paper."""
        p = r.paper
        zh = self.zh
        top = r.matched[0]
        lab = self.quoted_label(top)
        phrases = self.matched_phrases(r, top)
        titled = [ph for ph in phrases if self.lexicon.in_title(p, ph)]
        said = join(titled or phrases, self.language) if (titled or phrases) else ""
        kind = self.text(p).kind
        if kind != "method" and said:
            if zh:
                return {
                    "survey": f"一篇综述,系统梳理你关注的{lab}中的 {said}",
                    "benchmark": f"为你关注的{lab}提供新的评测,考察 {said}",
                    "dataset": f"为你关注的{lab}提供新数据,围绕 {said}",
                    "analysis": f"一项分析:它追问你关注的{lab}里关于 {said} 的问题",
                }[kind]
            return {
                "survey": f"a survey that maps {said} within your interest in {lab}",
                "benchmark": f"a new evaluation for your interest in {lab}, testing {said}",
                "dataset": f"new data for your interest in {lab}, built around {said}",
                "analysis": f"an analysis that asks what holds for {said}, within {lab}",
            }[kind]
        close = r.signals.get("bm25", 0.0) >= STRONG_MATCH
        if titled:
            options = (
                [
                    f"标题就点明了 {said},正是你关注的{lab}",
                    f"{said} 写在标题里,属于你关注的{lab}",
                    f"题目直接讲 {said},落在你关注的{lab}上",
                ]
                if zh
                else [
                    f"its title names {said}: squarely your interest in {lab}",
                    f"{said} is in its title, which puts it in {lab}",
                    f"it is about {said} by its very title, your interest in {lab}",
                ]
            )
            return self._variant("titled", options)
        if phrases:
            verb = ("紧扣" if close else "对应") if zh else ("squarely" if close else "close to")
            options = (
                [
                    f"摘要的主线是 {said},{verb}你关注的{lab}",
                    f"正文围绕 {said} 展开,{verb}你关注的{lab}",
                ]
                if zh
                else [
                    f"its abstract turns on {said}, {verb} your interest in {lab}",
                    f"the work centres on {said}, {verb} your interest in {lab}",
                ]
            )
            return self._variant("abstract", options)
        return f"最贴近你关注的{lab}" if zh else f"closest to your interest in {lab}"

    def _also(self, r: Ranked) -> str:
        """Further interests the paper serves (each borne out by its text)."""
        more = [self.quoted_label(m) for m in r.matched[1:3]]
        if not more:
            return ""
        if self.zh:
            return f"也涉及{''.join(more)}"
        return f"it also touches {join(more, 'en')}"

    def why_picked(self, r: Ranked) -> str:
        """One specific sentence on why this paper is a pick: what the reader told us
        (a followed author, a liked paper it resembles), the interest it serves and what
        in its text says so, further interests, community signal, code."""
        p = r.paper
        zh = self.zh
        parts = self.evidence(r)
        upvotes = p.upvotes or 0
        most_upvoted = upvotes >= 5 and upvotes == self._max_upvotes and len(self.picks) > 1
        if most_upvoted:
            parts.append(
                f"今天入选论文中 HF 点赞最多({upvotes} 赞)"
                if zh
                else f"the most upvoted of today's picks on Hugging Face ({upvotes})"
            )
        if r.matched:
            parts.append(self._interest_reason(r))
            if also := self._also(r):
                parts.append(also)
        elif not parts:
            terms = self.own_terms(p)
            parts.append(
                f"与你的兴趣没有直接的词面匹配,按整体相关度入选(关键词:{join(terms, 'zh')})"
                if zh
                else "no interest of yours matches it word for word; it was picked for "
                f"overall relevance (its terms: {join(terms, 'en')})"
            )
        if upvotes and not most_upvoted:
            parts.append(f"HF 上有 {upvotes} 个赞" if zh else f"{upvotes} upvotes on Hugging Face")
        if p.github_repo:
            only = self._with_code == 1 and len(self.picks) > 1
            if zh:
                parts.append("是今天唯一附代码的重点" if only else "附代码仓库")
            else:
                parts.append("the only pick with code today" if only else "code is linked")
        return sentence((",".join(parts)) if zh else "; ".join(parts), self.language)

    def glance(self, r: Ranked, line: str | None = None) -> str:
        """An other's one line: what the reader told us that put it here (or, in Chinese,
        that it is a benchmark or a dataset), then its telling sentence."""
        lead = self.evidence(r)
        title = clean_title(r.paper.title)
        if self.zh and not lead and line is None and (m := _NAMES_ITSELF.search(title)):
            lead = ["新评测" if m.group().lower().startswith("bench") else "新数据集"]
        head = ""
        if lead:
            head = f"{','.join(lead)}:" if self.zh else f"{sentence('; '.join(lead), 'en')} "
        limit = TAKEAWAY_CHARS - len(head)
        if line is not None:  # an LLM's sentence
            return head + shorten(line, limit)
        return head + takeaway(r.paper, self.language, limit)
