"""1. API read path: ``GET /api/logistics/bookings`` as a driver with a bearer token (a full
page of 20 bookings) against the bare app reading one row."""

import json
from urllib.request import Request, urlopen

import baseline_app
import dataset
from harness import Baseline, Comparison, Processes, portal_env, warm_then_alternate, wrk

DATABASE = "portal_bench"


def check(url, headers, expect):
    """One request before the load: the benchmark must measure real answers."""
    with urlopen(Request(url, headers=headers), timeout=10) as response:
        body = json.loads(response.read())
    assert expect(body), body


def run(rss, duration):
    url = dataset.prepare(DATABASE)
    baseline_app.create_table(url)
    env = portal_env(url)
    bearer = {"BENCH_AUTHORIZATION": f"Bearer {dataset.token(1)}"}
    with Processes("read") as processes:
        ours, baseline = processes.web_pair(env, rss)
        page = ours.url + "/api/logistics/bookings"
        check(page, {"Authorization": bearer["BENCH_AUTHORIZATION"]}, lambda body: len(body["bookings"]) == 20)
        loads = warm_then_alternate({
            "baseline": lambda seconds: wrk(baseline.url + "/read", "get.lua", duration=seconds),
            "ours": lambda seconds: wrk(page, "get.lua", duration=seconds, env=bearer),
        }, duration=duration)
    return Comparison(
        "read", "GET /api/logistics/bookings (20 bookings)", "req/s", loads["ours"],
        [Baseline("bare app: GET of one row", loads["baseline"], target=0.6)],
    )
