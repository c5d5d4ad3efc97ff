"""Platform-free rendering: layout of a document, splitting by limits, Markdown, HTML."""
