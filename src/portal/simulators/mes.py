"""A simulator of MES (制造执行系统): tank-farm stock, docs/contract.md section MES.

``GET /v1/stock[?product_code=]`` answers one item per tank area holding a product, every
product without ``product_code``, and an empty list for a product MES does not know. The stock
starts with demo figures; tests and people change it with :meth:`MesSimulator.set_stock` or the
control endpoint ``PUT /_sim/stock`` ``{"product_code", "quantity_kg", "tank_area"?}``, and
``GET /_sim/stock`` shows it.
"""

import time
from datetime import datetime

from portal.settings import SystemSettings
from portal.timefmt import SHANGHAI

from .contract import ContractSimulator

#: Demo stock: product code → [(tank area, kilograms)].
SEED_STOCK = {
    "NAOH32": [("T1", 800_000), ("T2", 450_000)],  # 32%液碱
    "HCL31": [("T3", 300_000)],  # 31%盐酸
    "NACLO10": [("T4", 120_000)],  # 10%次氯酸钠
}


class MesSimulator(ContractSimulator):
    """MES's stock endpoint; ``stock`` maps a product code to its [(tank area, kilograms)]."""

    def __init__(self, app_key, app_secret, *, clock=time.time):
        super().__init__("mes", app_key, app_secret)
        self.clock = clock
        self.route("GET", "/v1/stock", self.list_stock)
        # The stock starts as after a reset: the demo figures.
        self.reset()

    @classmethod
    def from_settings(cls, settings, system="mes"):
        own = SystemSettings.of(settings, system)
        return cls(own.app_key, own.app_secret)

    def reset(self):
        with self.lock:
            super().reset()
            self.stock = {code: list(tanks) for code, tanks in SEED_STOCK.items()}

    def set_stock(self, product_code, quantity_kg, tank_area="T1"):
        """Replace a product's stock with ``quantity_kg`` in one tank area."""
        if not isinstance(product_code, str) or not product_code:
            raise ValueError("product_code must be a non-empty string")
        if not isinstance(tank_area, str) or not tank_area:
            raise ValueError("tank_area must be a non-empty string")
        if isinstance(quantity_kg, bool) or not isinstance(quantity_kg, int) or quantity_kg < 0:
            raise ValueError("quantity_kg must be a whole number of kilograms, 0 or more")
        with self.lock:
            self.stock[product_code] = [(tank_area, quantity_kg)]

    def list_stock(self, request, body):
        wanted = request.GET.get("product_code")
        codes = [wanted] if wanted else list(self.stock)
        # Whole seconds in Beijing time, as the contract's example.
        measured_at = datetime.fromtimestamp(self.clock(), SHANGHAI).replace(microsecond=0).isoformat()
        items = [
            {"product_code": code, "tank_area": area, "quantity_kg": quantity, "unit": "kg", "measured_at": measured_at}
            for code in codes
            for area, quantity in self.stock.get(code, [])
        ]
        return 200, {"items": items}

    def _control(self, request):
        if request.path_info != "/_sim/stock":
            return super()._control(request)
        if request.method == "PUT":
            try:
                body = request.json_body
                self.set_stock(body["product_code"], body["quantity_kg"], body.get("tank_area", "T1"))
            except KeyError as exc:
                return self._json(400, {"error": f"{exc.args[0]} is required"})
            except (ValueError, TypeError) as exc:
                return self._json(400, {"error": str(exc)})
        with self.lock:
            stock = {
                code: [{"tank_area": area, "quantity_kg": quantity} for area, quantity in tanks]
                for code, tanks in self.stock.items()
            }
        return self._json(200, {"stock": stock})
