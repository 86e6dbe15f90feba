"""Spoken guidance (「音声案内」) for the resident's screens, from offline engines: :mod:`kiosk.speech.guide`."""
