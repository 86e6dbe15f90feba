"""appointment: a slot staff booked, checked in at the kiosk by its reservation number (issue 12 item 3); a ticket's
due_at (an appointment's ticket is offered at its time, ahead of walk-ins)

Revision ID: 0015_appointments
Revises: 0014_confirmations
Create Date: 2026-12-05 22:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models

revision: str = '0015_appointments'
down_revision: str | None = '0014_confirmations'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', server.db.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'appointment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('starts_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('duration_min', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('number', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('checked_in_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', server.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['branch_id'], ['branch.id']),
        sa.ForeignKeyConstraint(['case_id'], ['resident_case.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id']),
        sa.ForeignKeyConstraint(['service_id'], ['service.id']),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('municipality_id', 'day', 'number', name='uq_appointment_number'),
    )
    for column in ('municipality_id', 'day', 'starts_at', 'staff_id', 'case_id', 'state'):
        op.create_index(f'ix_appointment_{column}', 'appointment', [column])


def downgrade() -> None:
    for column in ('municipality_id', 'day', 'starts_at', 'staff_id', 'case_id', 'state'):
        op.drop_index(f'ix_appointment_{column}', 'appointment')
    op.drop_table('appointment')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('due_at')
