"""The plant's booking and sign-off rules come with the answers the H5 forms read them from."""

from ...support import factories


def test_the_forms_read_the_rules_they_show(testapp, db):
    driver = factories.driver(db)
    auth = {"Authorization": f"Bearer {factories.token_for(db, driver.user)}"}
    products = testapp.get("/api/logistics/products", headers=auth).json
    assert products["max_days_ahead"] == 7 and [p["code"] for p in products["products"]] == ["NAOH32"]
    orders = testapp.get("/api/logistics/orders", headers=auth).json
    assert orders["signoff_tolerance_percent"] == 2.0 and orders["orders"] == []
