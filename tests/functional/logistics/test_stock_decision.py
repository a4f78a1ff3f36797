"""available = MES stock − active reservations; accept only if available − quantity ≥ threshold."""

from datetime import timedelta

from sqlalchemy import select

from portal.models.logistics import BookingStatus, StockCheck
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import stock as stock_service
from portal.services.logistics.policy import Policy

from ...support import factories


def _pickup(db, driver, quantity, policy):
    data = {"kind": "pickup", "product_code": "NAOH32", "quantity_kg": quantity, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat()}
    booking = booking_service.create_booking(db, driver, data, policy)
    return booking, db.scalars(select(StockCheck).where(StockCheck.booking_id == booking.id)).one()


def test_reservations_count_against_the_stock_and_rejections_carry_the_figures(db, settings):
    policy = Policy.from_settings(settings)
    driver = factories.driver(db)  # NAOH32: threshold 100 t
    first, check = _pickup(db, driver, 30_000, policy)
    stock_service.decide_stock(db, check, 159_999, policy)
    assert first.status is BookingStatus.registered and first.reserved_kg == 30_000
    assert (check.stock_kg, check.reserved_kg, check.accepted) == (159_999, 0, True)

    second, check = _pickup(db, driver, 30_000, policy)  # 159.999 − 30 − 30 < 100
    stock_service.decide_stock(db, check, 159_999, policy)
    assert second.status is BookingStatus.rejected and second.reserved_kg == 0
    assert "库存 159999 千克，已占用 30000 千克，本次 30000 千克，须保留 100000 千克" in second.reason
    assert second.events[-1].data == {"stock_kg": 159_999, "reserved_kg": 30_000, "available_kg": 129_999, "threshold_kg": 100_000}

    third, check = _pickup(db, driver, 29_999, policy)  # exactly at the threshold
    stock_service.decide_stock(db, check, 159_999, policy)
    assert third.status is BookingStatus.registered
    assert stock_service.reserved_kg(db, "NAOH32") == 59_999

    booking_service.cancel_booking(db, first, by="driver")
    assert stock_service.reserved_kg(db, "NAOH32") == 29_999


def test_a_check_answered_after_the_driver_cancelled_changes_nothing(db, settings):
    policy = Policy.from_settings(settings)
    booking, check = _pickup(db, factories.driver(db), 10_000, policy)
    booking_service.cancel_booking(db, booking, by="driver")
    stock_service.decide_stock(db, check, 10_000_000, policy)
    assert booking.status is BookingStatus.cancelled and booking.reserved_kg == 0


def test_expiry_releases_only_when_due_and_only_once(db, settings):
    policy = Policy.from_settings(settings)
    booking, check = _pickup(db, factories.driver(db), 10_000, policy)
    stock_service.decide_stock(db, check, 10_000_000, policy)
    assert not booking_service.expire_booking(db, booking.id, policy)  # not due yet
    later = booking.expires_at + timedelta(seconds=1)
    assert booking_service.expire_booking(db, booking.id, policy, now=later)
    assert not booking_service.expire_booking(db, booking.id, policy, now=later)
    assert booking.status is BookingStatus.expired and booking.reserved_kg == 0 and "退卡" in booking.reason
