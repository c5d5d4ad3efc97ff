"""How well the no-LLM ranking finds what a reader picked by hand, against plain BM25.

For every labelled day given (default: `tests/fixtures/labels-2026-05-08.json`, the hand
labels of the offline sample day for the example profile), ranks that day's candidates
for the labels' profile and prints, for paperdrop's ranking (`digest.ranking.rank`, no
LLM) and for two BM25 baselines that use the best interest only:

- P@5: the share of the labelled top five found in the ranking's first five (the issue's
  "2 of the curator's top picks in its top 5" is 0.40);
- P@5 shown: the share of the first five the reader would be shown at all ("picked");
- R-precision: with R the number of picked papers among the candidates, the share of the
  first R that were picked;
- ROC-AUC: the probability that a picked paper ranks above one that was not.

The baselines: "BM25 best interest" scores a paper by its best interest's BM25 score over
that interest's self-score (the normalisation rank() uses, not capped at 1: no breadth,
upvotes, code, recency or category); "BM25 raw best interest" by the plain BM25 score of
its best interest. Every ranking breaks ties by id, as rank() does.

A labels file is a JSON object::

    {"profile": "digest/data/example_profile.toml",
     "top": ["<id>", ... five, best first], "picked": ["<id>", ...],
     "date": "2026-05-08",                       # optional: else from labels-<date>.json
     "candidates": "hf-daily-2026-05-08.json",   # optional, see below
     "categories": "arxiv-categories-2026-05-08.json"}  # optional

Paths are tried beside the labels file, then from the repository root. `candidates` is a
Hugging Face `GET /api/daily_papers` answer; without it, `hf-daily-<date>.json` beside the
labels file is used (with `arxiv-categories-<date>.json` beside it, if there), and on the
sample day the sample brief's own candidates (`digest.pipeline.sample_candidates`). Keys
starting with "_" are comments.

    uv run --frozen python bench/ranking.py [LABELS.json ...] [--show N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.models import Paper  # noqa: E402
from digest.pipeline import SAMPLE_DATE, papers_of_day, sample_candidates  # noqa: E402
from digest.profile import Profile, load_profile  # noqa: E402
from digest.ranking import interest_scores, rank  # noqa: E402

DEFAULT_LABELS = ROOT / "tests" / "fixtures" / "labels-2026-05-08.json"
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")

Ranker = Callable[["LabelledDay"], list[str]]


@dataclass(frozen=True)
class LabelledDay:
    name: str
    date: dt.date
    papers: list[Paper]
    profile: Profile
    top: list[str]
    picked: list[str]


@dataclass(frozen=True)
class Scores:
    p_at_5: float
    p_at_5_shown: float
    r_precision: float
    roc_auc: float


def _find(name: str, beside: Path) -> Path:
    for base in (beside, ROOT):
        path = (base / name).resolve()
        if path.is_file():
            return path
    raise SystemExit(f"{name}: not found beside {beside} nor in {ROOT}")


def load_day(path: Path) -> LabelledDay:
    """A labels file and the candidates and profile it refers to."""
    data = json.loads(path.read_text(encoding="utf-8"))
    here = path.resolve().parent
    if "date" in data:
        day = dt.date.fromisoformat(data["date"])
    elif m := _DATE_IN_NAME.search(path.name):
        day = dt.date.fromisoformat(m.group(1))
    else:
        raise SystemExit(f"{path}: no 'date' and none in the file name")
    profile = load_profile(_find(data["profile"], here))
    if "candidates" in data or (here / f"hf-daily-{day}.json").is_file():
        source = _find(data.get("candidates", f"hf-daily-{day}.json"), here)
        cats_name = data.get("categories", f"arxiv-categories-{day}.json")
        cats_path = here / cats_name if "categories" not in data else _find(cats_name, here)
        cats = json.loads(cats_path.read_text("utf-8")) if cats_path.is_file() else {}
        papers = papers_of_day(json.loads(source.read_text(encoding="utf-8")), cats, day)
    elif day == SAMPLE_DATE:
        papers = sample_candidates(profile.language).papers
    else:
        raise SystemExit(f"{path}: no candidates for {day} (give 'candidates')")
    return LabelledDay(
        name=str(path.resolve().relative_to(ROOT))
        if path.resolve().is_relative_to(ROOT)
        else str(path),
        date=day,
        papers=papers,
        profile=profile,
        top=list(data["top"]),
        picked=list(data["picked"]),
    )


def evaluate(order: Sequence[str], day: LabelledDay) -> Scores:
    """The four figures for one ranking (ids, best first) of the day's candidates."""
    present = set(order)
    top = [p for p in day.top if p in present]
    picked = {p for p in day.picked if p in present} | set(top)
    head = order[:5]
    r = len(picked)
    positions = {pid: i for i, pid in enumerate(order)}
    pos = [positions[p] for p in picked]
    neg = [i for pid, i in positions.items() if pid not in picked]
    pairs = len(pos) * len(neg)
    auc = sum(1 for a in pos for b in neg if a < b) / pairs if pairs else float("nan")
    return Scores(
        p_at_5=sum(1 for p in head if p in top) / 5,
        p_at_5_shown=sum(1 for p in head if p in picked) / 5,
        r_precision=sum(1 for p in order[:r] if p in picked) / r if r else float("nan"),
        roc_auc=auc,
    )


