"""Test set-up: real PostgreSQL and Redis, migrated schema, simulators on 127.0.0.1.

* ``db`` — a session of the app's own factory (``registry["db.session_factory"]``, following
  ``tm`` as a request's session follows ``request.tm``), on a connection whose outer transaction
  is rolled back after the test: the test's commits are savepoints. ``testapp`` (and
  ``testapp_for`` for an app built otherwise) runs requests in that same session and transaction.
* ``job`` — an actor's body run in that transaction, as a worker's delivery runs it
  (``job("le.sync_booking", booking.id)``, ``job.drain()``; see support.jobs).
* ``committed`` — for tests whose data must commit for real (integration tests, the request
  transaction's own tests): the app's session factory; every table is emptied afterwards.
  ``worker`` runs a real Dramatiq Worker on the Redis broker; ``settle()`` waits until every
  message due has run (support.waiting.settle).

Each run has names of its own (``support.runs``): a database dropped at the end, a Redis key
prefix for the broker and the app (runs share Redis database 15 and nothing flushes it).
PORTAL_TEST_DATABASE_URL and PORTAL_TEST_REDIS_URL override the addresses; a database given
there is recreated at the start and kept at the end.
"""

import os
import subprocess
import sys
from pathlib import Path

import dramatiq
import pytest
import redis
import sqlalchemy as sa
import transaction
import webtest
from sqlalchemy.engine import make_url

from portal import make_config, messaging
from portal.db import get_tm_session
from portal.models import Base
from portal.simulators import build_simulators
from portal.simulators.base import serve

from .support import runs
from .support.jobs import Jobs
from .support.tcpproxy import TcpProxy
from .support.testapp import build_config
from .support.waiting import settle as settle_outbox

ROOT = Path(__file__).resolve().parent.parent
DATABASE_GIVEN = "PORTAL_TEST_DATABASE_URL" in os.environ
DATABASE_URL = os.environ.get(
    "PORTAL_TEST_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{runs.DATABASE}"
)
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

HOW_TO_START = """
The test suite needs real PostgreSQL and Redis ({what} is not reachable at {where}).
Start them with scripts/services.sh (as root on this machine kind; `make test` does),
or point PORTAL_TEST_DATABASE_URL / PORTAL_TEST_REDIS_URL at running servers.
"""


TEST_WECHAT = {
    "portal.session_secret": "test-only-session-secret-0123456789abcdef",
    "portal.public_url": "http://portal.test",
    "portal.cache": "redis",
    "portal.wechat_appid": "wxtestofficialacct",
    "portal.wechat_secret": "test-oa-secret",
    "portal.wechat_mp_appid": "wxtestminiprogram1",
    "portal.wechat_mp_secret": "test-mp-secret",
    "portal.wechat_template_test": "TEMPLATE-TEST-0001",
    "portal.wechat_template_logistics": "TEMPLATE-LOGISTICS-0001",
    # The mini-program's subscribe templates (订阅消息), one per kind of logistics message.
    "portal.wechat_subscribe_booking_result": "SUBSCRIBE-BOOKING-RESULT",
    "portal.wechat_subscribe_booking_ended": "SUBSCRIBE-BOOKING-ENDED",
    "portal.wechat_subscribe_queue_called": "SUBSCRIBE-QUEUE-CALLED",
    "portal.wechat_subscribe_order_shipped": "SUBSCRIBE-ORDER-SHIPPED",
    "portal.wechat_subscribe_expiry_warning": "SUBSCRIBE-EXPIRY-WARNING",
}


class Services:
    """What pytest_configure set up once for the whole run."""

    config = None
    settings = None
    engine = None
    session_factory = None
    simulators = None
    served = None
    redis_proxy = None


def _admin_engine(url):
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def _require_services():
    """Create this run's database; clear what killed runs left behind."""
    url = make_url(DATABASE_URL)
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            runs.sweep_databases(connection)
            runs.drop_databases(connection, [url.database])
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    except sa.exc.OperationalError as exc:
        pytest.exit(HOW_TO_START.format(what="PostgreSQL", where=url.render_as_string()) + f"\n{exc}", returncode=3)
    finally:
        admin.dispose()
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3) as client:
            runs.sweep_keys(client)
    except redis.RedisError as exc:
        pytest.exit(HOW_TO_START.format(what="Redis", where=REDIS_URL) + f"\n{exc}", returncode=3)


def _clean_up():
    """Drop this run's database (unless it was given) and delete its Redis keys."""
    if Services.engine is not None:
        Services.engine.dispose()
    if not DATABASE_GIVEN:
        admin = _admin_engine(make_url(DATABASE_URL))
        with admin.connect() as connection:
            runs.drop_databases(connection, [runs.DATABASE])
        admin.dispose()
    with redis.Redis.from_url(REDIS_URL) as client:
        runs.delete_keys(client, runs.REDIS_PREFIX)


