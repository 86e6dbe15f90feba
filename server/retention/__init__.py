"""Retention (APPI): every kind of personal record is purged after its period, and each purge is audited
(counts, never content). records.py: the table of record types; run.py: one run; schedule.py: the daily run
inside the server."""
