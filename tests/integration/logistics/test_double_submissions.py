"""A phone's double tap and its retries, over HTTP against our app on PostgreSQL: two identical
``POST /api/logistics/bookings`` at the same moment, with one ``Idempotency-Key`` and without
one, book once. (The same races at the service level, also on SQLite: test_races.py.)"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from portal.db import Transaction
from portal.models.idempotency import IdempotentRequest
from portal.models.logistics import Booking
from portal.models.meta import utcnow
from portal.services import idempotency
from portal.simulators.base import serve
from portal.timefmt import SHANGHAI

from ...support import factories
from ...support.testapp import build_app

ROUNDS = 10


@pytest.fixture
def portal(settings, committed):
    served = serve(build_app(settings))
    yield served.url
    served.close()


def _truck(committed):
    """A driver's token, vehicle and booking; each round a driver of its own."""
    with Transaction(committed) as db:
        driver = factories.driver(db)
        token = factories.token_for(db, driver.user)
        arrival = (utcnow() + timedelta(hours=2)).astimezone(SHANGHAI).isoformat()
        payload = {"kind": "pickup", "product_code": "NAOH32", "quantity_kg": 10_000, "vehicle_id": driver.vehicles[0].id,
                   "planned_arrival_at": arrival}
        return driver.id, {"Authorization": f"Bearer {token}"}, payload


def _post_together(url, headers, payload):
    """The same POST twice, released at the same moment: both responses."""
    start = threading.Barrier(2)

    def post():
        start.wait(timeout=20)
        return requests.post(url + "/api/logistics/bookings", json=payload, headers=headers, timeout=15)

    with ThreadPoolExecutor(2) as pool:
        return [future.result() for future in [pool.submit(post) for _ in range(2)]]


def _bookings_of(committed, driver_id):
    with Transaction(committed) as db:
        return db.scalars(select(Booking.id).where(Booking.driver_id == driver_id)).all()


def test_two_posts_with_one_key_at_the_same_moment_book_once_and_answer_alike(portal, committed):
    for n in range(ROUNDS):
        driver_id, headers, payload = _truck(committed)
        first, second = _post_together(portal, headers | {"Idempotency-Key": f"tap-{n}"}, payload)
        assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
        assert first.content == second.content
        assert sorted(r.headers.get("Idempotent-Replayed", "") for r in (first, second)) == ["", "true"]
        assert _bookings_of(committed, driver_id) == [first.json()["booking"]["id"]]


def test_two_posts_without_a_key_at_the_same_moment_book_once(portal, committed):
    for _ in range(ROUNDS):
        driver_id, headers, payload = _truck(committed)
        answers = _post_together(portal, headers, payload)
        assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
        [booked] = [r.json()["booking"]["id"] for r in answers if r.status_code == 201]
        [refused] = [r.json()["error"] for r in answers if r.status_code == 409]
        assert refused["code"] == "duplicate_booking" and f"#{booked}" in refused["message"]
        assert _bookings_of(committed, driver_id) == [booked]


def test_the_purge_job_deletes_expired_keys_only(committed):
    with Transaction(committed) as db:
        user_id = factories.wechat_user(db).id
        for key, age in (("old", idempotency.KEPT_FOR + timedelta(seconds=1)), ("new", timedelta(hours=23))):
            db.add(IdempotentRequest(user_id=user_id, key=key, fingerprint="f", status=201, body="{}", created_at=utcnow() - age))
    assert idempotency.purge(committed) == 1
    with Transaction(committed) as db:
        assert db.scalars(select(IdempotentRequest.key)).all() == ["new"]
