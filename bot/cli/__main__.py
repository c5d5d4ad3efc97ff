"""`python -m bot.cli`: the same as the `paperdrop` console script."""

from bot.cli import app

app()
