"""Actors that ask the MES: tank-farm stock for bookings and for the products page."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.messaging import actor
from portal.models.logistics import Product, StockCheck
from portal.models.meta import utcnow
from portal.services import logistics


@actor("mes.check_stock", queue="mes", max_retries=20, min_backoff=2_000, max_backoff=300_000, time_limit=60_000, subject=StockCheck)
def check_stock(job, check_id):
    """Ask the MES for the booking's product stock, then accept or reject under the product lock."""
    check = job.db.get(StockCheck, check_id, options=[joinedload(StockCheck.booking)])
    stock = job.client("mes").stock_kg(check.booking.product_code)
    logistics.decide_stock(job.db, check, stock, job.policy(logistics.Policy))


@actor("mes.refresh_stock", queue="mes", max_retries=3, min_backoff=2_000, max_backoff=30_000, time_limit=60_000)
def refresh_stock(job):
    """Every product's current stock, for the products page."""
    now = utcnow()
    totals = job.client("mes").all_stock_kg()
    for product in job.db.scalars(select(Product)):
        if product.code in totals:
            product.stock_kg, product.stock_at = totals[product.code], now
