"""The chaos test, short: the code of ``make chaos`` (chaos/run.py) with a few hundred events.

The run starts its own processes — web (waitress), two ``dramatiq portal.worker`` processes and
``portal scheduler`` — from production.ini and an environment of its own: the suite's database
(emptied by ``committed`` before and after) and a ``redis-server`` of the run's own on a free
port, which it restarts empty; never the suite's Redis or its broker. LE and MES are fresh
simulators in this process failing 30% of calls. One worker is SIGKILLed, Redis restarts once,
and the report must show every effect exactly once, nothing lost, nothing stuck.
"""

from chaos.run import Config, Run

#: Small, seeded and with a short redispatch period, so that it settles within about a minute.
#: The kill comes while the workers are busy (1.5–4.5 s into the traffic); Redis restarts once
#: the drivers' calls are all out, so that the kill does not wait for it.
SHORT = Config(
    bookings=150, drivers=40, workers=2, threads=4, clients=4, rate=None, kill_every=3.0, kills=1, fail_rate=0.3, seed=5,
    redis_restart_at=1.0, redispatch_after=10, chaos_tail=10.0, settle_timeout=60.0, progress_every=5.0,
)


def test_every_effect_exactly_once_through_kills_a_redis_restart_and_failing_systems(committed, settings, tmp_path):
    lines = []
    report = Run(SHORT, settings["sqlalchemy.url"], tmp_path / "logs", out=lines.append).execute()
    assert report.ok, "\n".join([*lines, report.text(), f"process logs: {tmp_path / 'logs'}"])
