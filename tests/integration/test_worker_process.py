"""Real worker processes started the way ops start them: ``dramatiq portal.worker``."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
import pytest

from portal.db import Transaction
from portal.messaging.middleware import maintain_broker
from portal.models.ops import ConnectivityCheck
from portal.models.sync import SyncState

from ..conftest import ROOT
from ..support import factories, runs
from ..support.waiting import wait_for


@pytest.fixture
def worker_process(settings, served_simulators):
    """Start `dramatiq portal.worker` reading development.ini with the environment applied."""
    env = {
        **os.environ,
        "PORTAL_INI": str(ROOT / "development.ini"),
        "DATABASE_URL": settings["sqlalchemy.url"],
        "PORTAL_BROKER": "redis",
        "REDIS_URL": settings["portal.redis_url"],
        "PORTAL_BROKER_NAMESPACE": settings["portal.broker_namespace"],
        "PORTAL_REDIS_PREFIX": settings["portal.redis_prefix"],
        "PORTAL_WORKER_HEARTBEAT_TIMEOUT": settings["portal.worker_heartbeat_timeout"],
        "PORTAL_LE_URL": served_simulators["le"].url,
        "PORTAL_LE_APP_KEY": settings["portal.le_app_key"],
        "PORTAL_LE_APP_SECRET": settings["portal.le_app_secret"],
        "PORTAL_LE_READ_TIMEOUT": "30",
    }
    dramatiq_cli = Path(sys.executable).with_name("dramatiq")
    processes = []

    def start(**overrides):
        env.update(overrides)
        process = subprocess.Popen(
            [str(dramatiq_cli), "portal.worker", "--processes", "1", "--threads", "2"],
            env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        processes.append(process)
        return process

    start.env = env
    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _state(session_factory, check_id):
    with Transaction(session_factory) as db:
        return db.get(ConnectivityCheck, check_id).sync_state


def test_a_worker_process_delivers(committed, simulators, worker_process):
    worker_process()
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "le").id
    wait_for(lambda: _state(committed, check_id) is SyncState.synced, timeout=30)
    assert len(simulators["le"].effects()) == 1


def test_a_killed_workers_message_is_redelivered_within_a_minute(committed, simulators, worker_process, broker):
    le = simulators["le"]
    le.faults.update(latency_ms=3000)  # keeps the message in the first worker's hands
    victim = worker_process()
    with Transaction(committed) as db:
        check_id = factories.connectivity_check(db, "le").id
    wait_for(lambda: le.arrived == 1, timeout=30, message="the worker process to take the message")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    killed_at = time.monotonic()
    le.faults.update(latency_ms=0)

    survivor = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    survivor.start()
    try:
        # What the scheduler's broker-maintenance job does every 10 seconds.
        def redelivered():
            maintain_broker(broker)
            return _state(committed, check_id) is SyncState.synced

        wait_for(redelivered, timeout=60, interval=1.0, message="the killed worker's message to be redelivered")
    finally:
        survivor.stop(timeout=10_000)
    elapsed = time.monotonic() - killed_at
    assert elapsed < 60
    # The killed worker's own call may still land after its sleep: the key keeps it one effect.
    wait_for(lambda: len(le.ledger) == le.arrived, timeout=10)
    assert len(le.effects()) == 1


@pytest.fixture
def rabbitmq_url():
    """PORTAL_TEST_RABBITMQ_URL, or a virtual host of this run's own on the local RabbitMQ
    (runs would otherwise share, and delete, each other's queues)."""
    import pika

    given = os.environ.get("PORTAL_TEST_RABBITMQ_URL")
    url = given or f"amqp://guest:guest@127.0.0.1:5672/{runs.VHOST}"
    if not given:
        runs.rabbitmqctl("add_vhost", runs.VHOST)
        runs.rabbitmqctl("set_permissions", "-p", runs.VHOST, "guest", ".*", ".*", ".*")
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError as exc:
        pytest.fail(f"RabbitMQ is not reachable at {url} (start it: rabbitmq-server -detached): {exc!r}")
    connection.channel().queue_delete("default")
    connection.close()
    yield url
    if not given:
        runs.rabbitmqctl("delete_vhost", runs.VHOST)


def test_the_same_code_runs_on_rabbitmq(committed, simulators, rabbitmq_url, worker_process):
    """Broker `rabbitmq`: a console command defers, a worker process delivers."""
    rabbit = {"PORTAL_BROKER": "rabbitmq", "BROKER_URL": rabbitmq_url}
    worker_process(**rabbit)
    command = subprocess.run(
        [sys.executable, "-m", "portal.cli", "check", "le"],
        env=worker_process.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert command.returncode == 0, command.stderr
    check_id = int(command.stdout.split("#")[1].split()[0])
    wait_for(lambda: _state(committed, check_id) is SyncState.synced, timeout=30)
    assert len(simulators["le"].effects()) == 1
