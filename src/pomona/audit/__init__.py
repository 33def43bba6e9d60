"""The audit log: every write across the server."""
