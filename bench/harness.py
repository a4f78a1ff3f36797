"""What every benchmark shares: addresses, our own databases and Redis keys, child processes
that are always stopped, wrk runs with their parsed figures, and RSS sampling.

Benchmarks touch only databases named ``portal_bench*``, Redis database 9 and keys under the
``portal-bench`` prefix, so they can run next to the test suite and other people's work.
"""

import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.request import urlopen

import psutil
import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
#: Logs of every process a benchmark starts (var/ is not versioned).
LOGS = ROOT / "var" / "bench"
PRODUCTION_INI = ROOT / "production.ini"

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
NAMESPACE = "portal-bench"
BASELINE_NAMESPACE = "portal-bench-baseline"

#: The production server settings, the same for our app and the baselines (README, "Benchmarks");
#: BENCH_GUNICORN tries others.
GUNICORN = os.environ.get("BENCH_GUNICORN", "--worker-class gthread --workers 2 --threads 4").split()
#: Worker processes and threads, the same for our actors and the baseline actor.
DRAMATIQ = ["--processes", "2", "--threads", "8"]
#: Load: wrk threads and open connections, the same for every HTTP benchmark.
WRK_THREADS = 2
WRK_CONNECTIONS = 8

#: Contract systems and the credentials the benchmark processes share with the simulators.
SYSTEMS = ("le", "mes", "canteen", "park", "sms")
SIM_KEY = "bench-{system}"
SIM_SECRET = "bench-{system}-secret"


def database_url(name):
    return f"{POSTGRES}/{name}"


def _admin_engine():
    return sa.create_engine(database_url("postgres"), isolation_level="AUTOCOMMIT")


def create_database(name):
    """A fresh, empty database (only ever one of ours: the name must start with portal_bench)."""
    assert name.startswith("portal_bench"), name
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return database_url(name)


def drop_database(name):
    assert name.startswith("portal_bench"), name
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def migrate(url):
    """Upgrade with the project's own command, as operations would."""
    subprocess.run(
        [str(BIN / "portal"), "-c", str(PRODUCTION_INI), "migrate"],
        env=portal_env(url), check=True, capture_output=True, cwd=ROOT,
    )


def clear_redis():
    """Forget our queues (only keys under our prefix, in our database)."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{NAMESPACE}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start:start + 1000])
    client.close()


def portal_env(url, **settings):
    """The environment of our processes: production.ini plus addresses and secrets, nothing
    inherited that could point them at somebody else's database or queues."""
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith("PORTAL_") and name not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")
    }
    env.update(
        DATABASE_URL=url,
        REDIS_URL=REDIS_URL,
        PORTAL_INI=str(PRODUCTION_INI),
        PORTAL_BROKER_NAMESPACE=NAMESPACE,
        PORTAL_REDIS_PREFIX=NAMESPACE,
        PORTAL_SESSION_SECRET="bench-session-secret-0123456789abcdef",
        PORTAL_PUBLIC_URL="http://127.0.0.1",
        PORTAL_WECHAT_APPID="wxbenchofficialacct",
        PORTAL_WECHAT_SECRET="bench-oa-secret",
        PORTAL_WECHAT_MP_APPID="wxbenchminiprogram",
        PORTAL_WECHAT_MP_SECRET="bench-mp-secret",
    )
    for system in SYSTEMS:
        prefix = f"PORTAL_{system.upper()}_"
        env[prefix + "URL"] = "http://127.0.0.1:9"  # discard: nothing calls out unless a benchmark says so
        env[prefix + "APP_KEY"] = SIM_KEY.format(system=system)
        env[prefix + "APP_SECRET"] = SIM_SECRET.format(system=system)
    env.update({f"PORTAL_{name.upper()}": value for name, value in settings.items()})
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- processes ----------------------------------------------------------------------------------


class Processes:
    """The children of one benchmark, each leading its own process group; ``with`` stops them
    all (TERM, then KILL), whatever happened inside."""

    def __init__(self, name):
        self.name = name
        self.children = []

    def __enter__(self):
        LOGS.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        for child in reversed(self.children):
            stop(child)
        self.children.clear()
        return False

    def start(self, label, argv, env, cwd=ROOT):
        log = open(LOGS / f"{self.name}-{label}.log", "ab")
        child = subprocess.Popen(
            [str(a) for a in argv], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        child.label = label
        self.children.append(child)
        return child

    def gunicorn(self, label, ini, env):
        port = free_port()
        # Several masters run at once here: none may take the one default control socket.
        argv = [BIN / "gunicorn", "--paste", ini, "--bind", f"127.0.0.1:{port}", "--no-control-socket", *GUNICORN]
        child = self.start(label, argv, env)
        child.url = f"http://127.0.0.1:{port}"
        return child

    def dramatiq(self, label, broker, env, path=ROOT):
        return self.start(label, [BIN / "dramatiq", broker, *DRAMATIQ, "--path", path], env)

    def stop(self, child):
        stop(child)
        self.children.remove(child)

    def web_pair(self, env, rss):
        """Our app and the bare baseline app (bench/baseline_app.py), served alike, answering,
        and watched for their memory: (ours, baseline)."""
        ours = self.gunicorn("web", PRODUCTION_INI, env)
        baseline = self.gunicorn("baseline", BENCH / "baseline.ini", {**env, "PYTHONPATH": str(BENCH)})
        wait_http(ours.url + "/healthz", ours)
        wait_http(baseline.url + "/read", baseline)
        rss.watch("web", ours.pid)
        rss.watch("baseline web", baseline.pid)
        return ours, baseline


def stop(child, timeout=15):
    """Stop one child and its process group; ours only, by its id."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    # Stray grandchildren of a group whose leader has gone.
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_http(url, child, timeout=60):
    """Until ``url`` answers anything; fails at once if the child died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{child.label} exited with {child.returncode}; see {LOGS}")
        try:
            with urlopen(url, timeout=2):
                return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status: the server answers
                return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def wait_for(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


# -- wrk ----------------------------------------------------------------------------------------


@dataclass
class Load:
    """One wrk run: throughput and latency percentiles (milliseconds)."""

    rps: float
    p50: float
    p90: float
    p99: float
    requests: int
    failures: int = 0
    raw: str = field(default="", repr=False)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output):
    """The figures of ``wrk --latency`` output."""
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", output, re.MULTILINE))
    failures = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if errors:
        # A sync-style server closes connections after each answer: read errors are those closes.
        failures += int(errors.group(1)) + int(errors.group(3)) + int(errors.group(4))
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50=_ms(percentiles["50"]),
        p90=_ms(percentiles["90"]),
        p99=_ms(percentiles["99"]),
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        failures=failures,
        raw=output,
    )


