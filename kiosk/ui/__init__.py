"""Widgets only: render controller state, turn touches into controller intents. No sockets, peers or database."""
