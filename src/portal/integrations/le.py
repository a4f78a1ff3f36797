"""LE (物流管理系统) over our signed contract (docs/contract.md, "LE")."""

from .contract import ContractClient


def _iso(value):
    """A date or an aware instant as the contract writes it (ISO 8601), or None."""
    return value.isoformat() if value else None


class LeClient(ContractClient):
    """LE's endpoints; every method takes plain values, never our records."""

    label = "LE物流系统"

    def upsert_driver(
        self, *, driver_id, name, id_card_no, mobile, licence_no, qualification_no, qualification_expires_on, escort,
        idempotency_key,
    ):
        """``escort``: None, or a dict of name, id_card_no, qualification_no, qualification_expires_on."""
        if escort:
            escort = {**escort, "qualification_expires_on": _iso(escort["qualification_expires_on"])}
        payload = {
            "driver_id": driver_id, "name": name, "id_card_no": id_card_no, "mobile": mobile, "licence_no": licence_no,
            "qualification_no": qualification_no, "qualification_expires_on": _iso(qualification_expires_on),
            "escort": escort or None,
        }
        return self.write("/v1/drivers", payload, idempotency_key=idempotency_key)["driver_code"]

    def upsert_vehicle(
        self, *, vehicle_id, driver_id, plate_no, trailer_no, tank_capacity_kg, approved_products, transport_permit_no,
        tank_inspection_expires_on, active, idempotency_key,
    ):
        payload = {
            "vehicle_id": vehicle_id, "driver_id": driver_id, "plate_no": plate_no, "trailer_no": trailer_no,
            "tank_capacity_kg": tank_capacity_kg, "approved_products": approved_products,
            "transport_permit_no": transport_permit_no, "tank_inspection_expires_on": _iso(tank_inspection_expires_on),
            "active": active,
        }
        return self.write("/v1/vehicles", payload, idempotency_key=idempotency_key)["vehicle_code"]

    def report_entry(
        self, *, report_id, driver_id, vehicle_id, plate_no, trailer_no, driver_name, expected_on, purpose, idempotency_key
    ):
        payload = {
            "report_id": report_id, "driver_id": driver_id, "vehicle_id": vehicle_id, "plate_no": plate_no,
            "trailer_no": trailer_no, "driver_name": driver_name, "expected_on": _iso(expected_on), "purpose": purpose,
        }
        return self.write("/v1/entry-reports", payload, idempotency_key=idempotency_key)["report_no"]

    def register_booking(
        self, *, booking_id, kind, product_code, quantity_kg, driver_id, vehicle_id, plate_no, trailer_no,
        planned_arrival_at, expires_at,
    ):
        """The gate card number of the booking."""
        payload = {
            "booking_id": booking_id, "kind": kind, "product_code": product_code, "quantity_kg": quantity_kg,
            "driver_id": driver_id, "vehicle_id": vehicle_id, "plate_no": plate_no, "trailer_no": trailer_no,
            "planned_arrival_at": _iso(planned_arrival_at), "expires_at": _iso(expires_at),
        }
        # One registration per booking, however many messages ask for it.
        return self.write("/v1/bookings", payload, idempotency_key=f"booking-{booking_id}-register")["card_no"]

    def cancel_booking(self, booking_id, *, reason, note):
        payload = {"reason": reason, "note": note}
        self.write(f"/v1/bookings/{booking_id}/cancel", payload, idempotency_key=f"booking-{booking_id}-cancel")

    def sign_order(self, *, order_no, signed_quantity_kg, note, signed_at):
        payload = {"signed_quantity_kg": signed_quantity_kg, "note": note, "signed_at": _iso(signed_at)}
        self.write(f"/v1/outbound-orders/{order_no}/sign", payload, idempotency_key=f"signoff-{order_no}")

    def outbound_orders(self, driver_id):
        return self.read("/v1/outbound-orders", {"driver_id": driver_id})["orders"]

    def lanes(self):
        return self.read("/v1/lanes")["lanes"]
