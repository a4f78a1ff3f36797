"""The simulator base over real HTTP: control endpoints, faults, authentication."""

import requests


def test_the_ledger_and_faults_are_reachable_over_http(served_simulators, simulators):
    url = served_simulators["mes"].url
    assert requests.get(url + "/_sim/ledger").json() == {"entries": []}
    response = requests.put(url + "/_sim/faults", json={"latency_ms": 5, "fail_rate": 0.3})
    assert response.json()["fail_rate"] == 0.3
    assert requests.put(url + "/_sim/faults", json={"nonsense": 1}).status_code == 400
    assert requests.put(url + "/_sim/faults", json={"fail_next_kind": "meteor"}).status_code == 400


def test_unsigned_requests_are_refused_and_recorded(served_simulators, simulators):
    response = requests.post(served_simulators["mes"].url + "/v1/connectivity-checks", json={})
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_MISSING"
    assert [(e.status, e.applied) for e in simulators["mes"].ledger] == [(401, False)]


def test_unknown_paths_answer_404(served_simulators):
    assert requests.get(served_simulators["mes"].url + "/v9/nothing").status_code == 404
