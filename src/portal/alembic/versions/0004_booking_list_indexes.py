"""booking list indexes: the admin list filtered by status, a page at a time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 00:40:00.000000
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_status_id', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_status_id')
