"""Requests in their real transaction (pyramid_tm, pyramid_retry, zope.sqlalchemy on the app's
session factory), not the test's shared one: data commits for real (``committed``), messages
leave after the commit, a serialization failure runs the request again.

No worker runs here: what the commit sent waits on the broker, where the tests count it.
"""

import threading

import pytest
import requests
import webtest
from sqlalchemy import func, select, update

from portal import outbox
from portal.db import Transaction
from portal.models.admin import AdminUser, LoginAttempt
from portal.models.logistics import Driver, Product
from portal.models.ops import ConnectivityCheck
from portal.models.outbox import OutboxMessage
from portal.services.admin_accounts import LOCK_AFTER
from portal.simulators.base import serve

from ..support import factories
from ..support.factories import csrf_from
from ..support.testapp import Conflict, build_app


@pytest.fixture(scope="module")
def portal_app(settings):
    return build_app(settings)


@pytest.fixture
def app(portal_app, committed):
    return webtest.TestApp(portal_app, extra_environ={"HTTP_HOST": "example.com"})


def _count(session_factory, model, *where):
    with Transaction(session_factory) as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def _outbox(session_factory):
    outbox.wait_for_dispatch_notes()
    with Transaction(session_factory) as db:
        rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.expunge_all()
        return rows


def _waiting(broker, queue):
    """Messages on ``queue`` in the broker (no worker takes them here)."""
    return broker.client.hlen(f"{broker.namespace}:{queue}.msgs")


def test_a_write_commits_and_its_message_leaves_after_the_commit(app, committed, broker):
    with Transaction(committed) as db:
        token = factories.token_for(db, factories.wechat_user(db))
        factories.product(db)
    app.put_json("/api/logistics/driver", factories.driver_payload(), headers={"Authorization": f"Bearer {token}"})
    assert _count(committed, Driver) == 1  # seen from another connection: committed
    [row] = _outbox(committed)
    assert (row.actor_name, row.dispatch_count) == ("le.sync_driver", 1) and row.dispatched_at is not None
    assert _waiting(broker, "le") == 1


def test_a_refused_write_rolls_back_and_sends_nothing(app, committed, broker):
    app.post_json("/_test/checks", {"system": "le", "refuse_after_defer": True}, status=400)
    app.post_json("/_test/checks", {"system": "le", "crash_after_defer": True}, status=500)
    assert _count(committed, ConnectivityCheck) == 0 and _outbox(committed) == []
    assert _waiting(broker, "default") == 0


def _raise_threshold(engine):
    """Another transaction's change, committed while the request holds its snapshot."""
    with engine.begin() as connection:
        connection.execute(update(Product).where(Product.code == "NAOH32").values(threshold_kg=Product.threshold_kg + 100))


def test_a_serialization_failure_is_retried_and_only_the_committed_attempt_sends(app, committed, broker, engine):
    with Transaction(committed) as db:
        factories.product(db, threshold_kg=1000)

    Conflict.current = conflict = Conflict(lambda: _raise_threshold(engine))
    answer = app.post_json("/_test/conflicts", {"system": "park", "product": "NAOH32"}).json
    assert conflict.attempts == [0, 1] and answer["attempt"] == 1
    with Transaction(committed) as db:
        assert db.get(Product, "NAOH32").threshold_kg == 1101  # neither change lost
        assert db.scalars(select(ConnectivityCheck.id)).all() == [answer["check_id"]]
    [row] = _outbox(committed)  # the first attempt's row rolled back, its message never sent
    assert row.args == [answer["check_id"]] and row.dispatch_count == 1
    assert _waiting(broker, "default") == 1


def test_a_commit_that_fails_writes_nothing_and_sends_nothing(app, committed, broker, engine):
    """The conflict met by the commit's own flush: the transaction's after-commit hook learns
    that the commit failed and sends nothing. (pyramid_tm can no longer tell that an error
    raised by the commit is retryable, so this one is not retried: a view whose write may
    conflict flushes it, as /_test/conflicts does by default.)"""
    with Transaction(committed) as db:
        factories.product(db, threshold_kg=1000)
    Conflict.current = conflict = Conflict(lambda: _raise_threshold(engine))
    app.post_json("/_test/conflicts", {"system": "park", "product": "NAOH32", "flush": False}, status=500)
    assert conflict.attempts == [0]
    assert _count(committed, ConnectivityCheck) == 0 and _outbox(committed) == []
    assert _waiting(broker, "default") == 0


def test_a_failed_login_commits_although_the_answer_is_a_400(app, committed):
    with Transaction(committed) as db:
        factories.admin(db, "super", username="boss").failed_logins = LOCK_AFTER - 1
    factories.login_admin(app, "boss", "wrong-password-1", status=400)
    with Transaction(committed) as db:
        assert db.scalars(select(AdminUser.locked_until).where(AdminUser.username == "boss")).one() is not None
        assert db.scalar(select(func.count()).select_from(LoginAttempt)) == 1
    assert "临时锁定" in factories.login_admin(app, "boss", status=400).text


def test_concurrent_failed_logins_are_each_counted(portal_app, committed):
    """Eight wrong passwords at once on PostgreSQL: each is counted (the admin's row is locked
    while a login is checked), so exactly five are answered 用户名或密码错误 and lock the
    account, and the other three find it locked."""
    with Transaction(committed) as db:
        factories.admin(db, "super", username="boss")
    served = serve(portal_app)
    browsers = [requests.Session() for _ in range(8)]
    tokens = [csrf_from(browser.get(served.url + "/admin/login", timeout=10)) for browser in browsers]
    barrier = threading.Barrier(len(browsers))

    def attempt(i):
        barrier.wait(timeout=10)
        form = {"username": "boss", "password": "wrong-password-1", "csrf_token": tokens[i], "next": "/admin/"}
        return browsers[i].post(served.url + "/admin/login", data=form, allow_redirects=False, timeout=60)

    try:
        threads, answers = [], [None] * len(browsers)
        for i in range(len(browsers)):
            threads.append(threading.Thread(target=lambda i=i: answers.__setitem__(i, attempt(i))))
            threads[-1].start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        served.close()
    assert [answer.status_code for answer in answers] == [400] * len(browsers)
    wrong = sum("用户名或密码错误" in answer.text for answer in answers)
    locked = sum("临时锁定" in answer.text for answer in answers)
    assert (wrong, locked) == (LOCK_AFTER, len(browsers) - LOCK_AFTER)
    assert _count(committed, LoginAttempt, LoginAttempt.succeeded.is_(False)) == len(browsers)
    with Transaction(committed) as db:
        assert db.scalars(select(AdminUser.locked_until).where(AdminUser.username == "boss")).one() is not None
