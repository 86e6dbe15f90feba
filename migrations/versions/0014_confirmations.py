"""form_confirmation: a form filled by the specialist and confirmed by the resident on the kiosk (issue 11 item 4)

Revision ID: 0014_confirmations
Revises: 0012
Create Date: 2026-12-05 23:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0014_confirmations'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'form_confirmation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('form_code', sa.String(length=32), nullable=False),
        sa.Column('form_version', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('sent_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('confirmed_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('kiosk_id', sa.Integer(), nullable=True),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('change_reason', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id']),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id']),
        sa.ForeignKeyConstraint(['sent_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['session_id'], ['call_session.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'form_code'),
    )
    op.create_index(op.f('ix_form_confirmation_session_id'), 'form_confirmation', ['session_id'], unique=False)
    op.create_index(op.f('ix_form_confirmation_municipality_id'), 'form_confirmation', ['municipality_id'],
                    unique=False)
    op.create_index(op.f('ix_form_confirmation_created_at'), 'form_confirmation', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_form_confirmation_created_at'), table_name='form_confirmation')
    op.drop_index(op.f('ix_form_confirmation_municipality_id'), table_name='form_confirmation')
    op.drop_index(op.f('ix_form_confirmation_session_id'), table_name='form_confirmation')
    op.drop_table('form_confirmation')
