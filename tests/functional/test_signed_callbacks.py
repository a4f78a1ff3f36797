"""Our signed callback (LE's events) against the document's signature, made by a signer that
shares no code with ours (support.reference_signing)."""

import json

import pytest
from sqlalchemy import select

from portal.models.logistics import Lane

from ..support import reference_signing

PATH = "/api/le/events"


def _event(code):
    data = {"code": code, "name": "九号道", "status": "idle", "loading_count": 0, "waiting_count": 0, "queue": []}
    return json.dumps({"event_id": f"evt-{code}", "type": "lane.changed", "occurred_at": "2026-11-26T09:00:00+08:00",
                       "data": data}, ensure_ascii=False).encode()


def _post(testapp, settings, body, headers, status):
    return testapp.post(PATH, body, headers={"Content-Type": "application/json", **headers}, status=status)


def test_an_event_signed_as_the_document_says_is_applied(testapp, db, settings):
    body = _event("L9")
    _post(testapp, settings, body, reference_signing.headers(settings["portal.le_app_key"], settings["portal.le_app_secret"], "POST", PATH, body), 200)
    assert db.scalars(select(Lane.name).where(Lane.code == "L9")).one() == "九号道"


@pytest.mark.parametrize("signed_over", ["another secret", "another path", "another body"])
def test_an_event_signed_over_anything_else_is_refused(testapp, db, settings, signed_over):
    body = _event("L8")
    secret = settings["portal.le_app_secret"] + ("x" if signed_over == "another secret" else "")
    path = PATH + ("?x=1" if signed_over == "another path" else "")
    signed = _event("L7") if signed_over == "another body" else body
    refused = _post(testapp, settings, body, reference_signing.headers(settings["portal.le_app_key"], secret, "POST", path, signed), 401)
    assert refused.json["error"]["code"] == "AUTH_BAD_SIGNATURE"
    assert db.scalars(select(Lane).where(Lane.code == "L8")).all() == []
