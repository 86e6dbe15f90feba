"""guest_invitation: one-time links for browser guests (issue 11, item 5)

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04 22:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0007'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'guest_invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('display_name', sa.String(length=64), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('refused_by', sa.String(length=16), nullable=True),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('left_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['invited_by_id'], ['staff.id'], name=op.f('fk_guest_invitation_invited_by_id_staff')),
        sa.ForeignKeyConstraint(['session_id'], ['call_session.id'],
                                name=op.f('fk_guest_invitation_session_id_call_session')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_guest_invitation')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_guest_invitation_token_hash')),
    )
    op.create_index(op.f('ix_guest_invitation_session_id'), 'guest_invitation', ['session_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_guest_invitation_session_id'), table_name='guest_invitation')
    op.drop_table('guest_invitation')
