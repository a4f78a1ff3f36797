"""LE (物流管理系统) over our signed contract (docs/contract.md, "LE")."""

from .contract import ContractClient


def _iso(value):
    """A date or an aware instant as the contract writes it (ISO 8601), or None."""
    return value.isoformat() if value else None


class LeClient(ContractClient):
    label = "LE物流系统"

    def upsert_driver(self, driver, *, idempotency_key):
        escort = None
        if driver.escort_name:
            escort = {
                "name": driver.escort_name,
                "id_card_no": driver.escort_id_card_no,
                "qualification_no": driver.escort_qualification_no,
                "qualification_expires_on": _iso(driver.escort_qualification_expires_on),
            }
        payload = {
            "driver_id": driver.id, "name": driver.name, "id_card_no": driver.id_card_no, "mobile": driver.mobile,
            "licence_no": driver.licence_no, "qualification_no": driver.qualification_no,
            "qualification_expires_on": _iso(driver.qualification_expires_on), "escort": escort,
        }
        return self.write("/v1/drivers", payload, idempotency_key=idempotency_key)["driver_code"]

    def upsert_vehicle(self, vehicle, *, idempotency_key):
        payload = {
            "vehicle_id": vehicle.id, "driver_id": vehicle.driver_id, "plate_no": vehicle.plate_no,
            "trailer_no": vehicle.trailer_no, "tank_capacity_kg": vehicle.tank_capacity_kg,
            "approved_products": vehicle.approved_products, "transport_permit_no": vehicle.transport_permit_no,
            "tank_inspection_expires_on": _iso(vehicle.tank_inspection_expires_on), "active": vehicle.active,
        }
        return self.write("/v1/vehicles", payload, idempotency_key=idempotency_key)["vehicle_code"]

    def report_entry(self, report, *, idempotency_key):
        vehicle = report.vehicle
        payload = {
            "report_id": report.id, "driver_id": report.driver_id, "vehicle_id": vehicle.id, "plate_no": vehicle.plate_no,
            "trailer_no": vehicle.trailer_no, "driver_name": vehicle.driver.name, "expected_on": _iso(report.expected_on),
            "purpose": report.purpose,
        }
        return self.write("/v1/entry-reports", payload, idempotency_key=idempotency_key)["report_no"]

    def register_booking(self, booking):
        payload = {
            "booking_id": booking.id, "kind": booking.kind.value, "product_code": booking.product_code,
            "quantity_kg": booking.quantity_kg, "driver_id": booking.driver_id, "vehicle_id": booking.vehicle_id,
            "plate_no": booking.vehicle.plate_no, "trailer_no": booking.vehicle.trailer_no,
            "planned_arrival_at": _iso(booking.planned_arrival_at), "expires_at": _iso(booking.expires_at),
        }
        # One registration per booking, however many messages ask for it.
        return self.write("/v1/bookings", payload, idempotency_key=f"booking-{booking.id}-register")["card_no"]

    def cancel_booking(self, booking, reason):
        self.write(f"/v1/bookings/{booking.id}/cancel", {"reason": reason, "note": booking.reason or ""},
                   idempotency_key=f"booking-{booking.id}-cancel")

    def sign_order(self, order):
        payload = {"signed_quantity_kg": order.signed_quantity_kg, "note": order.signed_note or "", "signed_at": _iso(order.signed_at)}
        self.write(f"/v1/outbound-orders/{order.order_no}/sign", payload, idempotency_key=f"signoff-{order.order_no}")

    def outbound_orders(self, driver_id):
        return self.read("/v1/outbound-orders", {"driver_id": driver_id})["orders"]

    def lanes(self):
        return self.read("/v1/lanes")["lanes"]
