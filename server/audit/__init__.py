"""The audit log: hash chain (chain.py), database guard (guard.py), verification (verify.py), retention purge
of its oldest rows (purge.py). Writing an event: :func:`server.db.audit.audit`."""
