"""resident_case: a resident's continuing matter in one municipality (issue 12 item 2); sessions and tickets
link to it; a ticket keeps the case's last specialist it prefers, and until when

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 02:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'resident_case',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=24), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('contact', sa.String(length=128), nullable=False),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('municipality_id', 'number', name='uq_resident_case_number'),
        sa.UniqueConstraint('municipality_id', 'year', 'serial', name='uq_resident_case_serial'),
    )
    op.create_index('ix_resident_case_municipality_id', 'resident_case', ['municipality_id'])
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('preferred_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prefer_until', server.db.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_ticket_case_id', ['case_id'])
        batch_op.create_foreign_key('fk_ticket_case_id_resident_case', 'resident_case', ['case_id'], ['id'])
        batch_op.create_foreign_key('fk_ticket_preferred_staff_id_staff', 'staff', ['preferred_staff_id'], ['id'])
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_call_session_case_id', ['case_id'])
        batch_op.create_foreign_key('fk_call_session_case_id_resident_case', 'resident_case', ['case_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('call_session', schema=None) as batch_op:
        batch_op.drop_constraint('fk_call_session_case_id_resident_case', type_='foreignkey')
        batch_op.drop_index('ix_call_session_case_id')
        batch_op.drop_column('case_id')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_preferred_staff_id_staff', type_='foreignkey')
        batch_op.drop_constraint('fk_ticket_case_id_resident_case', type_='foreignkey')
        batch_op.drop_index('ix_ticket_case_id')
        batch_op.drop_column('prefer_until')
        batch_op.drop_column('preferred_staff_id')
        batch_op.drop_column('case_id')
    op.drop_index('ix_resident_case_municipality_id', 'resident_case')
    op.drop_table('resident_case')
