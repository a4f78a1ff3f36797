"""Schemathesis against the API contract (portal/openapi.yaml) and the app served on 127.0.0.1.

Every operation that needs a login is fuzzed as a driver (profile, vehicle, bookings, an order),
as staff (a WeChat user who is no driver) and anonymously; mini-program login and LE's callback
once, without a token. All of it with positive and negative data and schemathesis's
checks: no 5xx, responses, status codes, content types and headers as documented, schema-invalid
data refused, schema-valid data accepted (see ``SERVICE_RULES``), authentication enforced.
LE's callback is fuzzed unsigned (always 401) and signed, so that its payload rules are reached.

The budget is small and derandomized for ``make test``; ``make fuzz`` raises it
(``PORTAL_FUZZ_MAX_EXAMPLES``) and adds the stateful phase (``PORTAL_FUZZ_STATEFUL``).
"""

import itertools
import os
import secrets
import time
import zlib
from datetime import timedelta

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.checks import missing_required_header

from portal import OPENAPI_SPEC
from portal.db import Transaction
from portal.integrations.contract import signature
from portal.models.identity import WeChatUser
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import entry_reports as entry_report_service
from portal.services.logistics import orders as order_service
from portal.services.logistics.policy import Policy
from portal.simulators import wechat as wechat_simulator
from portal.simulators.base import serve
from portal.timefmt import SHANGHAI

from ..conftest import _empty_all_tables
from ..support import factories
from ..support.testapp import build_app

MAX_EXAMPLES = int(os.environ.get("PORTAL_FUZZ_MAX_EXAMPLES", "15"))
ROLES = ("driver", "staff", "anonymous")
#: Who calls these is not a WeChat user: a bearer token means nothing there, so they are fuzzed once.
WITHOUT_LOGIN = ["loginMiniprogram", "receiveLeEvent"]

#: Operations whose services check more than the document can say (ID card check digits, dates
#: relative to today, known products and subscribe templates, stock and tank rules, WeChat's verdict on a code): a
#: schema-valid request may still be refused with 400 (or 422 for 装货人查验).
SERVICE_RULES = [
    "loginMiniprogram", "updateMe", "recordSubscriptions", "saveDriver", "addVehicle", "updateVehicle", "reportEntry", "createBooking", "signOrder",
]

CONFIG = schemathesis.Config.from_dict({
    "seed": 20261126,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    # Generation time depends on the machine's load; a stable run does not.
    "suppress-health-check": ["too_slow"],
    "operations": [
        {
            "include-operation-id": SERVICE_RULES,
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]}},
        },
        # LE's valid events keep to the document's text convention (no NUL), which JSON Schema
        # cannot state, so that they are accepted; the other operations get hostile text (see
        # _hostile) and refuse it. One operation, seven kinds of event: a larger share of the budget.
        {"include-operation-id": "receiveLeEvent", "generation": {"allow-x00": False, "codec": "utf-8", "max-examples": 4 * MAX_EXAMPLES}},
    ],
})

schema = schemathesis.openapi.from_path(OPENAPI_SPEC, config=CONFIG)


class Seeded:
    """What the fuzzed requests can find: tokens per role and the driver's records."""

    def __init__(self, url, session_factory, tokens, users, vehicle_id, booking_ids, driver_id, order_no):
        self.url, self.session_factory, self.tokens, self.users = url, session_factory, tokens, users
        self.vehicle_id, self.booking_ids, self.driver_id, self.order_no = vehicle_id, booking_ids, driver_id, order_no

    def headers(self, role, case):
        if role == "anonymous":
            return None
        token = self.tokens[role]
        if case.operation.label == "POST /api/auth/logout":
            # Logging out revokes the token: each logout gets one of its own.
            with Transaction(self.session_factory) as db:
                token = factories.token_for(db, db.get(WeChatUser, self.users[role]))
        return {"Authorization": f"Bearer {token}"}


