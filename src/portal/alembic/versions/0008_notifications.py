"""notifications: each sent once (dedupe key), mini-program subscriptions (one-time credits)

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-27 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import portal.models.meta

revision = '0008'
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wechat_notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_wechat_notifications_dedupe_key'), ['dedupe_key'])

    op.create_table('wechat_subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('updated_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['wechat_users.id'], name=op.f('fk_wechat_subscriptions_user_id_wechat_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_subscriptions')),
    sa.UniqueConstraint('user_id', 'template_id', name=op.f('uq_wechat_subscriptions_user_id'))
    )


def downgrade():
    op.drop_table('wechat_subscriptions')
    with op.batch_alter_table('wechat_notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_wechat_notifications_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')
