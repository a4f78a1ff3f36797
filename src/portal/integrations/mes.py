"""MES (制造执行系统) over our signed contract (docs/contract.md, "MES")."""

from collections import defaultdict

from .contract import ContractClient


class MesClient(ContractClient):
    label = "MES系统"

    def stock_kg(self, product_code):
        """The product's stock summed over every tank area holding it."""
        items = self.read("/v1/stock", {"product_code": product_code})["items"]
        return sum(int(item["quantity_kg"]) for item in items if item.get("product_code") == product_code)

    def all_stock_kg(self):
        totals = defaultdict(int)
        for item in self.read("/v1/stock")["items"]:
            totals[item["product_code"]] += int(item["quantity_kg"])
        return dict(totals)
