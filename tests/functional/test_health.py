from portal.messaging import runtime


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
        # The cut closed pooled connections of the runtime's client too (nonces, caches): later
        # tests must not be handed one.
        runtime().redis.connection_pool.disconnect()
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["broker"].startswith("error")


def test_the_landing_page_points_to_both_entrances(testapp):
    page = testapp.get("/")
    assert "/h5/" in page.text and "/admin/" in page.text


def test_the_outbox_page_shows_undelivered_messages_in_chinese(testapp, db):
    from ..support import factories

    factories.connectivity_check(db, "le")
    factories.admin(db, "super", username="boss")
    factories.login_admin(testapp, "boss")
    page = testapp.get("/admin/outbox")
    assert "未完成的消息" in page.text and "ops.run_connectivity_check" in page.text
