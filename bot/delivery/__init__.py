"""Delivering the brief: deliver one chat, build once, push to all, keep outcomes."""
