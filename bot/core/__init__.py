"""Contracts every room of bot/ shares: messages, ports, retries, leases, metrics."""
