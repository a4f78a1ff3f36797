"""LE 事件: what LE sent, filterable by result, conflicts first to the eye."""

import json
from functools import partial

from pyramid.view import view_config

from portal.forms import positive
from portal.models.logistics import LeEventResult
from portal.services.logistics import queries

from .. import Page
from . import PERMISSION

# -- LE 事件 ------------------------------------------------------------------------------------

#: What an operator filters LE's events by (a duplicate is only an answer, never a row).
EVENT_RESULTS = (LeEventResult.applied, LeEventResult.ignored, LeEventResult.conflict)


@view_config(route_name="admin.logistics.le_events", renderer="admin/logistics/le_events.html", permission=PERMISSION)
def le_events(request):
    filters = {key: request.params.get(key, "").strip() for key in ("result", "booking")}
    result = LeEventResult(filters["result"]) if filters["result"] in EVENT_RESULTS else None
    booking_id = positive(filters["booking"])
    query = queries.le_event_list(result=result, booking_id=booking_id if booking_id and booking_id < 2**63 else None)
    return {
        "page": Page(request, request.dbsession, query, per_page=50), "filters": filters, "results": EVENT_RESULTS,
        "as_json": partial(json.dumps, ensure_ascii=False),
    }