def migrate(url):
    """Upgrade a database with the project's own console command, as ops would."""
    subprocess.run(
        [sys.executable, "-m", "portal.cli", "-c", str(ROOT / "development.ini"), "migrate"],
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


def pytest_configure(config):
    _require_services()
    migrate(DATABASE_URL)

    redis_url = make_url(REDIS_URL)
    # The broker reaches Redis through a proxy the tests can cut.
    Services.redis_proxy = TcpProxy(redis_url.host or "127.0.0.1", redis_url.port or 6379)
    broker_url = f"redis://127.0.0.1:{Services.redis_proxy.port}/{redis_url.database or 0}"

    settings = {
        "sqlalchemy.url": DATABASE_URL,
        "portal.broker": "redis",
        "portal.redis_url": broker_url,
        "portal.broker_namespace": runs.REDIS_PREFIX,
        "portal.redis_prefix": runs.REDIS_PREFIX,
        "portal.embedded": "false",
        "portal.worker_heartbeat_timeout": "3",
        "portal.http_read_timeout": "2",
    }
    settings.update(TEST_WECHAT)
    # The systems the app talks to, and their simulators, are the ones its catalogue names: a
    # configuration that is read, never committed, says which.
    catalogue = make_config(dict(settings), environ={}).registry.catalogue
    for system in catalogue.systems:
        settings[f"portal.{system}_app_key"] = f"test-{system}"
        settings[f"portal.{system}_app_secret"] = f"test-{system}-secret-{os.getpid()}"
    Services.simulators = build_simulators(catalogue, settings)
    Services.served = {name: serve(sim) for name, sim in Services.simulators.items()}
    for name, served in Services.served.items():
        settings[f"portal.{name}_url"] = served.url
    settings["portal.wechat_open_url"] = settings["portal.wechat_api_url"] = Services.served["wechat"].url
    # The app the tests run: committed now, so that actors are bound and the broker is set.
    Services.config = build_config(settings)
    Services.config.commit()
    registry = Services.config.registry
    Services.settings = settings
    Services.engine = registry["db.engine"]
    Services.session_factory = registry["db.session_factory"]


def pytest_unconfigure(config):
    for served in (Services.served or {}).values():
        served.close()
    if Services.settings is not None:
        _clean_up()


@pytest.fixture(scope="session")
def settings():
    return Services.settings


@pytest.fixture(scope="session")
def engine():
    return Services.engine


@pytest.fixture(scope="session")
def session_factory():
    return Services.session_factory


@pytest.fixture(scope="session")
def broker():
    return messaging.runtime().broker


@pytest.fixture(scope="session")
def redis_proxy():
    return Services.redis_proxy


@pytest.fixture
def simulators():
    """The contract simulators, reset before each test that uses them."""
    for simulator in Services.simulators.values():
        simulator.reset()
    return Services.simulators


@pytest.fixture(scope="session")
def served_simulators():
    return Services.served


# -- savepoint per test --------------------------------------------------------------------


@pytest.fixture
def tm():
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    yield manager
    manager.abort()


@pytest.fixture
def db(engine, session_factory, tm):
    connection = engine.connect()
    outer = connection.begin()
    session = get_tm_session(session_factory, tm, bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    outer.rollback()
    connection.close()


@pytest.fixture
def job(db, simulators):
    return Jobs(db)


@pytest.fixture(scope="session")
def catalogue():
    """What the areas plugged in (portal.catalogue)."""
    return Services.config.registry.catalogue


@pytest.fixture(scope="session")
def app():
    return Services.config.make_wsgi_app()


@pytest.fixture
def testapp_for(tm, db):
    """``testapp_for(app, **environ)``: webtest on ``app`` whose requests run in the test's
    session and transaction (pyramid_tm leaves a request alone when ``tm.active`` is set)."""

    def shared(app, **environ):
        return webtest.TestApp(
            app, extra_environ={"HTTP_HOST": "example.com", "tm.active": True, "tm.manager": tm, "app.dbsession": db, **environ}
        )

    return shared


@pytest.fixture
def testapp(app, testapp_for):
    return testapp_for(app)


# -- committed data and a real worker --------------------------------------------------------


def _empty_all_tables(engine):
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def committed(engine, session_factory, broker, redis_proxy):
    """Data really commits (the app's session factory); tables, queues and the proxy are reset after."""
    _empty_all_tables(engine)
    broker.flush_all()
    yield session_factory
    redis_proxy.restore()
    broker.flush_all()
    _empty_all_tables(engine)


@pytest.fixture
def worker(broker, committed):
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop(timeout=10_000)


@pytest.fixture
def settle(request, committed):
    """``settle()``: wait until every message due has run (and the ``worker``, if the test has
    one, is idle) instead of polling for one of its effects."""
    worker = request.getfixturevalue("worker") if "worker" in request.fixturenames else None
    return lambda timeout=60.0: settle_outbox(committed, worker, timeout=timeout)
