"""attachment: document stills a specialist kept with a session's record (issue 11, item 1)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('mime', sa.String(length=32), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id']),
        sa.ForeignKeyConstraint(['session_id'], ['call_session.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_attachment_session_id', 'attachment', ['session_id'])
    op.create_index('ix_attachment_municipality_id', 'attachment', ['municipality_id'])
    op.create_index('ix_attachment_created_at', 'attachment', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_attachment_created_at', 'attachment')
    op.drop_index('ix_attachment_municipality_id', 'attachment')
    op.drop_index('ix_attachment_session_id', 'attachment')
    op.drop_table('attachment')
