"""Slack: Block Kit messages through slack_sdk; slack-bolt receives (Socket Mode or HTTP)."""

from bot.platforms.slack.adapter import SlackAdapter

__all__ = ["SlackAdapter"]
