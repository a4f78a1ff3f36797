"""The MES simulator over real HTTP: tank-farm stock per product, and its control endpoints."""

from datetime import datetime

import pytest
import requests

from portal.integrations.base import PermanentError
from portal.integrations.contract import ContractClient
from portal.simulators.base import serve
from portal.simulators.mes import MesSimulator
from portal.timefmt import SHANGHAI

KEY, SECRET = "mes-test", "mes-test-secret"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI).timestamp()
MEASURED_AT = "2026-11-26T09:00:00+08:00"


class Current:
    """Serves the running test's simulator: one server per module (stopping one takes 0.5 s)."""

    sim = None

    def __call__(self, environ, start_response):
        return self.sim(environ, start_response)


@pytest.fixture(scope="module")
def served():
    served = serve(Current())
    yield served
    served.close()


@pytest.fixture
def sim(served):
    sim = served.app.sim = MesSimulator(KEY, SECRET, clock=lambda: NOW)
    return sim


@pytest.fixture
def url(sim, served):
    return served.url


@pytest.fixture
def mes(url):
    return ContractClient("mes", url, KEY, SECRET)


def item(product_code, tank_area, quantity_kg):
    return {"product_code": product_code, "tank_area": tank_area, "quantity_kg": quantity_kg, "unit": "kg",
            "measured_at": MEASURED_AT}


def test_stock_of_one_product_has_an_item_per_tank_area(mes):
    assert mes.read("/v1/stock", {"product_code": "NAOH32"}) == {
        "items": [item("NAOH32", "T1", 800_000), item("NAOH32", "T2", 450_000)]
    }
    assert mes.read("/v1/stock", {"product_code": "HCL31"}) == {"items": [item("HCL31", "T3", 300_000)]}


def test_stock_of_every_product(mes):
    items = mes.read("/v1/stock")["items"]
    assert [(i["product_code"], i["tank_area"], i["quantity_kg"]) for i in items] == [
        ("NAOH32", "T1", 800_000),
        ("NAOH32", "T2", 450_000),
        ("HCL31", "T3", 300_000),
        ("NACLO10", "T4", 120_000),
    ]


def test_an_unknown_product_has_no_stock(mes):
    assert mes.read("/v1/stock", {"product_code": "H2SO4"}) == {"items": []}


def test_set_stock_replaces_a_products_tank_areas(mes, sim):
    sim.set_stock("NAOH32", 5_000)
    sim.set_stock("H2SO4", 70_000, tank_area="T9")
    assert mes.read("/v1/stock", {"product_code": "NAOH32"}) == {"items": [item("NAOH32", "T1", 5_000)]}
    assert mes.read("/v1/stock", {"product_code": "H2SO4"}) == {"items": [item("H2SO4", "T9", 70_000)]}
    for bad in (-1, 1.5, "100", True):
        with pytest.raises(ValueError):
            sim.set_stock("NAOH32", bad)
    sim.reset()
    assert len(mes.read("/v1/stock", {"product_code": "NAOH32"})["items"]) == 2


def test_stock_is_set_and_shown_over_http(mes, url):
    response = requests.put(url + "/_sim/stock", json={"product_code": "HCL31", "quantity_kg": 0, "tank_area": "T5"})
    assert response.json()["stock"]["HCL31"] == [{"tank_area": "T5", "quantity_kg": 0}]
    assert mes.read("/v1/stock", {"product_code": "HCL31"}) == {"items": [item("HCL31", "T5", 0)]}
    assert requests.get(url + "/_sim/stock").json()["stock"]["NAOH32"] == [
        {"tank_area": "T1", "quantity_kg": 800_000},
        {"tank_area": "T2", "quantity_kg": 450_000},
    ]
    assert requests.put(url + "/_sim/stock", json={"product_code": "HCL31"}).json() == {"error": "quantity_kg is required"}
    assert requests.put(url + "/_sim/stock", json={"product_code": "HCL31", "quantity_kg": -1}).status_code == 400
    assert requests.put(url + "/_sim/stock", data="not json").status_code == 400
    # The base's controls still answer.
    assert requests.get(url + "/_sim/ledger").status_code == 200


def test_stock_needs_a_signed_request(url, mes):
    response = requests.get(url + "/v1/stock")
    assert (response.status_code, response.json()["code"]) == (401, "AUTH_MISSING")
    wrong = ContractClient("mes", url, KEY, "not-the-secret")
    with pytest.raises(PermanentError) as caught:
        wrong.read("/v1/stock")
    assert (caught.value.status, caught.value.code) == (401, "AUTH_BAD_SIGNATURE")
