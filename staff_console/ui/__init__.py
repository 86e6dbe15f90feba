"""Widgets only: they render controller state and emit intents (no sockets, peers or database)."""
