"""foundation: outbox, dead letters, periodic jobs, connectivity checks

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 23:23:12.256116
"""

import sqlalchemy as sa
from alembic import op

import portal.models.meta

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connectivity_checks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('system', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('requested_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connectivity_checks'))
    )
    with op.batch_alter_table('connectivity_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connectivity_checks_system'), ['system'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('queue_name', sa.String(length=100), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('eta', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatch_count', sa.Integer(), nullable=False),
    sa.Column('done_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dead_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failed_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_open', ['dispatched_at', 'id'], unique=False, postgresql_where=sa.text('done_at IS NULL AND dead_at IS NULL'), sqlite_where=sa.text('done_at IS NULL AND dead_at IS NULL'))

    op.create_table('periodic_jobs',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('interval_seconds', sa.Integer(), nullable=False),
    sa.Column('next_run_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_started_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_runner', sa.String(length=200), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('run_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_jobs'))
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('queue_name', sa.String(length=100), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('permanent', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'retried', 'discarded', name='deadletterstatus', native_enum=False, length=16), nullable=False),
    sa.Column('resolved_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_messages.id'], name=op.f('fk_dead_letters_outbox_id_outbox_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_actor_name'), ['actor_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_outbox_id'), ['outbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_status'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_outbox_id'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_actor_name'))

    op.drop_table('dead_letters')
    op.drop_table('periodic_jobs')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_open', postgresql_where=sa.text('done_at IS NULL AND dead_at IS NULL'), sqlite_where=sa.text('done_at IS NULL AND dead_at IS NULL'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('connectivity_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connectivity_checks_system'))

    op.drop_table('connectivity_checks')
