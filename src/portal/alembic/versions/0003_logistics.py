"""logistics

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 23:54:51.149148
"""

import sqlalchemy as sa
from alembic import op

import portal.models.meta

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lanes',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('loading_count', sa.Integer(), nullable=False),
    sa.Column('waiting_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_lanes'))
    )
    op.create_table('le_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_le_events'))
    )
    with op.batch_alter_table('le_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_le_events_received_at'), ['received_at'], unique=False)

    op.create_table('products',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('threshold_kg', sa.BigInteger(), nullable=False),
    sa.Column('reservation_minutes', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stock_kg', sa.BigInteger(), nullable=True),
    sa.Column('stock_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_products'))
    )
    op.create_table('drivers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('id_card_no', sa.String(length=18), nullable=False),
    sa.Column('mobile', sa.String(length=11), nullable=False),
    sa.Column('licence_no', sa.String(length=32), nullable=False),
    sa.Column('qualification_no', sa.String(length=32), nullable=False),
    sa.Column('qualification_expires_on', sa.Date(), nullable=False),
    sa.Column('escort_name', sa.String(length=32), nullable=True),
    sa.Column('escort_id_card_no', sa.String(length=18), nullable=True),
    sa.Column('escort_qualification_no', sa.String(length=32), nullable=True),
    sa.Column('escort_qualification_expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['wechat_users.id'], name=op.f('fk_drivers_user_id_wechat_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drivers')),
    sa.UniqueConstraint('user_id', name=op.f('uq_drivers_user_id'))
    )
    with op.batch_alter_table('drivers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drivers_id_card_no'), ['id_card_no'], unique=False)

    op.create_table('vehicles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plate_no', sa.String(length=16), nullable=False),
    sa.Column('trailer_no', sa.String(length=16), nullable=False),
    sa.Column('tank_capacity_kg', sa.Integer(), nullable=False),
    sa.Column('approved_products', sa.JSON(), nullable=False),
    sa.Column('transport_permit_no', sa.String(length=64), nullable=False),
    sa.Column('tank_inspection_expires_on', sa.Date(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_vehicles_driver_id_drivers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicles')),
    sa.UniqueConstraint('driver_id', 'plate_no', name=op.f('uq_vehicles_driver_id'))
    )
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicles_driver_id'), ['driver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicles_plate_no'), ['plate_no'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.Enum('pickup', 'delivery', name='bookingkind', native_enum=False, length=16), nullable=False),
    sa.Column('quantity_kg', sa.Integer(), nullable=False),
    sa.Column('planned_arrival_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('checking', 'registered', 'rejected', 'entered', 'loading', 'loaded', 'completed', 'cancelled', 'expired', name='bookingstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reserved_kg', sa.Integer(), nullable=False),
    sa.Column('expires_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('le_state', sa.String(length=16), nullable=False),
    sa.Column('actual_quantity_kg', sa.Integer(), nullable=True),
    sa.Column('lane_code', sa.String(length=16), nullable=True),
    sa.Column('queue_position', sa.Integer(), nullable=True),
    sa.Column('called_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entered_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('loaded_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exited_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_bookings_driver_id_drivers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_code'], ['products.code'], name=op.f('fk_bookings_product_code_products')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_bookings_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_bookings_driver_id_id', ['driver_id', 'id'], unique=False)
        batch_op.create_index('ix_bookings_expires_at', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'registered'"), sqlite_where=sa.text("status = 'registered'"))
        batch_op.create_index('ix_bookings_product_code_status', ['product_code', 'status'], unique=False)

    op.create_table('entry_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('expected_on', sa.Date(), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_entry_reports_driver_id_drivers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_entry_reports_vehicle_id_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_reports'))
    )
    with op.batch_alter_table('entry_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_reports_driver_id'), ['driver_id'], unique=False)

    op.create_table('booking_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('booking_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_events_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_events'))
    )
    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_events_booking_id'), ['booking_id'], unique=False)

    op.create_table('outbound_orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('booking_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('driver_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_code', sa.String(length=32), nullable=False),
    sa.Column('planned_quantity_kg', sa.Integer(), nullable=False),
    sa.Column('actual_quantity_kg', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('shipped_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_quantity_kg', sa.Integer(), nullable=True),
    sa.Column('signed_note', sa.String(length=200), nullable=True),
    sa.Column('signed_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_outbound_orders_booking_id_bookings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_outbound_orders_driver_id_drivers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_orders')),
    sa.UniqueConstraint('order_no', name=op.f('uq_outbound_orders_order_no'))
    )
    with op.batch_alter_table('outbound_orders', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_orders_driver_id_created_at', ['driver_id', 'created_at'], unique=False)

    op.create_table('stock_checks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('booking_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stock_kg', sa.BigInteger(), nullable=True),
    sa.Column('reserved_kg', sa.BigInteger(), nullable=True),
    sa.Column('threshold_kg', sa.BigInteger(), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=True),
    sa.Column('sync_state', sa.Enum('pending', 'synced', 'failed', name='syncstate', native_enum=False, length=16), nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('synced_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_stock_checks_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_checks'))
    )
    with op.batch_alter_table('stock_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_checks_booking_id'), ['booking_id'], unique=False)



def downgrade():
    with op.batch_alter_table('stock_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_checks_booking_id'))

    op.drop_table('stock_checks')
    with op.batch_alter_table('outbound_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_orders_driver_id_created_at')

    op.drop_table('outbound_orders')
    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_events_booking_id'))

    op.drop_table('booking_events')
    with op.batch_alter_table('entry_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_reports_driver_id'))

    op.drop_table('entry_reports')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_product_code_status')
        batch_op.drop_index('ix_bookings_expires_at', postgresql_where=sa.text("status = 'registered'"), sqlite_where=sa.text("status = 'registered'"))
        batch_op.drop_index('ix_bookings_driver_id_id')
        batch_op.drop_index(batch_op.f('ix_bookings_created_at'))

    op.drop_table('bookings')
    with op.batch_alter_table('vehicles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicles_plate_no'))
        batch_op.drop_index(batch_op.f('ix_vehicles_driver_id'))

    op.drop_table('vehicles')
    with op.batch_alter_table('drivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drivers_id_card_no'))

    op.drop_table('drivers')
    op.drop_table('products')
    with op.batch_alter_table('le_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_le_events_received_at'))

    op.drop_table('le_events')
    op.drop_table('lanes')
