"""Platform-neutral commands: one module per command, registered in `handlers.registry`.

`load_commands()` imports them all (registration happens at import), so that the chats
and the CLI see the same registry.
"""

from __future__ import annotations

import importlib

__all__ = ["COMMAND_MODULES", "load_commands"]

# Registration order is the order /help lists them.
COMMAND_MODULES = (
    "handlers.paper",
    "handlers.ideas",
    "handlers.brief",
    "handlers.subscription",
    "handlers.interests",
    "handlers.watch",
    "handlers.help",
    "handlers.feedback",
    "handlers.ask",
)


def load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)
