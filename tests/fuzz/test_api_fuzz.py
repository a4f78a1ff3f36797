"""Schemathesis against the API contract (portal/openapi.yaml) and the app served on 127.0.0.1.

Every operation that needs a login is fuzzed as a driver (profile, vehicle, bookings, an order),
as staff (a WeChat user who is no driver) and anonymously; mini-program login and LE's callback
once, without a token. All of it with positive and negative data and schemathesis's
checks: no 5xx, responses, status codes, content types and headers as documented, schema-invalid
data refused, schema-valid data accepted, authentication enforced.

Schema-valid is not always acceptable: the services check more than the document can say
(``SERVICE_RULES``). So half of the driver's positive cases (and of the logins) are made
*realistic*: the values a rule would refuse are replaced by ones it accepts (check digits, dates
relative to today, a plate of its own …), the fuzzed values that pass are kept, and the case
runs on records of its own (a driver with a vehicle, a booking, an order) that no other case
can have removed or changed. A realistic case must be answered 2xx — unless it also carries
hostile text (``_hostile``), which must be refused.
LE's callback is fuzzed unsigned (always 401) and signed, so that its payload rules are reached.

The budget is small and derandomized for ``make test``; ``make fuzz`` raises it
(``PORTAL_FUZZ_MAX_EXAMPLES``) and adds the stateful phase (``PORTAL_FUZZ_STATEFUL``).
"""

import itertools
import os
import re
import secrets
import time
import zlib
from dataclasses import dataclass
from datetime import timedelta

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.checks import missing_required_header

