"""Database layer: one model module, one engine factory, one Alembic history."""
