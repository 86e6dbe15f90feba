"""Auth (issue 10): staff.token_version, rotating refresh tokens (stored hashed), the kiosk self-check PIN hash

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('kiosk', schema=None) as batch_op:
        batch_op.add_column(sa.Column('selfcheck_pin_hash', sa.String(length=256), nullable=True))
    op.create_table(
        'refresh_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('family', sa.String(length=32), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('issued_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_token_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_token_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_token_staff_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_token_family'))
    op.drop_table('refresh_token')
    with op.batch_alter_table('kiosk', schema=None) as batch_op:
        batch_op.drop_column('selfcheck_pin_hash')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('token_version')
