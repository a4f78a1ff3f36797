"""Known answers for our contract's signature (docs/contract.md), from a signer that shares no
code with ours (support.reference_signing, checked against answers OpenSSL computed).

The client and the simulators both sign with ``portal.integrations.contract``: were that
wrong, they would still agree with each other, and every test that makes them talk would
pass. These tests hold each side to the document instead: our signing function, ``verify``,
the client's requests as they arrive, the contract simulator's check, and the events the LE
simulator signs.
"""

import json
import threading

import pytest
import requests

from portal.integrations.contract import ContractClient, SignatureError, signature, verify
from portal.simulators.base import serve
from portal.simulators.contract import ContractSimulator
from portal.simulators.le import LeSimulator

from ..support import reference_signing
from ..support.reference_signing import KNOWN_ANSWERS

KEY, SECRET = "kat-key", "kat-secret-0123456789"


@pytest.mark.parametrize("secret, method, path_qs, timestamp, nonce, body, expected", KNOWN_ANSWERS)
def test_the_reference_signer_gives_the_known_answers(secret, method, path_qs, timestamp, nonce, body, expected):
    assert reference_signing.sign(secret, method, path_qs, timestamp, nonce, body) == expected


@pytest.mark.parametrize("secret, method, path_qs, timestamp, nonce, body, expected", KNOWN_ANSWERS)
def test_our_signature_gives_the_known_answers(secret, method, path_qs, timestamp, nonce, body, expected):
    assert signature(secret, method, path_qs, timestamp, nonce, body) == expected


def _verify(secret, method, path_qs, timestamp, nonce, body, given):
    headers = {"X-Portal-Key": KEY, "X-Portal-Timestamp": timestamp, "X-Portal-Nonce": nonce, "X-Portal-Signature": given}
    verify(headers=headers, method=method, path_qs=path_qs, body=body, secret_for={KEY: secret}.get,
           nonce_seen=lambda key, nonce: False, now=int(timestamp))


@pytest.mark.parametrize("secret, method, path_qs, timestamp, nonce, body, expected", KNOWN_ANSWERS)
def test_verify_accepts_the_known_answers_and_nothing_else(secret, method, path_qs, timestamp, nonce, body, expected):
    _verify(secret, method, path_qs, timestamp, nonce, body, expected)
    changed = [
        (secret + "x", method, path_qs, timestamp, nonce, body),
        (secret, "PUT" if method == "POST" else "POST", path_qs, timestamp, nonce, body),
        (secret, method, path_qs + "?x=1" if "?" not in path_qs else path_qs.split("?")[0], timestamp, nonce, body),
        (secret, method, path_qs, str(int(timestamp) + 1), nonce, body),
        (secret, method, path_qs, timestamp, nonce[::-1], body),
        (secret, method, path_qs, timestamp, nonce, body + b" "),
    ]
    for inputs in changed:
        with pytest.raises(SignatureError) as refused:
            _verify(*inputs, expected)
        assert refused.value.code == "AUTH_BAD_SIGNATURE", inputs


class Recorder:
    """A server that keeps every request as it arrived and answers 200."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        query = environ.get("QUERY_STRING")
        with self.lock:
            self.requests.append({
                "method": environ["REQUEST_METHOD"],
                "path_qs": environ["PATH_INFO"] + (f"?{query}" if query else ""),
                "headers": {name[5:].replace("_", "-").title(): value for name, value in environ.items() if name.startswith("HTTP_")},
                "body": body,
            })
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']


@pytest.fixture(scope="module")
def recorder():
    served = serve(Recorder())
    yield served
    served.close()


def _signed_as_documented(request, secret):
    headers = request["headers"]
    expected = reference_signing.sign(
        secret, request["method"], request["path_qs"], headers["X-Portal-Timestamp"], headers["X-Portal-Nonce"], request["body"]
    )
    return headers["X-Portal-Key"] == KEY and headers["X-Portal-Signature"] == expected


def test_the_client_signs_what_it_sends_as_the_document_says(recorder):
    recorder.app.requests.clear()
    le = ContractClient("le", recorder.url + "/sim/le", KEY, SECRET)
    le.write("/v1/connectivity-checks", {"note": "连通性检测"}, idempotency_key="k-1")
    le.read("/v1/outbound-orders", params={"driver_id": 12, "status": "已发货"})
    write, read = recorder.app.requests
    assert (write["path_qs"], write["body"]) == ("/sim/le/v1/connectivity-checks", '{"note":"连通性检测"}'.encode())
    assert read["path_qs"].startswith("/sim/le/v1/outbound-orders?driver_id=12&status=%E5") and read["body"] == b""
    assert _signed_as_documented(write, SECRET) and _signed_as_documented(read, SECRET)


def test_the_le_simulator_signs_its_events_as_the_document_says(recorder):
    recorder.app.requests.clear()
    sim = LeSimulator(KEY, SECRET, callback_url=recorder.url + "/api/le/events?from=le")
    assert sim.send_event("lane.changed", {"code": "L1", "status": "idle", "note": "一号道"}) == 200
    [event] = recorder.app.requests
    assert event["path_qs"] == "/api/le/events?from=le" and json.loads(event["body"])["data"]["note"] == "一号道"
    assert _signed_as_documented(event, SECRET)


@pytest.fixture(scope="module")
def contract_simulator():
    served = serve(ContractSimulator("park", KEY, SECRET))
    yield served
    served.close()


def test_the_contract_simulator_accepts_the_documented_signature_only(contract_simulator):
    url, path, body = contract_simulator.url, "/v1/connectivity-checks", '{"note":"检测"}'.encode()

    def post(headers):
        return requests.post(url + path, data=body, headers={"Idempotency-Key": "k", "Content-Type": "application/json", **headers}, timeout=5)

    assert post(reference_signing.headers(KEY, SECRET, "POST", path, body)).status_code == 200
    # Signed over the body's bytes, not over some other text of the same JSON.
    other = json.dumps({"note": "检测"}).encode()
    refused = post(reference_signing.headers(KEY, SECRET, "POST", path, other))
    assert (refused.status_code, refused.json()["code"]) == (401, "AUTH_BAD_SIGNATURE")
