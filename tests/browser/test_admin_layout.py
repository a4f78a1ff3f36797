"""The admin layout on a phone (390×844): the navigation folds behind a menu button, tables
scroll sideways inside the page, and no page is wider than the screen — every page a
super-admin can open, each list's first record too. At a desk (1440×900) the menu stays open."""

import re
from datetime import timedelta

from portal.db import Transaction
from portal.messaging import runtime
from portal.models.meta import utcnow
from portal.services.logistics import bookings as booking_service
from portal.services.logistics.policy import Policy

from ..support import factories
from .operator import PHONE

DETAIL = re.compile(r"/admin/[\w-]+(/[\w-]+)*/(\d+|[A-Z][A-Z0-9_]+)$")


def _everything_once(committed):
    """A super-admin, and a record on each list."""
    with Transaction(committed) as db:
        factories.admin(db, "super", username="boss")
        factories.wechat_user(db, name="王工程师")
        driver = factories.driver(db, name="张师傅")
        booking_service.create_booking(db, driver, {
            "kind": "pickup", "product_code": "NAOH32", "quantity_kg": 20_000, "vehicle_id": driver.vehicles[0].id,
            "planned_arrival_at": (utcnow() + timedelta(hours=2)).isoformat(),
        }, runtime().policy(Policy))
        factories.connectivity_check(db, "le")


def _pages(operator):
    """Every page of the navigation, then the first record each of them lists."""
    links = operator.page.eval_on_selector_all("nav a", "links => links.map(a => a.getAttribute('href'))")
    details = []
    for link in links:
        operator.page.goto(link)
        found = operator.page.eval_on_selector_all("table a", "links => links.map(a => a.getAttribute('href'))")
        details += [href for href in found if DETAIL.search(href)][:1]
    return links + list(dict.fromkeys(details))


def test_on_a_phone_the_menu_folds_and_tables_scroll(live_app, committed, operators):
    _everything_once(committed)
    phone = operators(live_app, PHONE)
    page = phone.page
    phone.login("boss")
    links = page.locator("#admin-nav-links")
    assert not links.is_visible() and page.get_attribute(".menu-button", "aria-expanded") == "false"
    phone.shot("menu-folded")
    page.click(".menu-button")
    assert links.is_visible() and page.get_attribute(".menu-button", "aria-expanded") == "true"
    phone.shot("menu-open")
    page.click("#admin-nav-links >> text=提送货登记")
    page.wait_for_url("**/admin/logistics/bookings")
    assert not links.is_visible()

    pages = _pages(phone)
    assert len(pages) >= 15 and any(p.endswith("/admin/logistics/lanes") for p in pages)
    scrolling = []
    for number, path in enumerate(pages, 1):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than the screen"
        if page.evaluate("[...document.querySelectorAll('table')].some(t => t.scrollWidth > t.clientWidth)"):
            scrolling.append(path)
        page.screenshot(path=str(phone.folder / f"page-{number:02d}.png"), animations="disabled")
    # Wide tables scroll inside the page instead of widening it.
    assert any(p.endswith("/admin/logistics/bookings") for p in scrolling) and any(p.endswith("/admin/outbox") for p in scrolling)


def test_at_a_desk_the_menu_stays_open(live_app, committed, operators):
    _everything_once(committed)
    desk = operators(live_app)
    desk.login("boss")
    assert desk.page.is_visible("#admin-nav-links >> text=装车道") and not desk.page.is_visible(".menu-button")
