"""How a pick relates to the reader, framed by what kind of paper it is, and why to read
it closely: what to look at, a different lead from paper to paper."""

from __future__ import annotations

from digest.extractive.base import WriterBase
from digest.extractive.phrasing import join, sentence
from digest.models import Ranked

__all__ = ["Relation"]


class Relation(WriterBase):
    """The relation of every pick and the reason to read a must-read closely."""

    def relation(self, r: Ranked) -> str:
        """How the paper relates to the reader: the matched interests and the paper's own
        terms, framed by what kind of paper it is."""
        p = r.paper
        zh = self.zh
        name = self.name(p)
        text = self.text(p)
        terms = self.own_terms(p, 2, interests=r.matched[:2])
        t = join(terms, self.language) if terms else name
        if not r.matched:
            return sentence(
                f"{name} 与你的兴趣没有明确的交集;它讨论的是 {t},可按需略读"
                if zh
                else f"{name} has no clear overlap with your interests; it is about {t}, "
                "worth a skim if that is close to your work",
                self.language,
            )
        lab = self.quoted_label(r.matched[0])
        second = self.quoted_label(r.matched[1]) if len(r.matched) > 1 else ""
        kind = text.kind
        if not terms and kind == "method":
            head = (
                f"{name} 与你关注的{lab}直接相关"
                if zh
                else f"{name} bears directly on your work on {lab}"
            )
            tail = (
                (f";它也连到{second}" if zh else f"; it also connects to {second}")
                if second
                else ""
            )
            return sentence(head + tail, self.language)
        if zh:
            head = {
                "survey": f"这是一篇关于“{text.survey}”的综述,可作为你在{lab}方向的地图,"
                f"重点梳理了 {t}",
                "benchmark": f"{name} 提供的是评测:可以用它检验你在{lab}方向的系统,"
                f"关注它如何考察 {t}",
                "dataset": f"{name} 提供的是数据:可用于你在{lab}方向的训练或评测,核心是 {t}",
                "analysis": f"{name} 是分析型工作:它对 {t} 的结论"
                f"可能直接影响你在{lab}方向的设计选择",
                "method": "",
            }[kind] or self._variant(
                "relation",
                [
                    f"在你关注的{lab}上,{name} 的切入点是 {t}",
                    f"如果你在做{lab},{name} 值得借鉴的是 {t}",
                    f"{name} 为{lab}带来的是 {t},可以对照你自己的做法",
                    f"{name} 用 {t} 处理{lab}中的问题",
                ],
            )
            tail = f";它也连到{second}" if second else ""
        else:
            head = {
                "survey": f"a survey of “{text.survey}”: a map for your work on {lab}, "
                f"organised around {t}",
                "benchmark": f"{name} is an evaluation: a way to test your systems for {lab}, "
                f"looking at {t}",
                "dataset": f"{name} is data: usable for training or evaluating {lab}, built "
                f"around {t}",
                "analysis": f"{name} is an analysis: what it finds about {t} bears on design "
                f"choices in {lab}",
                "method": "",
            }[kind] or self._variant(
                "relation",
                [
                    f"for your work on {lab}, {name} comes at it through {t}",
                    f"if you work on {lab}, the part of {name} to borrow is {t}",
                    f"what {name} brings to {lab} is {t}: worth setting against your own approach",
                    f"{name} tackles {lab} with {t}",
                ],
            )
            tail = f"; it also connects to {second}" if second else ""
        out = sentence(head + tail, self.language)
        group = self.group(p.paper_id)
        if group is not None and group.terms:
            mates = [
                self.name(m.paper)
                for m in (*self.picks, *self.others)
                if m.paper.paper_id in group.paper_ids and m.paper.paper_id != p.paper_id
            ]
            if mates:
                shared = join(list(group.terms[:2]), self.language)
                out += (
                    f"与同组的 {'、'.join(mates)} 都讨论 {shared},适合对照阅读。"
                    if zh
                    else f" Read it against {join(mates, 'en')}: both deal with {shared}."
                )
        return out

    def read_reason(self, r: Ranked) -> str:
        """Why to read this pick closely, in other words than its why-picked line and its
        relation: what to look at. The lead differs from paper to paper: the figures its
        abstract reports, a group mate to read it against, its kind (survey, benchmark,
        analysis), its code, else its method; a lead already used by an earlier reason of
        this brief is passed over when another applies."""
        p = r.paper
        zh = self.zh
        text = self.text(p)
        terms = self.own_terms(p, 1)
        focus = terms[0] if terms else self.name(p)
        leads: list[tuple[str, str]] = []
        if text.kind == "survey":
            leads.append(
                (
                    "survey",
                    f"一次补齐“{text.survey}”的全貌,先读它的分类框架,再挑与你相关的分支"
                    if zh
                    else f"it fills in the whole of “{text.survey}” at once: read its "
                    "taxonomy first, then the branches closest to your work",
                )
            )
        if text.kind == "benchmark":
            leads.append(
                (
                    "benchmark",
                    "看它的任务构造与评测指标,判断能否直接拿来评测你的系统"
                    if zh
                    else "read how its tasks and metrics are built, to judge whether it can "
                    "evaluate your own system",
                )
            )
        if text.figures:
            nums = join(list(text.figures[:2]), self.language)
            leads.append(
                (
                    "figures",
                    f"摘要报告了 {nums} 这样的具体结果,精读实验部分,核对 baseline 与设置"
                    if zh
                    else f"the abstract reports {nums}: read the experiments and check the "
                    "baselines and settings behind them",
                )
            )
        group = self.group(p.paper_id)
        mates = [
            self.name(m.paper)
            for m in self.picks
            if group is not None
            and m.paper.paper_id in group.paper_ids
            and m.paper.paper_id != p.paper_id
        ]
        if mates:
            leads.append(
                (
                    "group",
                    f"和 {'、'.join(mates)} 对照着读,看两者在 {focus} 上的做法有何不同"
                    if zh
                    else f"read it side by side with {join(mates, 'en')} and compare how "
                    f"each handles {focus}",
                )
            )
        if text.kind == "analysis":
            leads.append(
                (
                    "analysis",
                    f"它的结论关于 {focus},精读实验设计,看结论在什么条件下成立"
                    if zh
                    else f"its findings concern {focus}: read the experimental design to see "
                    "when they hold",
                )
            )
        if p.github_repo:
            leads.append(
                (
                    "code",
                    f"代码已公开,可以边读边跑,直接检验 {focus} 的效果"
                    if zh
                    else f"the code is public: run it while reading to test {focus} yourself",
                )
            )
        leads.append(
            (
                "method",
                f"精读方法部分:{focus} 具体怎么做、依赖哪些假设"
                if zh
                else f"read the method: how {focus} works and what it assumes",
            )
        )
        fresh = [lead for lead in leads if lead[0] not in self._leads_used]
        kind, text_out = (fresh or leads)[0]
        self._leads_used.add(kind)
        return sentence(text_out, self.language)