from portal import OPENAPI_SPEC, validation
from portal.db import Transaction
from portal.integrations.contract import signature
from portal.models.identity import WeChatUser
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics import drivers as driver_service
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

    def __init__(self, url, session_factory, policy, tokens, users, vehicle_id, booking_ids, driver_id, order_no):
        self.url, self.session_factory, self.policy, self.tokens, self.users = url, session_factory, policy, tokens, users
        self.vehicle_id, self.booking_ids, self.driver_id, self.order_no = vehicle_id, booking_ids, driver_id, order_no

    def headers(self, role, case, own=None):
        if role == "anonymous":
            return None
        token = own.token if own is not None else self.tokens[role]
        if case.operation.label == "POST /api/auth/logout" and own is None:
            # Logging out revokes the token: each logout gets one of its own.
            with Transaction(self.session_factory) as db:
                token = factories.token_for(db, db.get(WeChatUser, self.users[role]))
        return {"Authorization": f"Bearer {token}"}

    def own(self):
        """Records of a realistic case's own, through the services: a driver (and a token for
        it) with a vehicle holding a registered delivery, a spare vehicle, a shipped order."""
        with Transaction(self.session_factory) as db:
            driver = factories.driver(db)
            vehicle = driver.vehicles[0]
            spare = driver_service.add_vehicle(db, driver, factories.vehicle_payload(plate_no="闽A54321"))
            booking = booking_service.create_booking(db, driver, {
                "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": vehicle.id,
                "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat()}, self.policy)
            # The order ships another booking (a day later): the first one stays cancellable.
            shipped = booking_service.create_booking(db, driver, {
                "kind": "delivery", "product_code": "NAOH32", "quantity_kg": 20000, "vehicle_id": vehicle.id,
                "planned_arrival_at": (utcnow() + timedelta(hours=30)).isoformat()}, self.policy)
            order = order_service.record_order(db, {
                "order_no": f"SO-OWN-{driver.id}", "driver_id": driver.id, "booking_id": shipped.id, "product_code": "NAOH32",
                "planned_quantity_kg": 20000, "actual_quantity_kg": 19950,
            }, utcnow(), "seed", self.policy).order
            return Own(factories.token_for(db, driver.user), vehicle.id, spare.id, booking.id, order.order_no)


@dataclass
class Own:
    token: str
    vehicle_id: int
    spare_vehicle_id: int
    booking_id: int
    order_no: str


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
        entry_report_service.report_entry(db, driver, {"vehicle_id": vehicle.id, "expected_on": factories.in_days(), "purpose": "提货"})
        staff = factories.wechat_user(db, staff=True)
        return Seeded(
            url, session_factory, policy,
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


def _coin(case):
    """A stable number for the case (hash() of text changes between runs)."""
    return zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())


def _half(case):
    return _coin(case) % 2 == 0


def _visible(text):
    """``text`` without what no column can store and what the services refuse in free text:
    invisible control, format and private-use characters (portal.validation.hidden_characters)."""
    return "".join(c for c in UNSTORABLE.sub("", text) if not validation.hidden_characters(c))


def _text(value, fallback, max_len):
    """The fuzzed text if a service takes it (what is left of it without characters it refuses,
    cut to ``max_len``), else ``fallback``."""
    text = _visible(value).strip()[:max_len].strip() if isinstance(value, str) else ""
    return text or fallback


def _name(value, fallback):
    """The fuzzed name if it is a person's name the services take (portal.validation.name_ok),
    else ``fallback``."""
    name = validation.normalise_name(_text(value, "", 32))
    return name if validation.name_ok(name) else fallback


def _storable(value):
    """``value`` without the characters no text column can store or the services refuse, in its keys too."""
    if isinstance(value, str):
        return _visible(value)
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _realistic(case, seeded):
    """Make half of the positive cases acceptable to the services (see the module's docstring);
    returns the case's own records, or None when the case is left as generated."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not _half(case):
        return None
    own = seeded.own()
    if isinstance(case.body, dict):
        case.body = _storable(case.body)
    body = case.body if isinstance(case.body, dict) else {}
    label = case.operation.label
    if label == "PATCH /api/me" and "display_name" in body:
        body["display_name"] = _text(body["display_name"], "张师傅", 32)
    elif label == "PUT /api/logistics/driver":
        body.update(
            # A person of its own: an ID number is one driver's.
            name=_name(body.get("name"), "张三"), id_card_no=factories.unique_id_card(), mobile="13800000000",
            licence_no=_text(body.get("licence_no"), "350102199001011234", 32),
            qualification_no=_text(body.get("qualification_no"), "3501002024000123", 32),
            qualification_expires_on=factories.in_days(365),
        )
        if body.get("escort"):
            escort = body["escort"]
            escort.update(name=_name(escort.get("name"), "李四"), id_card_no=factories.ID_CARD,
                          qualification_no=_text(escort.get("qualification_no"), "3501002024000124", 32),
                          qualification_expires_on=factories.in_days(365))
    elif label == "POST /api/me/subscriptions":
        # What wx.requestSubscribeMessage answers for the templates this portal knows.
        known = [value for name, value in vars(seeded.policy).items() if name.startswith("subscribe_") and value]
        body["results"] = dict.fromkeys(known[:1 + _coin(case) % len(known)], "accept")
    elif label in ("POST /api/logistics/vehicles", "PUT /api/logistics/vehicles/{id}"):
        capacity = body.get("tank_capacity_kg")
        body.update(
            plate_no="闽B12345", trailer_no="闽A1234挂", approved_products=["NAOH32"],
            tank_capacity_kg=capacity if isinstance(capacity, int) and not isinstance(capacity, bool) and 1 <= capacity <= 100_000 else 30000,
            transport_permit_no=_text(body.get("transport_permit_no"), "闽交运管榕字350100123456号", 64),
            tank_inspection_expires_on=factories.in_days(365),
        )
    elif label == "POST /api/logistics/entry-reports":
        body.update(vehicle_id=own.vehicle_id, expected_on=factories.in_days(1), purpose=_text(body.get("purpose"), "提货", 200))
    elif label == "POST /api/logistics/bookings":
        quantity = body.get("quantity_kg")
        # Clear of the own records' bookings (2 h and 30 h ahead): one per truck and time window.
        arrival = (utcnow() + timedelta(hours=60)).astimezone(SHANGHAI).isoformat()
        body.update(product_code="NAOH32", vehicle_id=own.vehicle_id, planned_arrival_at=arrival,
                    quantity_kg=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity <= 30000 else 20000)
    elif label == "POST /api/logistics/orders/{order_no}/sign":
        body.update(signed_quantity_kg=19950)
        if body.get("note") is not None:
            body["note"] = _text(body["note"], "客户已签", 200)
    if "id" in case.path_parameters:
        case.path_parameters["id"] = {
            "PUT /api/logistics/vehicles/{id}": own.vehicle_id, "DELETE /api/logistics/vehicles/{id}": own.spare_vehicle_id,
        }.get(label, own.booking_id)
    if "order_no" in case.path_parameters:
        case.path_parameters["order_no"] = own.order_no
    return own


def _accepted(response, case):
    assert 200 <= response.status_code < 300, (
        f"a realistic {case.operation.label} was refused: {response.status_code} {response.text[:500]}\n{case.body!r}"
    )


#: What PostgreSQL cannot store in text (NUL, lone surrogates).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Text a caller can send but the fuzzer's alphabet rarely draws: NUL, a lone surrogate (JSON
#: "\ud800"), something enormous.
HOSTILE_TEXT = ("名\x00字", "\ud800", "长" * 100_000)
#: Free-text fields the services store.
FREE_TEXT = ("display_name", "name", "licence_no", "qualification_no", "transport_permit_no", "purpose", "note", "product_code")


def _hostile(case):
    """Half of the positive cases carry one hostile text in their first free-text field; True
    for those."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return False
    coin = _coin(case)
    if coin // 2 % 2:
        return False
    for name in FREE_TEXT:
        if isinstance(case.body.get(name), str):
            case.body[name] = HOSTILE_TEXT[coin // 4 % len(HOSTILE_TEXT)]
            return True
    return False


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
    own = _realistic(case, seeded) if role == "driver" else None
    hostile = _hostile(case)
    response = case.call_and_validate(base_url=seeded.url, headers=seeded.headers(role, case, own))
    if own is not None and not hostile:
        _accepted(response, case)


@schema.exclude(operation_id_regex=f"^(?!({'|'.join(WITHOUT_LOGIN)})$)").parametrize()
def test_api_without_login(case, seeded, served_simulators):
    realistic = (case.operation.label == "POST /api/auth/miniprogram" and case.meta is not None
                 and case.meta.generation.mode.is_positive and isinstance(case.body, dict) and _half(case))
    if realistic:  # a code wx.login() gave a person WeChat knows
        wechat = served_simulators["wechat"].app
        case.body = {**_storable(case.body), "code": wechat.issue_js_code(wechat.add_user().mp_openid)}
    response = case.call_and_validate(base_url=seeded.url)
    if realistic:
        _accepted(response, case)


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
                self.own = _realistic(case, self.seeded)
                _hostile(case)

            def get_call_kwargs(self, case):
                return {"base_url": self.seeded.url, "headers": self.seeded.headers("driver", case, self.own)}

        Workflow.run(settings=hypothesis.settings(
            max_examples=MAX_EXAMPLES, stateful_step_count=10, derandomize=True, database=None, deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        ))