def paperdrop_order(day: LabelledDay) -> list[str]:
    return [r.paper.paper_id for r in rank(day.papers, day.profile, today=day.date)]


def _best_interest_order(day: LabelledDay, *, normalise: bool) -> list[str]:
    papers = [p for p in day.papers if not p.withdrawn]
    columns = interest_scores(papers, day.profile.interests, cap=False, normalise=normalise)
    best = [max((col[i] for col in columns), default=0.0) for i in range(len(papers))]
    ranked = sorted(
        zip(best, (p.paper_id for p in papers), strict=True), key=lambda t: (-t[0], t[1])
    )
    return [pid for _, pid in ranked]


def bm25_order(day: LabelledDay) -> list[str]:
    """Best interest only, each interest's BM25 over its self-score."""
    return _best_interest_order(day, normalise=True)


def bm25_raw_order(day: LabelledDay) -> list[str]:
    """Best interest only, plain BM25 scores."""
    return _best_interest_order(day, normalise=False)


RANKINGS: dict[str, Ranker] = {
    "paperdrop (no LLM)": paperdrop_order,
    "BM25 best interest": bm25_order,
    "BM25 raw best interest": bm25_raw_order,
}


def _row(label: str, s: Scores) -> str:
    return (
        f"  {label:<24} {s.p_at_5:5.2f} {s.p_at_5_shown:10.2f} {s.r_precision:7.3f} "
        f"{s.roc_auc:8.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "labels",
        nargs="*",
        type=Path,
        default=[DEFAULT_LABELS],
        metavar="LABELS.json",
        help=f"labelled days (default: {DEFAULT_LABELS.relative_to(ROOT)})",
    )
    parser.add_argument("--show", type=int, default=0, metavar="N", help="list each top N")
    args = parser.parse_args(argv)
    header = f"  {'ranking':<24} {'P@5':>5} {'P@5 shown':>10} {'R-prec':>7} {'ROC-AUC':>8}"
    totals: dict[str, list[Scores]] = {name: [] for name in RANKINGS}
    for path in args.labels:
        day = load_day(path)
        print(
            f"{day.name}: {day.date}, {len(day.papers)} candidates, "
            f"{len(day.picked)} picked, top {len(day.top)}"
        )
        print(header)
        for name, ranker in RANKINGS.items():
            order = ranker(day)
            scores = evaluate(order, day)
            totals[name].append(scores)
            print(_row(name, scores))
            for i, pid in enumerate(order[: args.show], 1):
                mark = "top" if pid in day.top else ("picked" if pid in day.picked else "")
                title = next(p.title for p in day.papers if p.paper_id == pid)
                print(f"      {i:2}. {pid} {mark:<6} {title[:70]}")
    if len(args.labels) > 1:
        print(f"mean over {len(args.labels)} days")
        print(header)
        for name, runs in totals.items():
            n = len(runs)
            mean = Scores(
                p_at_5=sum(s.p_at_5 for s in runs) / n,
                p_at_5_shown=sum(s.p_at_5_shown for s in runs) / n,
                r_precision=sum(s.r_precision for s in runs) / n,
                roc_auc=sum(s.roc_auc for s in runs) / n,
            )
            print(_row(name, mean))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
