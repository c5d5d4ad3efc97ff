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
sample day the sample brief's own candidates (`digest.sample.sample_candidates`). Keys
starting with "_" are comments.

    uv run --frozen python bench/ranking.py [LABELS.json ...] [--show N] [--splits N]

Then the simulated reader (`--splits`, default 20): the day's candidates are split at
random into two halves; the reader votes on papers of the first half (👍 on a picked
one, 👎 on the rest: the hand labels are their taste), their model (`digest.learning`) is
trained on those votes, and the second half is ranked for them. Printed per condition
(0, 5, 10 and 20 votes drawn at random from the first half; the first half's picked
papers given as seed papers only; 20 votes with the model alone), as the mean, standard
deviation and range over the splits: P@5 (share of the first five that are picked),
R-precision and ROC-AUC on the second half, and how often the model was active (5
positives at least). Then the time to fit and apply one chat's model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.evidence import Evidence  # noqa: E402
from digest.learning import fit_reader  # noqa: E402
from digest.models import Paper  # noqa: E402
from digest.profile import Profile, load_profile  # noqa: E402
from digest.ranking import interest_scores, rank  # noqa: E402
from digest.sample import SAMPLE_DATE, papers_of_day, sample_candidates  # noqa: E402

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
    parser.add_argument("--splits", type=int, default=20, metavar="N", help="random splits")
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
    for path in args.labels:
        simulate(load_day(path), args.splits)
    return 0


# --- the simulated reader ---------------------------------------------------------------

VOTES = (0, 5, 10, 20)


@dataclass(frozen=True)
class Condition:
    name: str
    votes: int  # drawn at random from the first half
    seeds: bool = False  # the first half's picked papers as seed papers, no votes
    alone: bool = False  # the model's order alone, no interest ranking


CONDITIONS = (
    *(Condition(f"{n} votes", n) for n in VOTES),
    Condition("seed papers only", 0, seeds=True),
    Condition("20 votes, model alone", 20, alone=True),
)


def _half_scores(order: Sequence[str], picked: set[str]) -> tuple[float, float, float]:
    r = len(picked)
    positions = {pid: i for i, pid in enumerate(order)}
    pos = [positions[p] for p in picked]
    neg = [i for pid, i in positions.items() if pid not in picked]
    pairs = len(pos) * len(neg)
    auc = sum(1 for a in pos for b in neg if a < b) / pairs if pairs else float("nan")
    p5 = sum(1 for p in order[:5] if p in picked) / 5
    rprec = sum(1 for p in order[:r] if p in picked) / r if r else float("nan")
    return p5, rprec, auc


def _run(day: LabelledDay, cond: Condition, rng: random.Random) -> tuple[tuple[float, ...], bool]:
    papers = [p for p in day.papers if not p.withdrawn]
    rng.shuffle(papers)
    half = len(papers) // 2
    first, second = papers[:half], papers[half:]
    picked = set(day.picked) | set(day.top)
    voted = rng.sample(first, min(cond.votes, len(first)))
    liked = tuple(p.paper_id for p in voted if p.paper_id in picked)
    disliked = tuple(p.paper_id for p in voted if p.paper_id not in picked)
    seeds = tuple(p.paper_id for p in first if p.paper_id in picked) if cond.seeds else ()
    evidence = Evidence(seeds=seeds, liked=liked, disliked=disliked)
    reader = {p.paper_id: p for p in first}
    learned = fit_reader(second, reader, evidence)
    if cond.alone and learned is not None:
        scores = learned.scores
        order = sorted(scores, key=lambda pid: (-scores[pid], pid))
    else:
        ranked = rank(second, day.profile, today=day.date, learned=learned)
        order = [r.paper.paper_id for r in ranked]
    in_second = {p.paper_id for p in second} & picked
    return _half_scores(order, in_second), learned is not None


def _spread(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    sd = statistics.pstdev(values)
    return f"{mean:5.2f} ±{sd:4.2f} [{min(values):4.2f}–{max(values):4.2f}]"


# Where learning should matter: a reader who wrote one broad interest, not ten sharp ones.
VAGUE: Final = ["large language models"]


def simulate(day: LabelledDay, splits: int) -> None:
    print(
        f"\nsimulated reader on {day.name}: {splits} random splits in two halves; "
        "votes on the first, the second ranked"
    )
    _conditions(day, splits)
    vague = day.profile.model_copy(update={"interests": VAGUE})
    print(f"\nthe same reader with one broad interest written down ({VAGUE[0]!r})")
    _conditions(LabelledDay(**{**day.__dict__, "profile": vague}), splits)
    _timing(day)


def _conditions(day: LabelledDay, splits: int) -> None:
    print(f"  {'condition':<22} {'P@5':>24} {'R-precision':>24} {'ROC-AUC':>24} {'model on':>9}")
    for cond in CONDITIONS:
        rows: list[tuple[float, ...]] = []
        active = 0
        for split in range(splits):
            scores, on = _run(day, cond, random.Random(split))
            rows.append(scores)
            active += on
        cols = [[r[i] for r in rows if not math.isnan(r[i])] for i in range(3)]
        print(
            f"  {cond.name:<22} {_spread(cols[0])} {_spread(cols[1])} {_spread(cols[2])} "
            f"{active:>4}/{splits}"
        )


def _timing(day: LabelledDay, repeats: int = 20) -> None:
    """The time to fit one chat's model and rank the day with it: every further chat of the
    day, and the day's first (which counts the day's n-grams for all)."""
    papers = [p for p in day.papers if not p.withdrawn]
    picked = set(day.picked)
    for size in (len(papers), 4 * len(papers), 10 * len(papers)):
        # A bigger day: the same papers under other ids (the texts, hence the cost, grow).
        day_papers = [
            p.model_copy(update={"paper_id": f"{p.paper_id}.{k}"})
            for k in range(size // len(papers))
            for p in papers
        ]
        liked = tuple(p.paper_id for p in papers if p.paper_id in picked)[:10]
        disliked = tuple(p.paper_id for p in papers if p.paper_id not in picked)[:10]
        reader = {p.paper_id: p for p in papers}
        evidence = Evidence(liked=liked, disliked=disliked)
        fit_reader(papers, reader, evidence)  # imports scikit-learn
        start = time.process_time()
        fit_reader(day_papers, reader, evidence)  # the day's first chat counts its n-grams
        first = time.process_time() - start
        fits, ranks = [], []
        for _ in range(repeats):
            start = time.process_time()
            learned = fit_reader(day_papers, reader, evidence)
            fitted = time.process_time()
            rank(day_papers, day.profile, today=day.date, learned=learned)
            fits.append(fitted - start)
            ranks.append(time.process_time() - fitted)
        print(
            f"  time per chat, {len(day_papers)} candidates, 20 votes: model "
            f"{statistics.median(fits) * 1000:.0f} ms CPU (max {max(fits) * 1000:.0f}), "
            f"then its ranking {statistics.median(ranks) * 1000:.0f} ms (median of {repeats}); "
            f"the day's first chat {first * 1000:.0f} ms"
        )


if __name__ == "__main__":
    raise SystemExit(main())
