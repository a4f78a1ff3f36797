"""智慧物流 admin pages, one module per subject; the lanes board and the booking and driver pages
refresh themselves (``*_live``, portal.views.admin.live)."""

from functools import partial

from portal import validation
from portal.services.logistics import drivers as driver_rules
from portal.timefmt import today

PERMISSION = "admin:logistics"


def people():
    """Template helpers: masked identifiers and expiry warnings as of today (Beijing)."""
    return {
        "mask_id_card": validation.mask_id_card,
        "mask_mobile": validation.mask_mobile,
        "expiry_warning": partial(driver_rules.expiry_warning, on=today()),
        "warning_days": driver_rules.EXPIRY_WARNING_DAYS,
    }

