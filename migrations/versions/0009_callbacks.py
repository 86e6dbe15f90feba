"""callback: residents' requests to be phoned back (issue 12 item 4); the phone number is personal data with
a retention period (record type ``callback``)

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-05 02:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0009'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'callback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kiosk_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('band_part', sa.String(length=4), nullable=False),
        sa.Column('band_starts_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('band_ends_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by_id', sa.Integer(), nullable=True),
        sa.Column('claimed_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('closed_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id']),
        sa.ForeignKeyConstraint(['claimed_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id']),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id']),
        sa.ForeignKeyConstraint(['service_id'], ['service.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_callback_kiosk_id'), 'callback', ['kiosk_id'], unique=False)
    op.create_index(op.f('ix_callback_municipality_id'), 'callback', ['municipality_id'], unique=False)
    op.create_index(op.f('ix_callback_state'), 'callback', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_callback_state'), table_name='callback')
    op.drop_index(op.f('ix_callback_municipality_id'), table_name='callback')
    op.drop_index(op.f('ix_callback_kiosk_id'), table_name='callback')
    op.drop_table('callback')
