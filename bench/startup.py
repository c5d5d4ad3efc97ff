"""What a `paperdrop` command costs before it does anything: time and memory to start.

Runs each command in a fresh interpreter `--runs` times (in a temporary directory, with
an empty SQLite Store and no platform credentials) and prints, per command:

- wall: the fastest run's wall-clock seconds (the least disturbed by other processes);
- RSS: the process's peak resident memory (``ru_maxrss`` of the child, MiB);
- heavy: which of the slow-to-import third-party packages the command loaded (the
  platform SDKs, the job queue, numpy…): a command should load only what it uses.

    uv run python bench/startup.py [--runs 5] [--tree DIR]

`--tree DIR` measures another source tree (`git archive REV | tar -x -C DIR`) with this
environment, for a before/after.

The commands: `import bot.cli` alone, `paperdrop --help`, `paperdrop brief --sample`
(the offline sample brief, Markdown to a file).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = (
    "telegram",
    "slack_sdk",
    "slack_bolt",
    "lark_oapi",
    "Crypto",
    "aiohttp",
    "arq",
    "redis",
    "prometheus_client",
    "numpy",
    "rank_bm25",
    "snowballstemmer",
    "openai",
    "arxiv",
    "tomlkit",
    "pypdf",
)

# Runs the CLI as `paperdrop` does, then names the heavy packages it loaded (on stderr's
# last line, after the command's own output).
DRIVER = """
import atexit, sys
heavy = {heavy!r}
def report():
    loaded = [m for m in heavy if m in sys.modules]
    sys.stderr.write("\\nHEAVY " + ",".join(loaded) + "\\n")
atexit.register(report)
sys.argv = ["paperdrop", *sys.argv[1:]]
if sys.argv[1:] == ["--import-only"]:
    import bot.cli
else:
    from bot.cli import app
    app()
"""

COMMANDS: dict[str, list[str]] = {
    "import bot.cli": ["--import-only"],
    "paperdrop --help": ["--help"],
    "paperdrop brief --sample": ["brief", "--sample", "--output", "brief.md"],
}


def run_once(args: list[str], workdir: Path) -> tuple[float, float, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERDROP_", "OPENAI_"))}
    env["PAPERDROP_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER.format(heavy=HEAVY), *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{args}: exit {child.returncode}\n{stderr[-2000:]}")
    last = stderr.strip().splitlines()[-1]
    loaded = last.removeprefix("HEAVY ").split(",") if last.startswith("HEAVY") else []
    return wall, usage.ru_maxrss / 1024, [m for m in loaded if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--tree", type=Path, help="another source tree to measure (e.g. an older commit's)"
    )
    args = parser.parse_args()
    root = (args.tree or Path(__file__).resolve().parents[1]).resolve()
    print(f"{'command':28} {'wall (best)':>12} {'peak RSS':>10}  heavy packages loaded")
    for name, argv in COMMANDS.items():
        walls, rss_peak, loaded = [], 0.0, []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                # The child imports paperdrop from the source tree (as `uv run` does).
                os.environ["PYTHONPATH"] = str(root)
                wall, rss, loaded = run_once(argv, Path(tmp))
            walls.append(wall)
            rss_peak = max(rss_peak, rss)
        print(f"{name:28} {min(walls):>10.2f} s {rss_peak:>7.0f} MiB  {', '.join(loaded) or '—'}")


if __name__ == "__main__":
    main()
