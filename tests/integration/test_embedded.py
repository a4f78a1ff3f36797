"""The embedded default from a clean clone: SQLite, stub broker, in-process workers,
scheduler thread and simulators — no PostgreSQL or Redis involved."""

import html
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import requests

from ..conftest import ROOT
from ..support.waiting import wait_for


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_embedded_default_starts_from_a_clean_clone_and_is_ready(tmp_path):
    clone = tmp_path / "portal"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = _free_port()
    ini = clone / "development.ini"
    ini.write_text(ini.read_text().replace("6543", str(port)))
    # The clone's code, and none of the developer's overrides.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_") and k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")}
    env["PYTHONPATH"] = str(clone / "src")
    # The H5 pages as this checkout built them (make test builds frontend/; a clone has no build).
    env["PORTAL_H5_DIST"] = str(ROOT / "frontend" / "dist")
    bin_dir = Path(sys.executable).parent

    migrate = subprocess.run(
        [str(bin_dir / "portal"), "migrate", "--demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "demo data: connectivity check" in migrate.stdout
    assert (clone / "var" / "portal.sqlite").exists()

    server = subprocess.Popen(
        [str(bin_dir / "pserve"), "development.ini"], cwd=clone, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready():
            try:
                return requests.get(base + "/readyz", timeout=2).json()
            except requests.RequestException:
                return None

        assert wait_for(ready, timeout=60, interval=0.2) == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}

        # The demo's connectivity checks travel outbox → relay → worker thread → simulator.
        def all_synced():
            with sqlite3.connect(clone / "var" / "portal.sqlite") as connection:
                states = [state for (state,) in connection.execute("SELECT sync_state FROM connectivity_checks")]
            return len(states) == 5 and set(states) == {"synced"}

        wait_for(all_synced, timeout=60, interval=0.5, message="the demo checks to reach the simulators")
        ledger = requests.get(base + "/sim/le/_sim/ledger", timeout=5).json()["entries"]
        checks = [e["applied"] for e in ledger if e["path"] == "/v1/connectivity-checks"]
        assert checks == [True]
        # The demo menu reached the WeChat simulator.
        menu = wait_for(lambda: requests.get(base + "/sim/wechat/_sim/menu", timeout=5).json()["menu"], message="the demo menu")
        assert [b["name"] for b in menu["button"]] == ["智慧物流", "访客预约", "餐卡消费"]

        # A newcomer's browser: an H5 page → simulated WeChat authorization → back, logged in.
        browser = requests.Session()
        consent = browser.get(base + "/h5/visitors", timeout=5)
        assert "模拟微信授权" in consent.text
        action = re.search(r'<form method="post" action="([^"]+)"', consent.text).group(1)
        landing = browser.post(urljoin(consent.url, html.unescape(action)), data={"nickname": "新司机"}, timeout=5)
        assert landing.url == base + "/h5/visitors" and '<div id="app">' in landing.text
        assert browser.get(base + "/api/me", timeout=5).json()["roles"] == ["visitor"]

        # The demo administrator can log in.
        admin = requests.Session()
        login = admin.get(base + "/admin/login", timeout=5)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        home = admin.post(base + "/admin/login", data={"username": "admin", "password": "portal-demo-2026", "csrf_token": token}, timeout=5)
        assert "欢迎，演示管理员" in home.text
    finally:
        server.terminate()
        server.wait(timeout=20)
