"""The brief as a whole, written by rules: group headings, the day's themes counted and
named, the must-reads, the overview and the conclusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from digest.extractive.base import WriterBase
from digest.extractive.phrasing import join
from digest.grouping.groups import Group
from digest.grouping.themes import interest_counts
from digest.models import Ranked

__all__ = ["Overview"]

MUST_READ: Final = 3


class Overview(WriterBase):
    """The texts about the whole brief: headings, themes, overview and conclusion."""

    def group_heading(self, group: Group, members: Sequence[Ranked]) -> str:
        """The heading of a pick holding several papers: their names, then what they all
        share (the day's key phrases they use), else the interest they share."""
        names = [self.name(m.paper) for m in members]
        joined = " + ".join(names)
        terms = list(group.terms)
        lab = self.quoted_label(group.interest) if group.interest else ""
        n = len(members)
        if self.zh:
            count = {2: "两", 3: "三"}.get(n, str(n))
            if terms:
                under = f"(同属你关注的{lab})" if lab else ""
                return f"{joined} —— {count}篇都涉及 {'、'.join(terms)}{under}"
            if lab:
                return f"{joined} —— {count}篇同属你关注的{lab}"
            return f"{joined} —— {count}篇回答同一个问题"
        every = "both" if n == 2 else f"all {({3: 'three'}).get(n, str(n))}"
        if terms:
            under = f" (under your interest in {lab})" if lab else ""
            return f"{joined} — {every} on {join(terms, 'en')}{under}"
        if lab:
            return f"{joined} — {every} under your interest in {lab}"
        return f"{joined} — {every} answer one question"

    def theme_sentence(self) -> str:
        """The day's themes, counted and named: "Today's themes: 8 papers on RL, 3 on
        world models." (zh: "今天的主题:RL(8 篇)、world models(3 篇)。")."""
        found = self.themes()
        if not found:
            return ""
        if self.zh:
            parts = [f"{t.name}({len(t.paper_ids)} 篇)" for t in found]
            return f"今天的主题:{'、'.join(parts)}。"
        parts = [
            f"{len(t.paper_ids)} {'papers ' if i == 0 else ''}on {t.name}"
            for i, t in enumerate(found)
        ]
        return f"Today's {'themes' if len(parts) > 1 else 'theme'}: {join(parts, 'en')}."

    def _units(self) -> list[list[Ranked]]:
        """The picks as the brief shows them: each group together, singles alone."""
        units: list[list[Ranked]] = []
        done: set[str] = set()
        for r in self.picks:
            pid = r.paper.paper_id
            if pid in done:
                continue
            group = self.group(pid)
            if group is None:
                units.append([r])
                done.add(pid)
                continue
            members = [m for m in self.picks if m.paper.paper_id in group.paper_ids]
            units.append(members)
            done.update(m.paper.paper_id for m in members)
        return units

    def must_read(self) -> list[Ranked]:
        """Three picks to read closely: the first paper of each of the first picks."""
        return [unit[0] for unit in self._units()][:MUST_READ]

    def overview(self) -> str:
        zh = self.zh
        units = self._units()
        n_papers = len(self.picks)
        grouped = [u for u in units if len(u) > 1]
        if zh:
            pool = f"从 {self.candidates} 篇候选中" if self.candidates else ""
            head = (
                f"今天{pool}为你选出 {len(units)} 个重点"
                + (f"(共 {n_papers} 篇论文)" if n_papers != len(units) else "")
                + f",另有 {len(self.others)} 篇值得扫一眼。"
            )
        else:
            pool = f" from {self.candidates} candidates" if self.candidates else ""
            head = (
                f"Today{pool}: {len(units)} top picks"
                + (f" ({n_papers} papers)" if n_papers != len(units) else "")
                + f" and {len(self.others)} more worth a glance."
            )
        out = [head, self.theme_sentence()]
        if grouped:
            names = [" + ".join(self.name(m.paper) for m in u) for u in grouped]
            out.append(
                f"相关论文合并成组推荐:{';'.join(names)}。"
                if zh
                else f"Related papers are grouped into one pick: {'; '.join(names)}."
            )
        counts = list(interest_counts([*self.picks, *self.others]).items())[:3]
        if counts:
            if zh:
                parts = [f"{n} 篇最贴近{self.quoted_label(i)}" for i, n in counts]
                out.append(f"按你的兴趣看,{'、'.join(parts)}。")
            else:
                parts = [f"{n} closest to {self.label(i)}" for i, n in counts]
                out.append(f"By your interests: {join(parts, 'en')}.")
        else:
            out.append(
                "今天没有论文明确匹配你的兴趣,以下按整体相关度排序。"
                if zh
                else "No paper clearly matches your interests today; they are ordered by "
                "overall relevance."
            )
        return (" " if not zh else "").join(s for s in out if s)

    def conclusion(self) -> str:
        zh = self.zh
        must = self.must_read()
        if not must:
            return "今日没有入选论文。" if zh else "No papers were selected today."
        first = must[0]
        reason = (
            f"它最贴近{self.quoted_label(first.matched[0])}"
            if first.matched and zh
            else f"it is closest to your interest in {self.label(first.matched[0])}"
            if first.matched
            else ("它的整体相关度最高" if zh else "it ranks highest overall")
        )
        names = [self.name(r.paper) for r in must[1:]]
        out: list[str] = []
        if zh:
            out.append(f"建议先读 {self.name(first.paper)}:{reason}。")
            if names:
                out.append(f"接着读 {'、'.join(names)}。")
        else:
            out.append(f"Start with {self.name(first.paper)}: {reason}.")
            if names:
                out.append(f"Then read {join(names, 'en')}.")
        found = self.themes()[:2]
        if found:
            if zh:
                parts = [f"{t.name}({len(t.paper_ids)} 篇)" for t in found]
                out.append(f"今天的主线是 {'与 '.join(parts)}。")
            else:
                parts = [f"{t.name} ({len(t.paper_ids)} papers)" for t in found]
                lines = "main lines are" if len(parts) > 1 else "main line is"
                out.append(f"The day's {lines} {join(parts, 'en')}.")
        if self._with_code:
            out.append(
                f"{len(self.picks)} 篇重点论文中有 {self._with_code} 篇附代码,可以直接上手复现。"
                if zh
                else f"{self._with_code} of the {len(self.picks)} top-pick papers link code "
                "you can run."
            )
        return (" " if not zh else "").join(out)
