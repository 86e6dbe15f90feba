"""call_session.media_seen_at: the last time either side reported on the call's media; the server ends a
call that nobody reports on for longer than MADOGUCHI_MEDIA_GRACE_S

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_seen_at', server.db.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.drop_column('media_seen_at')
