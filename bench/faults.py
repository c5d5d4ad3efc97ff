"""How paperdrop comes back from faults: for each, the time to recover and what was lost
and repeated (targets: 0 and 0).

Plays the fault suite's scenarios (tests/faults/scenarios.py) against real `paperdrop
serve` and `worker` processes, the local fakes of Telegram, Slack, Hugging Face and the
LLM, and a private append-only Redis (redis-server must be on PATH):

- Telegram down at boot, then up: time from Telegram answering to /readyz 200;
- a 5xx storm on Telegram's getUpdates while Slack answers: from the storm's end to
  /readyz 200;
- Redis crashed (SIGKILL) and restarted mid-push, serve + a worker: from Redis back to
  the push finished and the message sent during the outage answered;
- the LLM unreachable, 500, garbage, over its context, timing out: every command
  answered; warnings in the log (one per kind of failure);
- two termination signals at once (SIGINT+SIGINT, SIGINT+SIGTERM): one graceful stop;
- serve SIGKILLed while /paper waits for the LLM: from the restart to the answer;
- a 2 MB webhook body: 413, then the next update answered.

    uv run python bench/faults.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.harness import Outcome
from tests.faults.scenarios import SCENARIOS


async def play(names: list[str]) -> list[tuple[Outcome, float]]:
    results: list[tuple[Outcome, float]] = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"paperdrop-fault-{name}-") as tmp:
            started = time.monotonic()
            try:
                outcome = await SCENARIOS[name](Path(tmp))
            except Exception as exc:  # a scenario that could not finish: say so, go on
                traceback.print_exc()
                outcome = Outcome(name, None, -1, -1, [f"did not finish: {exc}"])
            results.append((outcome, time.monotonic() - started))
            print(f"· {outcome.fault}: done in {results[-1][1]:.1f} s", file=sys.stderr)
    return results


def table(results: list[tuple[Outcome, float]]) -> str:
    rows = [
        "| fault | recovered in | lost | repeated | notes |",
        "|---|---|---|---|---|",
    ]
    for outcome, _ in results:
        recovered = "—" if outcome.recovered_in is None else f"{outcome.recovered_in:.1f} s"
        notes = "; ".join(n.replace("|", "/").replace("\n", " ")[:120] for n in outcome.notes)
        rows.append(
            f"| {outcome.fault} | {recovered} | {outcome.lost} | {outcome.repeated} | {notes} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), default=list(SCENARIOS))
    args = parser.parse_args()
    started = time.monotonic()
    results = asyncio.run(play(args.only))
    print(table(results))
    bad = [o for o, _ in results if o.lost or o.repeated]
    print(
        f"\n{len(results)} faults in {time.monotonic() - started:.0f} s; "
        f"{len(bad)} lost or repeated something (target 0)"
    )
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
