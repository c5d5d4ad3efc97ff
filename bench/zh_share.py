"""How much of the offline zh brief is written in Chinese: the share of its letters that
are Chinese characters (CJK ideographs against CJK plus Latin letters), for the sample
brief as the terminal prints it (Markdown), and for the reference brief when its path is
given. The paper's own words stay English quotations; this measures how much of the
reading around them is Chinese.

    uv run --frozen python bench/zh_share.py [REFERENCE.md]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.render.markdown import render_markdown  # noqa: E402
from digest.pipeline import build_brief  # noqa: E402
from digest.profile import example_profile  # noqa: E402
from digest.sample import SAMPLE_DATE  # noqa: E402
from digest.settings import Settings  # noqa: E402
from digest.store.sqlite import SQLiteStore  # noqa: E402

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_QUOTED = re.compile(r"“[^”]*”")


def share(text: str) -> float:
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


async def sample_zh() -> str:
    store = await SQLiteStore.open(":memory:")
    try:
        brief = await build_brief(
            Settings(_env_file=None),  # type: ignore[call-arg]
            example_profile("zh"),
            SAMPLE_DATE,
            store=store,
            use_llm=False,
            sample=True,
            now=lambda: dt.datetime(2026, 5, 8, 0, 30, tzinfo=dt.UTC),
        )
    finally:
        await store.close()
    # Links and their addresses are code, not reading: count the visible text only.
    text = render_markdown(brief)
    return re.sub(r"\(<?https?://[^)>\s]+>?\)", "", text)


def main() -> int:
    text = asyncio.run(sample_zh())
    outside = _QUOTED.sub("", text)
    print(f"zh sample brief: {share(text):.0%} of its letters are Chinese")
    print(f"  outside the quotations of the papers' own words: {share(outside):.0%}")
    for path in sys.argv[1:]:
        print(f"{path}: {share(Path(path).read_text(encoding='utf-8')):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