def _seed(url, settings, engine, session_factory, broker):
    """Empty tables (ids restart) and queues, then the records every run starts from."""
    _empty_all_tables(engine)
    broker.flush_all()
    policy = Policy.from_settings(settings)
    with Transaction(session_factory) as db:
        factories.product(db)
        factories.product(db, "HCL31", "31%盐酸")
        driver = factories.driver(db)
        vehicle = driver.vehicles[0]
        arrival = (utcnow() + timedelta(hours=2)).isoformat()
        bookings = [
            booking_service.create_booking(db, driver, {"kind": kind, "product_code": "NAOH32", "quantity_kg": 20000,
                                                  "vehicle_id": vehicle.id, "planned_arrival_at": arrival}, policy)
            for kind in ("delivery", "pickup")
        ]
        order = order_service.record_order(db, {
            "order_no": "SO0001", "driver_id": driver.id, "booking_id": bookings[0].id, "product_code": "NAOH32",
            "planned_quantity_kg": 20000, "actual_quantity_kg": 19950,
        }, utcnow(), "seed", policy).order
        entry_report_service.report_entry(db, driver, {"vehicle_id": vehicle.id, "expected_on": _today(), "purpose": "提货"})
        staff = factories.wechat_user(db, staff=True)
        return Seeded(
            url, session_factory,
            tokens={"driver": factories.token_for(db, driver.user), "staff": factories.token_for(db, staff)},
            users={"driver": driver.user_id, "staff": staff.id},
            vehicle_id=vehicle.id, booking_ids=[b.id for b in bookings], driver_id=driver.id, order_no=order.order_no,
        )


@pytest.fixture(scope="module")
def portal(settings):
    """The app over HTTP, as the tests configure it (simulators on 127.0.0.1)."""
    served = serve(build_app(settings))
    # The fuzzer logs in far more often than WeChat's per-minute quota allows.
    quota = pytest.MonkeyPatch()
    quota.setattr(wechat_simulator, "JSCODE_MINUTE_QUOTA", 10**6)
    yield served.url
    quota.undo()
    served.close()


@pytest.fixture(scope="module")
def seeded(portal, settings, engine, session_factory, broker):
    yield _seed(portal, settings, engine, session_factory, broker)
    broker.flush_all()
    _empty_all_tables(engine)


def _today(days=0):
    return (utcnow().astimezone(SHANGHAI).date() + timedelta(days=days)).isoformat()


def _coin(case):
    """A stable number for the case (hash() of text changes between runs)."""
    return zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())


def _half(case):
    return _coin(case) % 2 == 0


