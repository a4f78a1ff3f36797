def test_liveness(testapp):
    assert testapp.get("/healthz").json == {"status": "ok"}


def test_readiness_checks_the_database_and_the_broker(testapp):
    response = testapp.get("/readyz")
    assert response.json == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_readiness_fails_when_the_broker_is_unreachable(testapp, redis_proxy, broker):
    redis_proxy.cut()
    try:
        broker.client.connection_pool.disconnect()
        response = testapp.get("/readyz", status=503)
    finally:
        redis_proxy.restore()
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["broker"].startswith("error")


def test_the_home_page_shows_the_state_of_the_outbox_in_chinese(testapp, db):
    from portal.services.ops import request_connectivity_check

    request_connectivity_check(db, "le")
    page = testapp.get("/")
    assert "消息发件箱" in page.text
    assert "同步中" in page.text
