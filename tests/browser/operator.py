"""An operator's browser on the admin pages: at a desk (1440×900) or on a phone (390×844),
with a screenshot of each step kept under var/screenshots/<test>/."""

from ..support.factories import PASSWORD

DESK = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


class Operator:
    def __init__(self, browser, base, folder, size):
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **size)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.base, self.folder, self.count = base, folder, 0

    def login(self, username, path="/admin/"):
        self.page.goto(self.base + path)
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + path)

    def open(self, path):
        self.page.goto(self.base + path)

    def part(self, name):
        """A live part of the page (``data-part``)."""
        return self.page.locator(f"[data-part='{name}']")

    def shot(self, name):
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True, animations="disabled")