def _realistic(case, seeded):
    """Half of the driver's positive cases get values that pass the services' own rules (check
    digits, dates relative to today, the seeded records), so that the fuzzed text and numbers
    around them reach the database; the other half stays as generated."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not _half(case):
        return
    body = case.body if isinstance(case.body, dict) else {}
    label = case.operation.label
    if label == "PUT /api/logistics/driver":
        body.update(id_card_no=factories.ID_CARD, mobile="13800000000", qualification_expires_on=_today(365))
        if isinstance(body.get("escort"), dict):
            body["escort"].update(id_card_no=factories.ID_CARD, qualification_expires_on=_today(365))
    elif label in ("POST /api/logistics/vehicles", "PUT /api/logistics/vehicles/{id}"):
        plate = f"闽A{zlib.crc32(repr(body).encode()) % 100_000:05d}"
        body.update(plate_no=plate, trailer_no="闽A1234挂", approved_products=["NAOH32"], tank_inspection_expires_on=_today(365))
    elif label == "POST /api/logistics/entry-reports":
        body.update(vehicle_id=seeded.vehicle_id, expected_on=_today(1))
    elif label == "POST /api/logistics/bookings":
        arrival = (utcnow() + timedelta(hours=2)).astimezone(SHANGHAI).isoformat()
        body.update(product_code="NAOH32", vehicle_id=seeded.vehicle_id, planned_arrival_at=arrival)
    if "id" in case.path_parameters:
        case.path_parameters["id"] = seeded.vehicle_id if "/vehicles/" in label else seeded.booking_ids[0]
    if "order_no" in case.path_parameters:
        case.path_parameters["order_no"] = seeded.order_no


#: Text a caller can send but the fuzzer's alphabet rarely draws: NUL, a lone surrogate (JSON
#: "\ud800"), something enormous.
HOSTILE_TEXT = ("名\x00字", "\ud800", "长" * 100_000)
#: Free-text fields the services store.
FREE_TEXT = ("display_name", "name", "licence_no", "qualification_no", "transport_permit_no", "purpose", "note", "product_code")


def _hostile(case):
    """Half of the positive cases carry one hostile text in their first free-text field."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    coin = _coin(case)
    if coin // 2 % 2:
        return
    for name in FREE_TEXT:
        if isinstance(case.body.get(name), str):
            case.body[name] = HOSTILE_TEXT[coin // 4 % len(HOSTILE_TEXT)]
            return


class LeSignature(requests.auth.AuthBase):
    """Signs the prepared request (its exact body bytes) as LE would."""

    def __init__(self, key, secret):
        self.key, self.secret = key, secret

    def __call__(self, request):
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        request.headers.update({
            "X-Portal-Key": self.key, "X-Portal-Timestamp": timestamp, "X-Portal-Nonce": nonce,
            "X-Portal-Signature": signature(self.secret, "POST", request.path_url, timestamp, nonce, request.body or b""),
        })
        return request


_event_numbers = itertools.count(1)


def _fresh_event(case, seeded):
    """A unique event id (else nearly every event is a duplicate), and in half of the positive
    cases the seeded booking and driver and an order number, so that events change what the
    driver then reads."""
    body = case.body
    if not isinstance(body, dict):
        return
    event_id = body.get("event_id")
    if isinstance(event_id, str) and 0 < len(event_id) <= 64:
        body["event_id"] = f"{event_id[:50]}-{next(_event_numbers)}"
    data = body.get("data")
    if case.meta is not None and case.meta.generation.mode.is_positive and isinstance(data, dict) and _half(case):
        number = next(_event_numbers)
        data.update(booking_id=seeded.booking_ids[number % len(seeded.booking_ids)], driver_id=seeded.driver_id)
        data.setdefault("order_no", f"SO-FUZZ-{number}")


# LE's events run first: the lanes, orders and booking states they leave are then read back
# through the driver's endpoints, whose answers are checked against the document. (Operations are
# picked with exclude(): schemathesis ORs include() with the per-operation entries of CONFIG.)
@schema.exclude(operation_id_regex="^(?!receiveLeEvent$)").parametrize()
def test_signed_le_events(case, seeded, settings):
    _fresh_event(case, seeded)
    # Valid placeholders: the signature replaces them, and header fuzzing is the unsigned run's.
    case.headers = {"X-Portal-Key": settings["portal.le_app_key"], "X-Portal-Timestamp": "0", "X-Portal-Nonce": "0",
                    "X-Portal-Signature": "0"}
    case.call_and_validate(
        base_url=seeded.url, auth=LeSignature(settings["portal.le_app_key"], settings["portal.le_app_secret"]),
        excluded_checks=[missing_required_header],  # the signature always adds them back
    )


@pytest.mark.parametrize("role", ROLES)
@schema.exclude(operation_id=WITHOUT_LOGIN).parametrize()
def test_api(case, role, seeded):
    if role == "driver":
        _realistic(case, seeded)
    _hostile(case)
    case.call_and_validate(base_url=seeded.url, headers=seeded.headers(role, case))


@schema.exclude(operation_id_regex=f"^(?!({'|'.join(WITHOUT_LOGIN)})$)").parametrize()
def test_api_without_login(case, seeded):
    case.call_and_validate(base_url=seeded.url)


if os.environ.get("PORTAL_FUZZ_STATEFUL"):

    def test_driver_workflows(seeded, settings, engine, session_factory, broker):
        """Sequences of the driver's calls along the links schemathesis infers (a vehicle's id into
        a booking, a booking's id into its cancellation …), with the stateful checks too."""

        class Workflow(schema.as_state_machine()):
            def setup(self):
                # Each scenario from the same state: what a step draws depends on earlier answers,
                # and Hypothesis replays scenarios.
                self.seeded = _seed(seeded.url, settings, engine, session_factory, broker)

            def before_call(self, case):
                _realistic(case, self.seeded)
                _hostile(case)

            def get_call_kwargs(self, case):
                return {"base_url": self.seeded.url, "headers": self.seeded.headers("driver", case)}

        Workflow.run(settings=hypothesis.settings(
            max_examples=MAX_EXAMPLES, stateful_step_count=10, derandomize=True, database=None, deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        ))
