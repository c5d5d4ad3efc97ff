"""The chat bot around the core: platforms, conversation, delivery, processes, CLI."""
