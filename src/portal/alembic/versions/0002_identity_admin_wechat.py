"""identity admin wechat

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:31:13.789410
"""

import sqlalchemy as sa
from alembic import op

import portal.models.meta

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_login_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_login_attempts'))
    )
    with op.batch_alter_table('admin_login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_login_attempts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_login_attempts_ip'), ['ip'], unique=False)

    op.create_table('admin_users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('areas', sa.JSON(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_users')),
    sa.UniqueConstraint('username', name=op.f('uq_admin_users_username'))
    )
    op.create_table('wechat_menus',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('publish_requested_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('publish_requested_by', sa.String(length=32), nullable=True),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_menus'))
    )
    op.create_table('wechat_users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('oa_openid', sa.String(length=64), nullable=True),
    sa.Column('mp_openid', sa.String(length=64), nullable=True),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('display_name', sa.String(length=32), nullable=True),
    sa.Column('status', sa.Enum('active', 'disabled', name='userstatus', native_enum=False, length=16), nullable=False),
    sa.Column('is_staff', sa.Boolean(), nullable=False),
    sa.Column('first_login_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('login_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_users')),
    sa.UniqueConstraint('mp_openid', name=op.f('uq_wechat_users_mp_openid')),
    sa.UniqueConstraint('oa_openid', name=op.f('uq_wechat_users_oa_openid')),
    sa.UniqueConstraint('unionid', name=op.f('uq_wechat_users_unionid'))
    )
    op.create_table('admin_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('admin_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['admin_id'], ['admin_users.id'], name=op.f('fk_admin_sessions_admin_id_admin_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_admin_sessions_token_hash'))
    )
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_sessions_admin_id'), ['admin_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('wechat_session_key', sa.Text(), nullable=True),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['wechat_users.id'], name=op.f('fk_api_tokens_user_id_wechat_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('admin_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('admin_username', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['admin_id'], ['admin_users.id'], name=op.f('fk_audit_log_admin_id_admin_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_admin_id'), ['admin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('wechat_notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('template', 'subscribe', name='notificationkind', native_enum=False, length=16), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('url', sa.String(length=1024), nullable=True),
    sa.Column('page', sa.String(length=256), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['wechat_users.id'], name=op.f('fk_wechat_notifications_user_id_wechat_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_notifications'))
    )
    with op.batch_alter_table('wechat_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_notifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_notifications_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('wechat_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_notifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_wechat_notifications_created_at'))

    op.drop_table('wechat_notifications')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_admin_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_sessions_admin_id'))

    op.drop_table('admin_sessions')
    op.drop_table('wechat_users')
    op.drop_table('wechat_menus')
    op.drop_table('admin_users')
    with op.batch_alter_table('admin_login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_login_attempts_ip'))
        batch_op.drop_index(batch_op.f('ix_admin_login_attempts_at'))

    op.drop_table('admin_login_attempts')
