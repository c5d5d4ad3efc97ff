"""The `paperdrop` command line (console script `paperdrop = bot.cli:app`)."""

from bot.cli.main import app

__all__ = ["app"]
