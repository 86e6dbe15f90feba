"""kiosk_health: the latest health report of each kiosk (devices, RTT, software version) for the IT monitor
(issue 13)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'kiosk_health',
        sa.Column('kiosk_id', sa.Integer(), nullable=False),
        sa.Column('reported_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('app_version', sa.String(length=64), nullable=False),
        sa.Column('rtt_ms', sa.Float(), nullable=True),
        sa.Column('devices', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('kiosk_id'),
    )


def downgrade() -> None:
    op.drop_table('kiosk_health')
