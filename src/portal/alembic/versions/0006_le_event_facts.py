"""le event facts: a visit as the facts LE reported, kept by when they happened

``visit_facts`` holds, per booking and kind of fact (entered, called, lane, loading, loaded,
quantity, order, exited), the report that occurred last; the booking's visit columns are
derived from it. Timeline lines keep when LE's report reached us (``received_at``) beside when
it happened (``at``); lanes keep the queue LE last listed; LE's events keep the booking they
name and why they were ignored or refused.

Existing rows are converted: each booking's stamps, lane, shipped quantity and latest order
become facts (``event_id`` ``migrated``) from which its status derives as it stands; its
order ships that quantity unless signed, and an order without one is 待发货 (``created``);
LE's timeline lines move to when they happened where the booking's stamps say it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import portal.models.meta

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MIGRATED = "migrated"
Instant = portal.models.meta.UTCDateTime

bookings = sa.table(
    'bookings', sa.column('id'), sa.column('status'), sa.column('created_at', Instant()), sa.column('entered_at', Instant()),
    sa.column('called_at', Instant()), sa.column('loaded_at', Instant()), sa.column('exited_at', Instant()),
    sa.column('lane_code'), sa.column('queue_position'), sa.column('actual_quantity_kg'),
)
orders = sa.table(
    'outbound_orders', sa.column('id'), sa.column('order_no'), sa.column('booking_id'), sa.column('status'),
    sa.column('created_at', Instant()), sa.column('shipped_at', Instant()), sa.column('actual_quantity_kg'),
)
facts = sa.table(
    'visit_facts', sa.column('booking_id'), sa.column('kind'), sa.column('occurred_at', Instant()), sa.column('event_id'),
    sa.column('value', sa.JSON(none_as_null=True)),
)
lanes = sa.table('lanes', sa.column('code'), sa.column('queue', sa.JSON()))

#: LE's timeline lines, and the booking stamp (or the order) that says when each happened.
LINE_TIMES = {
    'truck.entered': "SELECT entered_at FROM bookings WHERE bookings.id = booking_events.booking_id",
    'called': "SELECT called_at FROM bookings WHERE bookings.id = booking_events.booking_id",
    'truck.loaded': "SELECT loaded_at FROM bookings WHERE bookings.id = booking_events.booking_id",
    'truck.exited': "SELECT exited_at FROM bookings WHERE bookings.id = booking_events.booking_id",
    'order': "SELECT max(created_at) FROM outbound_orders WHERE outbound_orders.booking_id = booking_events.booking_id",
}
LE_LINES = (*LINE_TIMES, 'loading.started', 'late_event')

#: The booking each stored event names (an integer that fits a BIGINT).
EVENT_BOOKING = {
    'postgresql': "UPDATE le_events SET booking_id = (data->>'booking_id')::bigint"
                  " WHERE json_typeof(data->'booking_id') = 'number' AND data->>'booking_id' ~ '^[0-9]{1,18}$'",
    'sqlite': "UPDATE le_events SET booking_id = json_extract(data, '$.booking_id')"
              " WHERE json_type(data, '$.booking_id') = 'integer'",
}


def upgrade():
    op.create_table('visit_facts',
    sa.Column('booking_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(none_as_null=True), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_visit_facts_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('booking_id', 'kind', name=op.f('pk_visit_facts'))
    )
    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_at', portal.models.meta.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('lanes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue', sa.JSON(), nullable=True))

    with op.batch_alter_table('le_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_le_events_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_le_events_result_received_at', ['result', 'received_at'], unique=False)

    bind = op.get_bind()
    _convert_visits(bind)
    _convert_lanes(bind)
    op.execute(EVENT_BOOKING[bind.dialect.name])
    for kind in LE_LINES:
        op.execute(sa.text("UPDATE booking_events SET received_at = at WHERE kind = :kind").bindparams(kind=kind))
    for kind, when in LINE_TIMES.items():
        op.execute(sa.text(f"UPDATE booking_events SET at = ({when}) WHERE kind = :kind AND ({when}) IS NOT NULL").bindparams(kind=kind))


def _convert_visits(bind):
    latest_order = {}
    for order in bind.execute(sa.select(orders).where(orders.c.booking_id.is_not(None)).order_by(orders.c.created_at, orders.c.id)):
        latest_order[order.booking_id] = order
    visited = sa.or_(
        bookings.c.status.in_(['entered', 'loading', 'loaded', 'completed']), bookings.c.called_at.is_not(None),
        bookings.c.lane_code.is_not(None), bookings.c.actual_quantity_kg.is_not(None), bookings.c.id.in_(list(latest_order)),
    )
    rows, shipped = [], []
    for booking in bind.execute(sa.select(bookings).where(visited).order_by(bookings.c.id)):
        booking_facts, order = _facts_of(booking, latest_order.get(booking.id))
        rows += [{'booking_id': booking.id, 'kind': kind, 'occurred_at': at, 'event_id': MIGRATED, 'value': value}
                 for kind, (at, value) in booking_facts.items()]
        if order is not None and order.status != 'signed':
            quantity = booking_facts.get('quantity')
            shipped.append({
                'order_id': order.id, 'quantity': quantity[1] if quantity else None, 'at': quantity[0] if quantity else None,
                'new_status': 'shipped' if quantity and quantity[1] else 'created',
            })
    if rows:
        bind.execute(facts.insert(), rows)
    if shipped:
        bind.execute(
            orders.update().where(orders.c.id == sa.bindparam('order_id'))
            .values(actual_quantity_kg=sa.bindparam('quantity'), shipped_at=sa.bindparam('at'), status=sa.bindparam('new_status')),
            shipped,
        )
    # Orders no visit ships: 待发货 until they carry a quantity.
    bind.execute(orders.update().where(orders.c.status == 'shipped', sa.func.coalesce(orders.c.actual_quantity_kg, 0) == 0)
                 .values(status='created'))


def _facts_of(booking, order):
    """{kind: (occurred_at, value)} from which the booking's status derives as it stands; and
    the order its visit ships."""
    start = booking.entered_at or booking.called_at or booking.created_at
    found = {}
    if booking.entered_at or booking.status in ('entered', 'loading', 'loaded', 'completed'):
        found['entered'] = (booking.entered_at or start, None)
    if booking.called_at:
        found['called'] = (booking.called_at, None)
    if booking.lane_code:
        found['lane'] = (booking.called_at or start, booking.lane_code)
    if booking.status == 'loading':
        found['loading'] = (start, None)
    if booking.loaded_at or (booking.status in ('loaded', 'completed') and order is None):
        found['loaded'] = (booking.loaded_at or booking.exited_at or start, None)
    if order is not None:
        found['order'] = (order.created_at, order.order_no)
    quantity = booking.actual_quantity_kg if booking.actual_quantity_kg is not None else order and order.actual_quantity_kg
    if quantity is not None:
        found['quantity'] = (booking.loaded_at or (order and order.created_at) or booking.exited_at or start, quantity)
    if booking.exited_at or booking.status == 'completed':
        found['exited'] = (booking.exited_at or start, None)
    return found, order


def _convert_lanes(bind):
    queues = {}
    queued = sa.select(bookings).where(bookings.c.lane_code.is_not(None), bookings.c.queue_position.is_not(None))
    for booking in bind.execute(queued.order_by(bookings.c.queue_position)):
        entry = {'booking_id': booking.id, 'position': booking.queue_position, 'called': booking.called_at is not None}
        queues.setdefault(booking.lane_code, []).append(entry)
    for code, queue in queues.items():
        bind.execute(lanes.update().where(lanes.c.code == code).values(queue=queue))


def downgrade():
    with op.batch_alter_table('le_events', schema=None) as batch_op:
        batch_op.drop_index('ix_le_events_result_received_at')
        batch_op.drop_index(batch_op.f('ix_le_events_booking_id'))
        batch_op.drop_column('note')
        batch_op.drop_column('booking_id')

    with op.batch_alter_table('lanes', schema=None) as batch_op:
        batch_op.drop_column('queue')

    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.drop_column('received_at')

    op.drop_table('visit_facts')
