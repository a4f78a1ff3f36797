"""The drivers' phones: each driver registers a profile and a vehicle, then books, all through
the app's JSON API over HTTP, with the bearer token a WeChat login would have given it.

The plan — who books what, when and how much — is drawn from the run's seed up front.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

import requests

from portal.db import Transaction
from portal.models.identity import WeChatUser
from portal.models.logistics import Product
from portal.models.meta import utcnow
from portal.services.identity import issue_token
from portal.timefmt import SHANGHAI

#: code → (name, threshold kg): the products drivers book.
PRODUCTS = {"NAOH32": ("32%液碱", 100_000), "HCL31": ("31%盐酸", 50_000), "NACLO10": ("10%次氯酸钠", 20_000)}
TANK_CAPACITY_KG = 30_000
PICKUP_SHARE = 2 / 3
#: An HTTP call the driver waits for; the app is never faulted, so this is generous.
CALL_TIMEOUT = 60

def _years_ahead(years):
    """A validity end date that is always ahead of the run."""
    return (utcnow().astimezone(SHANGHAI).date() + timedelta(days=365 * years)).isoformat()


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_card(n):
    """A valid GB 11643 number, one per ``n``."""
    born = date(1970, 1, 1) + timedelta(days=n % 10_000)
    body = f"350102{born:%Y%m%d}{n % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


@dataclass(frozen=True)
class BookingPlan:
    kind: str
    product_code: str
    quantity_kg: int
    hours_ahead: int
    #: Seconds after booking when the driver cancels it, or None: kept.
    cancel_after: float | None = None

    def payload(self, vehicle_id):
        planned = (utcnow() + timedelta(hours=self.hours_ahead)).astimezone(SHANGHAI).isoformat()
        return {"kind": self.kind, "product_code": self.product_code, "quantity_kg": self.quantity_kg,
                "vehicle_id": vehicle_id, "planned_arrival_at": planned}


@dataclass
class DriverPlan:
    n: int
    bookings: list = field(default_factory=list)
    token: str | None = None

    def profile(self):
        # Names have no digits: 司机一二 for driver 12.
        name = "司机" + "".join("零一二三四五六七八九"[int(d)] for d in str(self.n))
        return {"name": name, "id_card_no": id_card(self.n), "mobile": f"139{self.n:08d}",
                "licence_no": f"3501021990{self.n:08d}", "qualification_no": f"350100{self.n:010d}",
                "qualification_expires_on": _years_ahead(3)}

    def vehicle(self):
        return {"plate_no": f"闽A{self.n:05d}", "trailer_no": f"闽B{self.n % 10_000:04d}挂",
                "tank_capacity_kg": TANK_CAPACITY_KG, "approved_products": sorted(PRODUCTS),
                "transport_permit_no": f"闽交运管榕字3501{self.n:08d}号", "tank_inspection_expires_on": _years_ahead(2)}


#: Hours ahead a booking is planned: 5 h apart, so that a truck's bookings never share a
#: reservation window (240 minutes; the service refuses a second one), within the 7 days allowed.
ARRIVAL_SLOTS = range(2, 7 * 24 - 1, 5)


def plan(rng, drivers, bookings, cancel_share):
    """``drivers`` drivers sharing ``bookings`` bookings round-robin, each at an arrival slot of its
    own; ``cancel_share`` of them are cancelled by their driver within seconds — while LE may still
    be learning of them."""
    if bookings > drivers * len(ARRIVAL_SLOTS):
        raise ValueError(f"at most {len(ARRIVAL_SLOTS)} bookings per driver")
    plans = [DriverPlan(n) for n in range(1, drivers + 1)]
    for i in range(bookings):
        driver = plans[i % drivers]
        kind = "pickup" if rng.random() < PICKUP_SHARE else "delivery"
        cancel_after = rng.uniform(0, 4) if rng.random() < cancel_share else None
        hours = rng.choice([h for h in ARRIVAL_SLOTS if h not in {b.hours_ahead for b in driver.bookings}])
        driver.bookings.append(BookingPlan(kind, rng.choice(sorted(PRODUCTS)), rng.randrange(5, 31) * 1000, hours, cancel_after))
    return plans


def seed(session_factory, plans, stock_kg):
    """Products, and a WeChat user with an API token per driver (what logging in would give)."""
    with Transaction(session_factory) as db:
        for code, (name, threshold) in PRODUCTS.items():
            db.add(Product(code=code, name=name, threshold_kg=threshold, reservation_minutes=240, active=True,
                           stock_kg=stock_kg[code]))
        for driver in plans:
            user = WeChatUser(display_name=f"司机{driver.n}", mp_openid=f"o-chaos-{driver.n:06d}", login_count=1)
            db.add(user)
            db.flush()
            driver.token, _ = issue_token(db, user, "miniprogram")


class Traffic:
    """Drives every plan with ``clients`` concurrent phones; records what the app answered.

    A planned cancellation goes out from a timer of its own, so the phone books on meanwhile;
    it is refused (409) only when the booking was rejected by then. With a ``rate``, all phones
    together make at most that many calls a second.
    """

    def __init__(self, base_url, plans, clients, rate=None):
        self.base_url, self.plans, self.clients = base_url, plans, clients
        self.interval = 1 / rate if rate else 0.0
        self._next_call = time.monotonic()
        self.total = sum(2 + len(p.bookings) + sum(1 for b in p.bookings if b.cancel_after is not None) for p in plans)
        self.sent = 0
        self.errors = []
        #: Bookings whose cancellation was refused as not cancellable.
        self.not_cancellable = []
        self.lock = threading.Lock()
        self._timers = []

    def run(self):
        with ThreadPoolExecutor(self.clients, thread_name_prefix="phone") as pool:
            list(pool.map(self._drive, self.plans))
        for timer in self._timers:
            timer.join()

    def _phone(self, driver):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {driver.token}"
        return session

    def _drive(self, driver):
        session = self._phone(driver)
        if self._call(session, "PUT", "/api/logistics/driver", (200,), driver.profile()) is None:
            return
        vehicle = self._call(session, "POST", "/api/logistics/vehicles", (201,), driver.vehicle())
        if vehicle is None:
            return
        for booking in driver.bookings:
            created = self._call(session, "POST", "/api/logistics/bookings", (201,), booking.payload(vehicle["vehicle"]["id"]))
            if created is not None and booking.cancel_after is not None:
                timer = threading.Timer(booking.cancel_after, self._cancel, args=(driver, created["booking"]["id"]))
                with self.lock:
                    self._timers.append(timer)
                timer.start()

    def _cancel(self, driver, booking_id):
        answer = self._call(self._phone(driver), "POST", f"/api/logistics/bookings/{booking_id}/cancel", (200, 409), None)
        if answer is not None and "error" in answer:
            with self.lock:
                self.not_cancellable.append(booking_id)

    def _pace(self):
        with self.lock:
            at = max(time.monotonic(), self._next_call)
            self._next_call = at + self.interval
        time.sleep(max(0.0, at - time.monotonic()))

    def _call(self, session, method, path, expected, body):
        self._pace()
        try:
            response = session.request(method, self.base_url + path, json=body, timeout=CALL_TIMEOUT)
            error = None if response.status_code in expected else f"HTTP {response.status_code}: {response.text[:300]}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self.lock:
            self.sent += 1
            if error:
                self.errors.append(f"{method} {path} → {error}")
        return None if error else response.json()
