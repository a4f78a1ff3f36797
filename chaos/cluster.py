"""The processes of a chaos run: its own Redis, the web app, Dramatiq workers and the scheduler.

Every portal process starts the way ops start it — ``production.ini`` with the environment
applied — against the run's database and the run's own ``redis-server`` (never a shared one:
the run restarts it empty). Each process lives in a process group of its own, so a kill takes
the Dramatiq worker children with it, and writes its output to ``<log_dir>/<name>.log``.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

from portal.settings import WELL_KNOWN

ROOT = Path(__file__).resolve().parent.parent
INI = ROOT / "production.ini"
BIN = Path(sys.executable).parent
#: What a Dramatiq worker process logs once it consumes.
READY = "Worker process is ready for action."


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, what, errors=(OSError, redis.RedisError, requests.RequestException)):
    """Poll ``predicate`` (which may raise ``errors`` while things start) until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except errors:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout} s")
        time.sleep(0.1)


def web_app():
    """The web process's WSGI app, for ``python -m waitress --call chaos.cluster:web_app``."""
    from pyramid.paster import get_app, setup_logging

    ini = os.environ["PORTAL_INI"]
    setup_logging(ini)
    return get_app(ini)


class Process:
    """A subprocess in its own process group, its output appended to a log file."""

    def __init__(self, name, argv, env, log_dir):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen = None

    @property
    def pid(self):
        return self.popen.pid

    def start(self):
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self):
        """SIGKILL the whole group at once: no shutdown hook, no requeue, no ack."""
        self._signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout=10):
        if self.popen is None or self.popen.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum):
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass


class OwnRedis:
    """A ``redis-server`` of the run's own on a free port, without persistence."""

    def __init__(self, log_dir):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", str(log_dir)]
        self.process = Process("redis", argv, dict(os.environ), log_dir)
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)
        self.restarts = 0

    def start(self):
        self.process.start()
        wait_until(self.client.ping, 10, f"redis-server on port {self.port}")

    def restart(self, down_seconds):
        """Crash and start again empty: everything queued and every unacked message is lost."""
        self.process.kill()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1

    def stop(self):
        self.process.stop()


class Cluster:
    """Redis, one web process, ``workers`` worker processes and one scheduler."""

    NAMESPACE = "portal-chaos"

    def __init__(self, *, database_url, log_dir, simulators, workers, threads, heartbeat_timeout, redispatch_after,
                 read_timeout):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.glob("*.log"):
            old.unlink()
        self.redis = OwnRedis(self.log_dir)
        port = free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        # A clean slate: none of the caller's portal settings reach the processes.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_") and k not in WELL_KNOWN}
        env.update({
            "PORTAL_INI": str(INI),
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis.url,
            "PORTAL_BROKER": "redis",
            "PORTAL_BROKER_NAMESPACE": self.NAMESPACE,
            "PORTAL_WORKER_HEARTBEAT_TIMEOUT": str(heartbeat_timeout),
            "PORTAL_OUTBOX_REDISPATCH_AFTER": str(redispatch_after),
            "PORTAL_SESSION_SECRET": os.urandom(24).hex(),
            "PORTAL_PUBLIC_URL": self.web_url,
        })
        for name, served in simulators.items():
            prefix = f"PORTAL_{name.upper()}_"
            env.update({
                prefix + "URL": served.url, prefix + "APP_KEY": served.app.app_key,
                prefix + "APP_SECRET": served.app.app_secret, prefix + "READ_TIMEOUT": str(read_timeout),
            })
        self.web = Process("web", [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=8",
                                   "--call", "chaos.cluster:web_app"], env, self.log_dir)
        self.scheduler = Process("scheduler", [str(BIN / "portal"), "scheduler"], env, self.log_dir)
        self.workers = [
            Process(f"worker-{i + 1}", [str(BIN / "dramatiq"), "portal.worker", "--processes", "1", "--threads", str(threads)],
                    env, self.log_dir)
            for i in range(workers)
        ]

    def start(self):
        self.redis.start()
        for process in (self.web, self.scheduler, *self.workers):
            process.start()
        wait_until(lambda: requests.get(self.web_url + "/readyz", timeout=5).ok, 60, f"the web process ({self.web.log_path})")
        for worker in self.workers:
            wait_until(lambda: READY in worker.log_path.read_text(errors="replace"), 60, f"{worker.name} ({worker.log_path})")

    def stop(self):
        for process in (*self.workers, self.scheduler, self.web):
            process.stop()
        self.redis.stop()
