"""Seed papers from a reference library: BibTeX and Zotero CSL-JSON as people export them,
broken entries included, and `paperdrop profile import`."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from digest.errors import ProfileError
from digest.library import read_library, reasons
from digest.reader import get_reader
from digest.store.sqlite import SQLiteStore
from tests.bot.cli.test_cli import env, run

__all__ = ["env", "run"]  # the CLI fixtures, used by name

BIBTEX = r"""
% Exported by a reference manager
@article{guo2025deepseek,
  title = {{DeepSeek-R1}: Incentivizing Reasoning Capability in {LLMs} via Reinforcement Learning},
  author = {Guo, Daya and Yang, Dejian and others},
  journal = {arXiv preprint arXiv:2501.12948},
  year = {2025}
}
@misc{shao2024deepseekmath,
  title = {DeepSeekMath: Pushing the Limits of Mathematical Reasoning},
  author = {Shao, Zhihong and Wang, Peiyi},
  eprint = {2402.03300},
  archivePrefix = {arXiv},
  primaryClass = {cs.CL},
  year = {2024}
}
@inproceedings{vaswani2017attention,
  title = {Attention is All you Need},
  booktitle = {NeurIPS},
  url = {https://arxiv.org/abs/1706.03762v7},
  year = {2017}
}
@article{jiang2023mistral,
  title = {Mistral 7B},
  doi = {10.48550/arXiv.2310.06825},
}
@article{silver2016go,
  title = {Mastering the game of Go with deep neural networks and tree search},
  journal = {Nature},
  doi = {10.1038/nature16961},
}
@book{sutton2018rl,
  title = {Reinforcement Learning: An Introduction},
  publisher = {MIT Press},
}
@article{maldacena1999,
  title = {The Large N Limit of Superconformal Field Theories},
  eprint = {hep-th/9711200},
}
@misc{broken,
  title = {A broken entry, author = {Nobody
@misc{dup, title = {DeepSeekMath again}, eprint = {arXiv:2402.03300v2}}
"""

CSL = [
    {
        "id": "http://zotero.org/users/1/items/ABC",
        "type": "article",
        "title": "DeepSeek-R1",
        "number": "arXiv:2501.12948",
        "URL": "http://arxiv.org/abs/2501.12948",
    },
    {"type": "article-journal", "title": "Mistral 7B", "DOI": "10.48550/arXiv.2310.06825"},
    {"type": "article-journal", "title": "AlphaGo", "DOI": "10.1038/nature16961"},
    {"type": "book", "title": "Reinforcement Learning: An Introduction"},
    {
        "type": "report",
        "title": "Attention",
        "container-title": "arXiv preprint arXiv:1706.03762",
    },
    "not an item",
]


def test_bibtex_keeps_the_entries_that_name_an_arxiv_paper() -> None:
    found = read_library(BIBTEX)
    assert found.ids == ["2501.12948", "2402.03300", "1706.03762", "2310.06825", "hep-th/9711200"]
    assert reasons(found.skipped) == {"DOI not on arXiv": 1, "no arXiv id": 1, "unreadable": 1}
    titles = {s.title for s in found.skipped}
    assert "Reinforcement Learning: An Introduction" in titles
    assert found.kept[0].title.startswith("DeepSeek-R1: Incentivizing")


@pytest.mark.parametrize("wrapped", [False, True])
def test_zotero_csl_json_keeps_arxiv_items(wrapped: bool) -> None:
    data: Any = {"items": CSL} if wrapped else CSL
    found = read_library(json.dumps(data))
    assert found.ids == ["2501.12948", "2310.06825", "1706.03762"]
    assert reasons(found.skipped) == {"DOI not on arXiv": 1, "no arXiv id": 1, "unreadable": 1}


@pytest.mark.parametrize("text", ["", "just some notes", '{"items": 3}'])
def test_what_is_neither_bibtex_nor_csl_json_is_refused(text: str) -> None:
    with pytest.raises(ProfileError):
        read_library(text)


PROFILE = """# my profile
name = "ada"
interests = ["LLM agents"]  # what I read
papers = ["2501.12948"]
"""


def test_profile_import_adds_papers_to_the_profile_file_and_says_what_it_skipped(
    run: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "refs.bib").write_text(BIBTEX, encoding="utf-8")
    profile = tmp_path / "me.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    result = run("profile", "import", "refs.bib", "--profile", str(profile))
    assert result.exit_code == 0, result.output
    assert "kept 6 of 9 entries" in result.output
    assert "skipped 3 (1 DOI not on arXiv, 1 no arXiv id, 1 unreadable)" in result.output
    assert "4 new of 5 papers added" in result.output
    text = profile.read_text(encoding="utf-8")
    assert "# what I read" in text  # the file's comments stay
    papers = tomllib.loads(text)["papers"]
    assert papers == ["2501.12948", "2402.03300", "1706.03762", "2310.06825", "hep-th/9711200"]
    again = run("profile", "import", "refs.bib", "--profile", str(profile))
    assert "0 new of 5 papers added" in again.output


def test_profile_import_into_a_chat_and_as_a_dry_run(
    run: Callable[..., Any], tmp_path: Path, env: dict[str, str | None]
) -> None:
    (tmp_path / "zotero.json").write_text(json.dumps(CSL), encoding="utf-8")
    dry = run("profile", "import", "zotero.json", "--dry-run")
    assert dry.exit_code == 0 and "kept 3 of 6 entries" in dry.output
    result = run("profile", "import", "zotero.json", "--chat", "telegram:42")
    assert result.exit_code == 0, result.output
    assert "3 new of 3 papers added to chat telegram:42" in result.output

    async def papers() -> list[str]:
        store = await SQLiteStore.open(str(env["PAPERDROP_SQLITE_PATH"]))
        try:
            return (await get_reader(store, "telegram:42")).papers
        finally:
            await store.close()

    assert asyncio.run(papers()) == ["2501.12948", "2310.06825", "1706.03762"]


def test_profile_import_refuses_what_it_cannot_use(run: Callable[..., Any], tmp_path: Path) -> None:
    assert run("profile", "import", "missing.bib").exit_code == 2
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    bad = run("profile", "import", "notes.txt")
    assert bad.exit_code == 2 and "neither BibTeX" in bad.output
    (tmp_path / "refs.bib").write_text(BIBTEX, encoding="utf-8")
    nowhere = run("profile", "import", "refs.bib")
    assert nowhere.exit_code == 2 and "--profile" in nowhere.output
