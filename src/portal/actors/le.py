"""Actors that talk to LE: registrations, bookings and 退卡, sign-offs, documents, lanes.

Each loads its record by id, calls LE's client and hands the answer to the logistics services.
"""

from portal.messaging import actor
from portal.models.logistics import Booking, Driver, EntryReport, OutboundOrder, Vehicle
from portal.models.meta import utcnow
from portal.services.logistics import bookings, drivers, entry_reports, lanes, orders
from portal.services.logistics.policy import Policy

#: Pushes keep trying for hours (LE may be down for maintenance); reads give up sooner.
PUSH = dict(queue="le", max_retries=20, min_backoff=2_000, max_backoff=600_000, time_limit=60_000)
READ = dict(queue="le", max_retries=3, min_backoff=2_000, max_backoff=30_000, time_limit=60_000)


@actor("le.sync_driver", **PUSH, subject=Driver)
def sync_driver(job, driver_id):
    """人员信息 → LE (upsert by our id)."""
    driver = job.db.get(Driver, driver_id)
    driver.mark_synced(job.client("le").upsert_driver(**drivers.for_le(driver), idempotency_key=job.idempotency_key))


@actor("le.sync_vehicle", **PUSH, subject=Vehicle)
def sync_vehicle(job, vehicle_id):
    """车辆信息 → LE (upsert by our id)."""
    vehicle = job.db.get(Vehicle, vehicle_id)
    vehicle.mark_synced(job.client("le").upsert_vehicle(**drivers.vehicle_for_le(vehicle), idempotency_key=job.idempotency_key))


@actor("le.push_entry_report", **PUSH, subject=EntryReport)
def push_entry_report(job, report_id):
    """车辆入场报备 → LE."""
    report = job.db.get(EntryReport, report_id)
    report.mark_synced(job.client("le").report_entry(**entry_reports.for_le(report), idempotency_key=job.idempotency_key))


@actor("le.sync_booking", **PUSH, subject=Booking)
def sync_booking(job, booking_id):
    """Bring LE up to date with the booking: register it, or cancel it (退卡)."""
    booking = job.db.get(Booking, booking_id, with_for_update=True)
    le = job.client("le")
    step = bookings.le_step(booking)
    if step == "register":
        bookings.registered_at_le(booking, le.register_booking(**bookings.for_le(booking)), job.policy(Policy))
    elif step == "cancel":
        le.cancel_booking(booking.id, reason=bookings.le_cancel_reason(booking), note=booking.reason or "")
        bookings.cancelled_at_le(booking)
    else:
        booking.mark_synced()


@actor("le.expire_booking", queue="le", max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=30_000)
def expire_booking(job, booking_id):
    """The moment a booking's reservation window ends (a delayed message)."""
    bookings.expire_booking(job.db, booking_id, job.policy(Policy))


@actor("le.push_signoff", **PUSH, subject=OutboundOrder)
def push_signoff(job, order_id):
    """到货签收 → LE: the sign quantity of the sales outbound order."""
    order = job.db.get(OutboundOrder, order_id)
    job.client("le").sign_order(**orders.signoff_for_le(order))
    order.mark_synced()


@actor("le.refresh_documents", **READ)
def refresh_documents(job, driver_id):
    """单据 from LE, on the driver's request."""
    orders.record_documents(job.db, driver_id, job.client("le").outbound_orders(driver_id), job.policy(Policy))


@actor("le.refresh_lanes", **READ)
def refresh_lanes(job):
    """装车道 and their queues from LE (periodic, besides the lane.changed events)."""
    lanes.record_lanes(job.db, job.client("le").lanes(), utcnow())
