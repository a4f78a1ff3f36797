"""This test run's own names, so that two runs on one machine never meet.

A run gets a PostgreSQL database, a Redis key prefix (runs may share a Redis database, so
nothing may flush it) and a RabbitMQ virtual host, each named after ``RUN`` — the process id
and a random part — and removed at the end of the run. A run that was killed cannot clean up:
the next run removes the databases and keys of runs whose process is gone.
"""

import os
import re
import secrets
import subprocess

import sqlalchemy as sa

RUN = f"{os.getpid()}_{secrets.token_hex(3)}"
DATABASE = f"portal_test_{RUN}"
REDIS_PREFIX = f"portal-test-{RUN}"
VHOST = f"portal-test-{RUN}"

#: A run's id inside a name made from it (a scratch database adds a suffix).
_RUN_IN_DATABASE = re.compile(r"^portal_test_(\d+)_[0-9a-f]{6}(_|$)")
_RUN_IN_KEY = re.compile(rb"^portal-test-(\d+)_[0-9a-f]{6}:")


def _gone(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, somebody else's
    return False


def drop_databases(connection, names):
    for name in names:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sweep_databases(connection):
    """Drop the databases of runs whose process is gone (``connection`` in autocommit)."""
    names = connection.scalars(sa.text("SELECT datname FROM pg_database"))
    drop_databases(connection, [n for n in names if (m := _RUN_IN_DATABASE.match(n)) and _gone(m.group(1))])


def delete_keys(client, prefix):
    """Delete every key under ``prefix:``."""
    batch = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)


def sweep_keys(client):
    """Delete the keys of runs whose process is gone."""
    dead = {m.group(0) for key in client.scan_iter(match="portal-test-*", count=1000)
            if (m := _RUN_IN_KEY.match(key)) and _gone(m.group(1))}
    for prefix in dead:
        delete_keys(client, prefix.decode()[:-1])


def rabbitmqctl(*args):
    """The local RabbitMQ's control tool (as root on this machine kind)."""
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
