"""Golden tests: the offline sample brief, Chinese and English, exactly as a reader gets it.

The files in tests/golden/ were read by eye once and locked. A change to what the brief says
fails here; when the change is intended, regenerate them and read the diff:

    PAPERDROP_UPDATE_GOLDEN=1 uv run pytest tests/test_golden.py
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from bot.platforms.telegram.render import render_telegram
from bot.render.markdown import render_markdown
from digest.models import Language
from digest.pipeline import build_brief
from digest.profile import example_profile
from digest.sample import SAMPLE_DATE
from digest.settings import Settings
from digest.store.sqlite import SQLiteStore

GOLDEN = Path(__file__).parent / "golden"
NOW = dt.datetime(2026, 5, 8, 0, 30, tzinfo=dt.UTC)  # 08:30 in Asia/Shanghai


async def _sample(language: Language) -> str:
    store = await SQLiteStore.open(":memory:")
    try:
        settings = Settings(_env_file=None, llm_api_key=None)  # type: ignore[call-arg]
        brief = await build_brief(
            settings,
            example_profile(language),
            SAMPLE_DATE,
            store=store,
            sample=True,
            include_seen=True,
            now=lambda: NOW,
        )
    finally:
        await store.close()
    telegram = "\n\n---8<--- next message ---8<---\n\n".join(m.text for m in render_telegram(brief))
    return render_markdown(brief) + "\n\n=== as Telegram shows it ===\n\n" + telegram + "\n"


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_the_sample_brief_reads_as_locked(language: Language) -> None:
    got = await _sample(language)
    path = GOLDEN / f"sample-{language}.md"
    if os.environ.get("PAPERDROP_UPDATE_GOLDEN"):
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"missing {path}: run with PAPERDROP_UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")
