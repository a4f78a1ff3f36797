"""A real headless Chromium (Debian's) driven by Playwright against the app on 127.0.0.1."""

import os
import shutil

import pytest

from portal import messaging
from portal.simulators.base import serve

from ..conftest import ROOT
from ..support.testapp import build_app
from .operator import DESK, Operator

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def live_app(settings, committed):
    served = serve(build_app(settings))
    yield served.url
    served.close()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set PORTAL_TEST_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# -- the H5 pages on a phone ------------------------------------------------------------------

DIST = ROOT / "frontend" / "dist"
SCREENSHOTS = ROOT / "var" / "screenshots"
#: `make screenshots` sets this: the shots named for the README are copied to docs/screenshots/.
DOCS = ROOT / "docs" / "screenshots" if os.environ.get("PORTAL_SCREENSHOTS_DOCS") else None
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


class _LateApp:
    """A WSGI app bound after its server: our OAuth redirect must name the server's own address."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture
def portal(settings, committed, simulators):
    """The app on 127.0.0.1 with the built H5 pages: WeChat's authorization comes back to it and
    LE's events reach it."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"the H5 front end is not built ({DIST}): run `make frontend` (make test does)")
    late = _LateApp()
    served = serve(late)
    previous = messaging.runtime().settings
    late.app = build_app({**settings, "portal.public_url": served.url})
    le, callback = simulators["le"], simulators["le"].callback_url
    le.callback_url = served.url + "/api/le/events"
    yield served.url
    le.callback_url = callback
    messaging.runtime().settings = previous
    served.close()


class Phone:
    """A driver's phone: a 375×812 page, and a screenshot of every page it shows, kept under
    var/screenshots/<test>/ (and, for `make screenshots`, the README's under docs/screenshots/)."""

    def __init__(self, page, base, folder):
        self.page, self.base, self.folder, self.count = page, base, folder, 0

    def open(self, path):
        self.page.goto(self.base + path)
        self.settle()

    def settle(self):
        """Wait until the page shows its data: its component is there, without a loading spinner.
        (Nothing to wait for on WeChat's authorization page.)"""
        if not self.page.url.startswith(self.base + "/h5/"):
            return
        self.page.wait_for_function("document.querySelector('#app main > *') && !document.querySelector('.page-state .van-loading')")

    def shot(self, name, doc=None, full=True):
        """``full``: the whole page; a dialog or picker over it is taken as the screen shows it."""
        self.settle()
        # A toast is gone in two seconds; a whole page is taken from its top (fixed bars stay put).
        self.page.locator(".van-toast").first.wait_for(state="hidden")
        if full:
            self.page.evaluate("window.scrollTo(0, 0)")
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full, animations="disabled")
        if doc and DOCS:
            DOCS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(DOCS / f"{doc}.png"), animations="disabled")

    def pick(self):
        """Confirm the picker that is open (Vant keeps closed popups in the page, hidden)."""
        self.page.locator(".van-picker__confirm >> visible=true").click()

    def error_under(self, name):
        """The error message shown under the field named ``name``."""
        field = self.page.locator(f".van-field:has([name='{name}'])")
        return field.locator(".van-field__error-message").inner_text()

    def login(self, wechat_user=None, nickname="微信用户"):
        """Through the simulated WeChat authorization page: a new person, or one it knows."""
        if wechat_user is None:
            self.page.fill("input[name=nickname]", nickname)
            self.page.click("text=新建并授权")
        else:
            self.page.click(f"text=以“{wechat_user}”身份授权")


@pytest.fixture
def phone(browser, portal, request):
    folder = SCREENSHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Phone(page, portal, folder)
    context.close()


# -- the admin pages at a desk or on a phone -------------------------------------------------------


@pytest.fixture
def operators(browser, request):
    """``open(base, size=DESK, name="")``: an operator's browser on the admin pages
    (tests/browser/operator.py), its screenshots under var/screenshots/<test>/<name>; closed after."""
    folder = SCREENSHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    opened = []

    def open_(base, size=DESK, name=""):
        opened.append(Operator(browser, base, folder / name if name else folder, size))
        return opened[-1]

    yield open_
    for operator in opened:
        operator.context.close()