def wrk(url, script, *, duration, env=None, connections=WRK_CONNECTIONS, threads=WRK_THREADS):
    """Run wrk (a separate process) with one of bench/wrk/*.lua; ``env`` reaches the script."""
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
         "-s", str(BENCH / "wrk" / script), url],
        env={**os.environ, **(env or {})}, check=True, capture_output=True, text=True,
    ).stdout
    try:
        load = parse_wrk(output)
    except (AttributeError, KeyError) as exc:
        raise RuntimeError(f"unexpected wrk output for {url} ({exc!r}):\n{output}") from None
    if load.failures:
        raise RuntimeError(f"{load.failures} failed requests to {url}:\n{output}")
    return load


#: Slices per target in ``alternate``.
ROUNDS = 5


def alternate(runs, *, duration, rounds=ROUNDS):
    """Measure several targets in turns (A B A B …) so that a change in the machine's other load
    falls on all of them alike; ``runs`` maps a label to ``fn(seconds) -> Load``. Each label
    gets ``rounds`` slices of ``duration / rounds`` seconds: throughput is their mean, each
    percentile the median of the slices'. Each slice opens its connections afresh, and the
    kernel spreads them over the server's worker processes by chance (eight may land six and
    two): five slices average that out on both sides."""
    slices = {label: [] for label in runs}
    seconds = max(1, round(duration / rounds))
    for _ in range(rounds):
        for label, run in runs.items():
            slices[label].append(run(seconds))
    return {label: combine(loads) for label, loads in slices.items()}


def warm_then_alternate(runs, *, duration):
    """Warm each target for 2 s (imports, connection pools, PostgreSQL's caches), then
    :func:`alternate`."""
    for run in runs.values():
        run(2)
    return alternate(runs, duration=duration)


def combine(loads):
    return Load(
        rps=statistics.fmean(load.rps for load in loads),
        p50=statistics.median(load.p50 for load in loads),
        p90=statistics.median(load.p90 for load in loads),
        p99=statistics.median(load.p99 for load in loads),
        requests=sum(load.requests for load in loads),
    )


# -- memory -------------------------------------------------------------------------------------


class PeakRss:
    """Samples the resident memory of process trees; ``peak[label]`` is the largest single
    process of that tree seen (a web worker, a Dramatiq worker process), in MiB."""

    def __init__(self, interval=0.25):
        self.interval = interval
        self.trees = {}
        self.peak = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()

    def watch(self, label, pid):
        self.trees.setdefault(label, set()).add(pid)

    def _run(self):
        while not self._stop.wait(self.interval):
            for label, pids in list(self.trees.items()):
                processes = []
                for pid in list(pids):
                    try:
                        root = psutil.Process(pid)
                        processes += [root, *root.children(recursive=True)]
                    except psutil.NoSuchProcess:
                        pids.discard(pid)
                for process in processes:
                    try:
                        rss = process.memory_info().rss / 2**20
                    except psutil.NoSuchProcess:
                        continue
                    self.peak[label] = max(self.peak.get(label, 0.0), rss)

    def close(self):
        self._stop.set()
        self._thread.join()


# -- the machine --------------------------------------------------------------------------------


def _cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine():
    """What the figures were measured on."""
    engine = sa.create_engine(database_url("postgres"))
    with engine.connect() as connection:
        postgres = connection.execute(sa.text("SHOW server_version")).scalar()
    engine.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    redis_version = client.info("server")["redis_version"]
    client.close()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    packages = ("gunicorn", "pyramid", "SQLAlchemy", "psycopg", "dramatiq")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": postgres,
        "redis": redis_version,
        "wrk": wrk_version,
        **{name.lower(): metadata.version(name) for name in packages},
    }


def dumps(value):
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


# -- results ------------------------------------------------------------------------------------


@dataclass
class Baseline:
    """A baseline measured in the same run: what it does, its figures, and the ratio ours must
    reach against it (None: shown for comparison only)."""

    what: str
    load: Load
    target: float | None = None


@dataclass
class Comparison:
    """Our figures next to baselines measured in the same run; a ratio is ours / baseline."""

    name: str
    what: str
    unit: str
    ours: Load
    baselines: list
    note: str = ""

    def ratio(self, baseline):
        return self.ours.rps / baseline.load.rps


@dataclass
class Growth:
    """One page at a small and at a large table; ``ratio`` = large p50 / small p50."""

    name: str
    what: str
    small_rows: int
    large_rows: int
    small: Load
    large: Load
    target: float

    @property
    def ratio(self):
        return self.large.p50 / self.small.p50

    @property
    def met(self):
        return self.ratio <= self.target
