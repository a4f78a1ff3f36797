"""Actors that ask the MES: tank-farm stock for bookings and for the products page."""

from sqlalchemy.orm import joinedload

from portal.messaging import actor
from portal.models.logistics import StockCheck
from portal.services.logistics import stock
from portal.services.logistics.policy import Policy

READ = dict(queue="mes", min_backoff=2_000, time_limit=60_000)


@actor("mes.check_stock", **READ, max_retries=20, max_backoff=300_000, subject=StockCheck)
def check_stock(job, check_id):
    """Ask the MES for the booking's product stock, then accept or reject under the product lock."""
    check = job.db.get(StockCheck, check_id, options=[joinedload(StockCheck.booking)])
    stock.decide_stock(job.db, check, job.client("mes").stock_kg(check.booking.product_code), job.policy(Policy))


@actor("mes.refresh_stock", **READ, max_retries=3, max_backoff=30_000)
def refresh_stock(job):
    """Every product's current stock, for the products page."""
    stock.record_stock(job.db, job.client("mes").all_stock_kg())
