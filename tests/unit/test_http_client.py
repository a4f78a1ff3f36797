"""The base client against a real simulator over HTTP: classification, signing, logging."""

import logging
import socket

import pytest
import requests

from portal.integrations.base import PermanentError, TransientError, redact
from portal.integrations.le import LeClient


@pytest.fixture
def le(simulators):
    return simulators["le"]


@pytest.fixture
def client(settings):
    return LeClient.from_settings(settings, "le")


def test_a_signed_write_is_applied_once_per_idempotency_key(client, le):
    first = client.connectivity_check(idempotency_key="k-1")
    again = client.connectivity_check(idempotency_key="k-1")
    other = client.connectivity_check(idempotency_key="k-2")
    assert again == first
    assert other["check_id"] != first["check_id"]
    assert len(le.effects()) == 2
    assert [e.replayed for e in le.ledger] == [False, True, False]


@pytest.mark.parametrize("kind, error", [("5xx", TransientError), ("429", TransientError), ("4xx", PermanentError)])
def test_errors_are_classified(client, le, served_simulators, kind, error):
    requests.put(served_simulators["le"].url + "/_sim/faults", json={"fail_next": 1, "fail_next_kind": kind}).raise_for_status()
    with pytest.raises(error) as caught:
        client.connectivity_check(idempotency_key="k")
    assert "LE物流系统" in str(caught.value)
    assert le.effects() == []


def test_a_timeout_is_transient_and_the_retry_with_the_same_key_is_not_a_second_effect(settings, le):
    client = LeClient.from_settings({**settings, "portal.le_read_timeout": "0.3"}, "le")
    le.faults.update(fail_next=1, fail_next_kind="timeout", hold_seconds=1.0)
    with pytest.raises(TransientError, match="超时"):
        client.connectivity_check(idempotency_key="k-t")
    client.connectivity_check(idempotency_key="k-t")
    assert len(le.effects()) == 1
    assert le.ledger[-1].replayed


def test_connection_refused_is_transient(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LeClient.from_settings({**settings, "portal.le_url": f"http://127.0.0.1:{port}"}, "le")
    with pytest.raises(TransientError, match="无法连接"):
        client.connectivity_check(idempotency_key="k")


def test_a_wrong_secret_is_refused_by_the_simulator(settings, le):
    client = LeClient.from_settings({**settings, "portal.le_app_secret": "wrong"}, "le")
    with pytest.raises(PermanentError) as caught:
        client.connectivity_check(idempotency_key="k")
    assert caught.value.status == 401
    assert caught.value.code == "AUTH_BAD_SIGNATURE"


def test_logs_carry_no_secrets(client, caplog):
    caplog.set_level(logging.INFO, logger="portal.integrations")
    client.write("/v1/connectivity-checks", {"note": "n", "id_card": "350102199001011234", "phone": "13800000000"}, idempotency_key="k")
    text = caplog.text
    assert "350102199001011234" not in text and "13800000000" not in text
    assert client.app_secret not in text
    assert "/v1/connectivity-checks → 200" in text


def test_redact_masks_nested_secrets():
    assert redact({"a": [{"token": "t", "x": 1}], "AppSecret": "s"}) == {"a": [{"token": "***", "x": 1}], "AppSecret": "***"}
