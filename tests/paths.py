"""Where the project's files are, for tests at any depth of tests/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HF_DAY = ROOT / "digest" / "data" / "hf-daily-2026-05-08.json"
