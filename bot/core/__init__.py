"""Contracts every room of bot/ shares: messages, ports, redaction, leases, metrics."""
