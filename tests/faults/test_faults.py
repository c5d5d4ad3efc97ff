"""The fault suite: real `paperdrop serve` and `worker` processes against the local fakes
and a private Redis (append-only), under the faults a bot must come back from by itself.
Each fault must lose nothing and repeat nothing; what the logs say is checked too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.faults.harness import Outcome
from tests.faults.scenarios import SCENARIOS

pytestmark = pytest.mark.faults


async def play(name: str, tmp_path: Path) -> Outcome:
    outcome = await SCENARIOS[name](tmp_path)
    assert outcome.lost == 0 and outcome.repeated == 0, outcome
    return outcome


async def test_a_platform_down_at_boot_comes_back_by_itself(tmp_path: Path) -> None:
    outcome = await play("platform_down_at_boot", tmp_path)
    assert outcome.recovered_in is not None
    assert outcome.notes == []  # /readyz named it; down and up logged once each


async def test_a_5xx_storm_on_one_platform_leaves_the_others_answering(tmp_path: Path) -> None:
    outcome = await play("telegram_5xx_storm", tmp_path)
    assert outcome.recovered_in is not None
    assert not any("not logged once" in n for n in outcome.notes)


async def test_redis_crashing_mid_push_loses_and_repeats_nothing(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        missing("needs redis-server on PATH (apt-get install redis-server)")
    outcome = await play("redis_restart_mid_push", tmp_path)
    assert "a process exited" not in outcome.notes
    assert not any("traceback" in n for n in outcome.notes), outcome.notes
    assert not any(" said " in n for n in outcome.notes), outcome.notes  # once per change


async def test_redis_down_at_boot_is_waited_for_not_a_restart_loop(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        missing("needs redis-server on PATH (apt-get install redis-server)")
    outcome = await play("redis_down_at_boot", tmp_path)
    assert outcome.notes == [], outcome.notes
    assert outcome.recovered_in is not None


async def test_every_command_answers_with_the_llm_failing_and_one_warning_per_kind(
    tmp_path: Path,
) -> None:
    outcome = await play("llm_failing", tmp_path)
    assert "/ideas did not say the LLM failed" not in outcome.notes
    [warnings] = [n for n in outcome.notes if "LLM warning(s)" in n]
    assert warnings.startswith("5 LLM warning(s) for 5 kinds of failure"), warnings


async def test_two_termination_signals_at_once_are_one_graceful_stop(tmp_path: Path) -> None:
    await play("two_signals_at_once", tmp_path)


async def test_a_sigkill_mid_answer_is_answered_once_after_the_restart(tmp_path: Path) -> None:
    outcome = await play("sigkill_while_answering", tmp_path)
    assert outcome.recovered_in is not None


async def test_an_oversized_webhook_body_gets_413(tmp_path: Path) -> None:
    outcome = await play("oversized_webhook_body", tmp_path)
    assert outcome.notes and outcome.notes[0].startswith("HTTP 413")
