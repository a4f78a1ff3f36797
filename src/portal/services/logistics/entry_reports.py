"""车辆入场报备: a vehicle's first-time report before it comes to the plant, pushed to LE."""

from sqlalchemy.orm import Session

from portal import outbox
from portal.forms import Form
from portal.models.logistics import Driver, EntryReport
from portal.timefmt import today

from .drivers import vehicle_of


def report_entry(db: Session, driver: Driver, data: dict) -> EntryReport:
    form = Form(data)
    vehicle_id = form.integer("vehicle_id", "车辆")
    expected_on = form.date("expected_on", "预计入场日期")
    purpose = form.text("purpose", "入场事由", max_len=200)
    if expected_on and expected_on < today():
        form.error("expected_on", "预计入场日期不能早于今天")
    form.done()
    vehicle = vehicle_of(db, driver, vehicle_id)
    report = EntryReport(driver_id=driver.id, vehicle=vehicle, expected_on=expected_on, purpose=purpose)
    db.add(report)
    db.flush()
    outbox.defer(db, "le.push_entry_report", report.id)
    return report


def for_le(report: EntryReport) -> dict:
    """The report as LE's client takes it."""
    vehicle = report.vehicle
    return {
        "report_id": report.id, "driver_id": report.driver_id, "vehicle_id": vehicle.id, "plate_no": vehicle.plate_no,
        "trailer_no": vehicle.trailer_no, "driver_name": vehicle.driver.name, "expected_on": report.expected_on,
        "purpose": report.purpose,
    }
