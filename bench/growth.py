"""4. Growth: the driver's booking list and the admin booking page (first page, filtered, and a
page deep in the table) with a thousand and with a million bookings in the database.

Two databases and two servers, measured in turns so that the machine's other load falls on
both sizes alike; the large one is the small one plus rows written with ``generate_series``.
One connection: the figure is the time a page takes, not a queue in front of it (with two, the
median moved by 2× between runs as both landed in one server process or one in each). The
servers keep no cached lists (``PORTAL_LIST_CACHE_SIZE=0``): every driver list is read from the
database, which is what grows (the read benchmark measures the cache).
"""

import time
from urllib.request import Request, urlopen

import sqlalchemy as sa

import dataset
from harness import PRODUCTION_INI, Growth, Processes, alternate, drop_database, portal_env, wait_http, wrk

SMALL_DATABASE, LARGE_DATABASE = "portal_bench_growth_small", "portal_bench_growth_large"
SMALL = 1000
CONNECTIONS = 1

PAGES = {
    "driver list": ("/api/logistics/bookings", "driver's GET /api/logistics/bookings (20 of theirs)"),
    "admin page": ("/admin/logistics/bookings", "admin booking list, first page"),
    "admin filtered": ("/admin/logistics/bookings?status=registered", "admin booking list filtered, status 已登记 (1 row in 50)"),
    "admin deep page": ("/admin/logistics/bookings?before={middle}", "admin booking list, a page in the middle"),
}
CREDENTIALS = {
    "BENCH_AUTHORIZATION": f"Bearer {dataset.token(1)}",
    "BENCH_COOKIE": f"portal_admin={dataset.ADMIN_SESSION}",
}


def _check(url):
    """One request first: a page that answers, not the login page it would redirect to."""
    request = Request(url, headers={"Authorization": CREDENTIALS["BENCH_AUTHORIZATION"], "Cookie": CREDENTIALS["BENCH_COOKIE"]})
    with urlopen(request, timeout=60) as response:
        assert response.status == 200 and response.url == url, (response.status, response.url)


def _load(url):
    return lambda seconds: wrk(url, "get.lua", duration=seconds, env=CREDENTIALS, connections=CONNECTIONS, threads=1)


def run(rss, duration, large):
    small_url = dataset.prepare(SMALL_DATABASE, bookings=SMALL)
    large_url = dataset.prepare(LARGE_DATABASE, bookings=SMALL)
    engine = sa.create_engine(large_url)
    try:
        started = time.monotonic()
        dataset.add_bookings(engine, SMALL + 1, large, drivers=dataset.DRIVERS)
        generated = time.monotonic() - started
        rows = dataset.count_bookings(engine)
        engine.dispose()
        with Processes("growth") as processes:
            servers = {
                "small": (processes.gunicorn("web-small", PRODUCTION_INI, portal_env(small_url, list_cache_size="0")), SMALL // 2),
                "large": (processes.gunicorn("web-large", PRODUCTION_INI, portal_env(large_url, list_cache_size="0")), rows // 2),
            }
            for server, _ in servers.values():
                wait_http(server.url + "/healthz", server)
                rss.watch("web", server.pid)
            results = []
            for name, (path, what) in PAGES.items():
                urls = {size: server.url + path.format(middle=middle) for size, (server, middle) in servers.items()}
                for url in urls.values():
                    _check(url)
                    _load(url)(2)  # warm: connections, caches, the planner's statistics
                loads = alternate({size: _load(url) for size, url in urls.items()}, duration=duration)
                results.append(Growth(name, what, SMALL, rows, loads["small"], loads["large"], target=1.5))
    finally:
        engine.dispose()
        drop_database(SMALL_DATABASE)
        drop_database(LARGE_DATABASE)
    return results, generated
