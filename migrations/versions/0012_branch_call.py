"""branch_call: a resident called a person at the branch from the kiosk (issue 12 item 6)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 02:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'branch_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kiosk_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('acked_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('acked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['acked_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id']),
        sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id']),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_branch_call_kiosk_id'), 'branch_call', ['kiosk_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_branch_call_kiosk_id'), table_name='branch_call')
    op.drop_table('branch_call')
