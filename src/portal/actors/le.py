"""Actors that talk to LE: registrations, bookings and 退卡, sign-offs, documents, lanes."""

from datetime import datetime

from portal.messaging import actor
from portal.models.logistics import Booking, BookingStatus, Driver, EntryReport, Lane, OutboundOrder, Vehicle
from portal.models.meta import utcnow
from portal.services import logistics

#: Pushes keep trying for hours (LE may be down for maintenance); reads give up sooner.
PUSH = dict(queue="le", max_retries=20, min_backoff=2_000, max_backoff=600_000, time_limit=60_000)
READ = dict(queue="le", max_retries=3, min_backoff=2_000, max_backoff=30_000, time_limit=60_000)


@actor("le.sync_driver", **PUSH, subject=Driver)
def sync_driver(job, driver_id):
    """人员信息 → LE (upsert by our id)."""
    driver = job.db.get(Driver, driver_id)
    driver.mark_synced(job.client("le").upsert_driver(driver, idempotency_key=job.idempotency_key))


@actor("le.sync_vehicle", **PUSH, subject=Vehicle)
def sync_vehicle(job, vehicle_id):
    """车辆信息 → LE (upsert by our id)."""
    vehicle = job.db.get(Vehicle, vehicle_id)
    vehicle.mark_synced(job.client("le").upsert_vehicle(vehicle, idempotency_key=job.idempotency_key))


@actor("le.push_entry_report", **PUSH, subject=EntryReport)
def push_entry_report(job, report_id):
    """车辆入场报备 → LE."""
    report = job.db.get(EntryReport, report_id)
    report.mark_synced(job.client("le").report_entry(report, idempotency_key=job.idempotency_key))


@actor("le.sync_booking", **PUSH, subject=Booking)
def sync_booking(job, booking_id):
    """Bring LE up to date with the booking: register it, or cancel it (退卡).

    It reconciles rather than replays, so any number of these messages in any order leave
    LE with the booking's latest state.
    """
    booking = job.db.get(Booking, booking_id, with_for_update=True)
    le = job.client("le")
    ended = booking.status in (BookingStatus.cancelled, BookingStatus.expired)
    # A registration may have reached LE while le_state is still "none": its answer was lost
    # (a timeout, a worker killed before its commit). So a booking that was registered here —
    # only registration sets expires_at — is cancelled at LE once it ends, whatever le_state
    # says; LE answers the cancellation of a booking it never registered just the same.
    may_be_at_le = booking.le_state == "registered" or (booking.le_state == "none" and booking.expires_at is not None)
    if not ended and booking.status not in (BookingStatus.checking, BookingStatus.rejected) and booking.le_state == "none":
        booking.mark_synced(le.register_booking(booking))
        booking.le_state = "registered"
        logistics.add_event(booking, "le_registered", f"LE 已登记，卡号 {booking.external_ref}")
    elif ended and may_be_at_le:
        le.cancel_booking(booking, _cancel_reason(booking))
        booking.le_state = "cancelled"
        booking.mark_synced()
        logistics.add_event(booking, "le_cancelled", "LE 已退卡")
    else:
        booking.mark_synced()


def _cancel_reason(booking):
    """The contract's reason code: expired, or cancelled by whoever the timeline names."""
    if booking.status is BookingStatus.expired:
        return "expired"
    cancelled = [e for e in booking.events if e.kind == "cancelled"]
    by = (cancelled[-1].data or {}).get("by") if cancelled else None
    return "cancelled_by_admin" if by == "admin" else "cancelled_by_driver"


@actor("le.expire_booking", queue="le", max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=30_000)
def expire_booking(job, booking_id):
    """The moment a booking's reservation window ends (a delayed message)."""
    logistics.expire_booking(job.db, booking_id, job.policy(logistics.Policy))


@actor("le.push_signoff", **PUSH, subject=OutboundOrder)
def push_signoff(job, order_id):
    """到货签收 → LE: the sign quantity of the sales outbound order."""
    order = job.db.get(OutboundOrder, order_id)
    job.client("le").sign_order(order)
    order.mark_synced()


@actor("le.refresh_documents", **READ)
def refresh_documents(job, driver_id):
    """单据 from LE, on the driver's request."""
    for data in job.client("le").outbound_orders(driver_id):
        if data.get("driver_id") == driver_id:
            logistics.upsert_order(job.db, data, created_at=_parse(data.get("created_at")))


@actor("le.refresh_lanes", **READ)
def refresh_lanes(job):
    """装车道 and their queues from LE (periodic, besides the lane.changed events)."""
    now = utcnow()
    for data in job.client("le").lanes():
        lane = job.db.get(Lane, data["code"], with_for_update=True) or Lane(code=data["code"])
        logistics.apply_lane(job.db, lane, data, now)


def _parse(value):
    return datetime.fromisoformat(value) if value else None

