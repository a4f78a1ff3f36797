"""Demo data for the embedded default (``portal migrate --demo``); safe to load twice."""

from sqlalchemy import func, select

from portal.models.ops import ConnectivityCheck
from portal.services.ops import request_connectivity_check
from portal.settings import CONTRACT_SYSTEMS


def load(db):
    """Returns a line per thing created, for the console."""
    created = []
    if not db.scalar(select(func.count()).select_from(ConnectivityCheck)):
        for system in CONTRACT_SYSTEMS:
            check = request_connectivity_check(db, system, requested_by="demo", note="演示数据")
            created.append(f"connectivity check #{check.id} → {system}")
    return created
