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


def test_reservations_count_against_the_stock_and_rejections_keep_the_figures_for_operators(db, settings):
    policy = Policy.from_settings(settings)
    # Three trucks (one may book a product once per window). NAOH32: threshold 100 t.
    first, check = _pickup(db, factories.driver(db), 30_000, policy)
    stock_service.decide_stock(db, check, 159_999, policy)
    assert first.status is BookingStatus.registered and first.reserved_kg == 30_000
    assert (check.stock_kg, check.reserved_kg, check.accepted) == (159_999, 0, True)

    second, check = _pickup(db, factories.driver(db), 30_000, policy)  # 159.999 − 30 − 30 < 100
    stock_service.decide_stock(db, check, 159_999, policy)
    assert second.status is BookingStatus.rejected and second.reserved_kg == 0
    # The driver reads that the product is short, in tonnes; the plant's figures are the operators'.
    assert second.reason == "32%液碱可用库存不足，本次 30 吨未能登记，请减少数量或改日再登记"
    assert not any(figure in event.message for event in second.events for figure in ("159999", "159.999", "129", "100 吨"))
    assert second.events[-1].data == {"stock_kg": 159_999, "reserved_kg": 30_000, "available_kg": 129_999, "threshold_kg": 100_000}
    assert [e.message for e in first.events][:2] == ["提交提货登记：32%液碱 30 吨", "库存核对通过"]

    third, check = _pickup(db, factories.driver(db), 29_999, policy)  # exactly at the threshold
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
