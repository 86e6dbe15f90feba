"""Audit hash chain (audit_event.seq, prev_hash, hash; existing rows chained in id order), audit checkpoints and
purge permits for the retention purge, the database guard (triggers refusing UPDATE/DELETE of audit rows), and
municipality.outside_supervision (supervisors of other municipalities may listen in; off)

Revision ID: 0005
Revises: 0008
Create Date: 2026-12-04 22:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.models
from server.audit import guard
from server.audit.chain import GENESIS, row_hash

revision: str = '0005'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_audit = sa.table(
    'audit_event', sa.column('id', sa.Integer), sa.column('at', server.db.models.UTCDateTime()),
    sa.column('actor', sa.String), sa.column('action', sa.String), sa.column('subject', sa.String),
    sa.column('detail', sa.JSON), sa.column('seq', sa.BigInteger), sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String),
)


def _chain_existing_rows() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_audit.c.id, _audit.c.at, _audit.c.actor, _audit.c.action, _audit.c.subject,
                                  _audit.c.detail).order_by(_audit.c.id)).all()
    prev = GENESIS
    for seq, (row_id, at, actor, action, subject, detail) in enumerate(rows, start=1):
        h = row_hash(seq, at, actor, action, subject or "", detail or {}, prev)
        conn.execute(sa.update(_audit).where(_audit.c.id == row_id).values(seq=seq, prev_hash=prev, hash=h,
                                                                             subject=subject or "",
                                                                             detail=detail or {}))
        prev = h


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('through_seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('last_at', server.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
        sa.UniqueConstraint('through_seq', name=op.f('uq_audit_checkpoint_through_seq')),
    )
    op.create_table(
        'audit_purge_permit',
        sa.Column('through_seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('through_seq', name=op.f('pk_audit_purge_permit')),
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f('ix_audit_event_seq'), ['seq'], unique=True)
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outside_supervision', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    for statement in guard.install(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in guard.remove(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.drop_column('outside_supervision')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_seq'))
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_table('audit_purge_permit')
    op.drop_table('audit_checkpoint')
