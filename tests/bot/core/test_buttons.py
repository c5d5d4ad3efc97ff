"""Our buttons as a click brings them back (bot.core.buttons): one rule for every platform."""

from __future__ import annotations

import pytest

from bot.core.buttons import button_command, button_data, our_button, parse_button
from digest.chatstate import feedback_buttons
from handlers import load_commands

load_commands()  # the commands a click may run are the registered ones


def test_a_feedback_button_comes_back_as_it_was_made() -> None:
    up, down = feedback_buttons("2605.29559")
    assert button_data(up) == "fb|up:2605.29559"
    assert parse_button(button_data(up)) == ("fb", "up:2605.29559")
    assert parse_button(button_data(down)) == ("fb", "down:2605.29559")
    assert our_button("fb", "down:2605.29559") == ("fb", "down:2605.29559")


@pytest.mark.parametrize(
    ("action", "command"),
    [("fb", "feedback"), ("paper", "paper"), ("subscribe", None), ("lang", None), ("zz", None)],
)
def test_a_click_runs_feedback_or_a_command_for_everyone(action: str, command: str | None) -> None:
    assert button_command(action) == command


@pytest.mark.parametrize(
    "data",
    [
        None,
        42,
        "",
        "fb",  # no separator
        "fb|",  # no value
        "|up:2605.29559",  # no action
        "zz|1",  # an action nothing runs
        "subscribe|08:00",  # an admin-only command
        "FB|up:2605.29559",  # not as a Button writes it
        "fb|up 2605.29559",
        "fb|up:2605.29559\n",
        "fb|" + "9" * 41,  # longer than a value may be
    ],
)
def test_anything_else_is_not_ours(data: object) -> None:
    assert parse_button(data) is None


def test_two_fields_are_checked_as_one_string_is() -> None:
    assert our_button("fb", None) is None
    assert our_button(["fb"], "up:2605.29559") is None
    assert our_button("subscribe", "08:00") is None
