"""The API explorer (/api/docs) on an offline network: every file comes from the app itself."""

import yaml

from portal import OPENAPI_SPEC

METHODS = {"get", "put", "post", "patch", "delete"}


def test_the_explorer_renders_every_operation_with_nothing_from_another_host(live_app, page):
    with open(OPENAPI_SPEC, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    operations = sum(method in METHODS for item in spec["paths"].values() for method in item)
    requested, failed = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))

    def offline(route):  # as on the plant's network: nothing but the app answers
        if route.request.url.startswith(live_app + "/"):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    page.goto(live_app + "/api/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() == operations
    assert "东南电化统一服务平台 API" in page.inner_text(".info .title")

    foreign = [url for url in requested if not url.startswith((live_app + "/", "data:", "blob:"))]
    assert foreign == [] and failed == []
    assert {live_app + "/api/openapi.yaml", live_app + "/api/docs/assets/swagger-ui-bundle.js"} <= set(requested)
