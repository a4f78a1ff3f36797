"""The faults of a run: failing and slow contract systems, killed workers, one Redis restart.

Worker kills are followed up. Just before a kill, every worker's unacknowledged messages are
read from Redis (``<namespace>:__acks__.<worker id>.<queue>``); a few seconds later the victim
is the worker whose heartbeat stopped. Its messages must be given back to the broker — requeued
by the scheduler's broker maintenance (or resent by the relay when Redis restarted in between)
— within :data:`REQUEUE_BOUND` seconds, and then processed again: the outbox row done, or a
newer failed attempt on it. How soon that happens depends on the queue ahead of them; Dramatiq
requeues at the back.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from portal.models.outbox import OutboxMessage

from .cluster import Cluster

#: Seconds within which a killed worker's messages must be back in the broker.
REQUEUE_BOUND = 60
#: Seconds after a kill when the victim is told from the living by its silent heartbeat (a
#: living worker beats every heartbeat timeout / 4 seconds).
IDENTIFY_AFTER = 4
#: After the Redis restart the next kill waits this long, for the living workers to beat again.
QUIET_AFTER_REDIS = 5


@dataclass
class Kill:
    number: int
    worker: str
    at: float
    #: Every worker's heartbeat and unacked message ids just before the kill.
    beats: dict
    acks: dict
    #: ``None`` until the victim is told apart; then its Dramatiq broker id.
    victim: str | None = None
    ambiguous: bool = False
    #: Outbox ids of the victim's unacked messages from the work queue (in hand or prefetched).
    held: list = field(default_factory=list)
    #: How many delayed messages (retries waiting, expiries) it held; they come back at their eta.
    held_delayed: int = 0
    attempts_before: dict = field(default_factory=dict)
    requeued_after: float | None = None
    requeue_note: str = ""
    #: outbox id → seconds from the kill until the message was processed again.
    reprocessed_after: dict = field(default_factory=dict)
    redis_restarts_at_kill: int = 0

    @property
    def waiting(self):
        return [outbox_id for outbox_id in self.held if outbox_id not in self.reprocessed_after]

    @property
    def slowest(self):
        return max(self.reprocessed_after.values(), default=0.0)


class Chaos:
    """A thread that injects the faults while they are on and follows up every kill."""

    def __init__(self, cluster, simulators, session_factory, rng, *, kill_every, max_kills, fail_rate,
                 latency_jitter_ms, hold_seconds, redis_down_seconds):
        self.cluster, self.simulators, self.session_factory, self.rng = cluster, simulators, session_factory, rng
        self.kill_every, self.max_kills = kill_every, max_kills
        self.fail_rate, self.latency_jitter_ms, self.hold_seconds = fail_rate, latency_jitter_ms, hold_seconds
        self.redis_down_seconds = redis_down_seconds
        self.kills = []
        self.redis_restarted_at = None
        self.restart_redis = threading.Event()
        self.faults_on = threading.Event()
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="chaos", daemon=True)
        self._restarts = {}  # worker index → monotonic time to start it again

    # -- switching -----------------------------------------------------------------------

    def start(self):
        for simulator in self.simulators.values():
            simulator.faults.update(fail_rate=self.fail_rate, fail_kinds=["5xx", "timeout"],
                                    latency_jitter_ms=self.latency_jitter_ms, hold_seconds=self.hold_seconds)
        self.faults_on.set()
        self.thread.start()

    @property
    def required_done(self):
        """The one Redis restart happened and, with a kill budget, every kill did."""
        return self.redis_restarted_at is not None and (self.max_kills is None or len(self.kills) >= self.max_kills)

    def stop_faults(self):
        """No more kills or failures; restarts still due happen, follow-ups go on."""
        self.faults_on.clear()
        for simulator in self.simulators.values():
            simulator.faults.update(fail_rate=0.0, latency_jitter_ms=0)

    def close(self):
        self.closed.set()
        self.thread.join(timeout=30)

    # -- the loop --------------------------------------------------------------------------

    def _interval(self):
        return self.kill_every * self.rng.uniform(0.5, 1.5)

    def _loop(self):
        next_kill = time.monotonic() + self._interval()
        while not self.closed.is_set():
            now = time.monotonic()
            for index, due in list(self._restarts.items()):
                if now >= due:
                    self.cluster.workers[index].start()
                    del self._restarts[index]
            if self.faults_on.is_set():
                if self.restart_redis.is_set() and self.redis_restarted_at is None:
                    # No kill until the restart, and no restart until broker maintenance has
                    # requeued every victim's messages: each recovery path gets its own test.
                    if all(self._requeued_or_overdue(kill) for kill in self.kills):
                        self.cluster.redis.restart(self.redis_down_seconds)
                        self.redis_restarted_at = time.time()
                        next_kill = max(next_kill, time.monotonic() + QUIET_AFTER_REDIS)
                elif now >= next_kill and (self.max_kills is None or len(self.kills) < self.max_kills):
                    self._kill()
                    next_kill = time.monotonic() + self._interval()
            for kill in self.kills:
                self._follow(kill)
            self.closed.wait(0.5)

    def _kill(self):
        running = [i for i in range(len(self.cluster.workers)) if i not in self._restarts]
        if not running:
            return
        index = self.rng.choice(running)
        beats, acks = self._broker_snapshot()
        worker = self.cluster.workers[index]
        worker.kill()
        self.kills.append(Kill(len(self.kills) + 1, worker.name, time.time(), beats, acks,
                               redis_restarts_at_kill=self.cluster.redis.restarts))
        # A replacement comes up a moment later, as a supervisor would start it.
        self._restarts[index] = time.monotonic() + self.rng.uniform(0.5, 3.0)

    # -- following a kill -------------------------------------------------------------------

    @staticmethod
    def _requeued_or_overdue(kill):
        return kill.ambiguous or kill.requeued_after is not None or time.time() - kill.at > REQUEUE_BOUND

    def _key(self, suffix):
        return f"{Cluster.NAMESPACE}:{suffix}"

    def _broker_snapshot(self):
        client = self.cluster.redis.client
        beats = {k.decode(): score for k, score in client.zrange(self._key("__heartbeats__"), 0, -1, withscores=True)}
        acks = {}
        prefix = self._key("__acks__.")
        for key in client.scan_iter(match=prefix + "*"):
            worker_id, queue = key.decode()[len(prefix):].split(".", 1)
            acks.setdefault(worker_id, {})[queue] = [m.decode() for m in client.smembers(key)]
        return beats, acks

    def _follow(self, kill):
        if kill.victim is None and not kill.ambiguous and time.time() - kill.at >= IDENTIFY_AFTER:
            self._identify(kill)
        if kill.victim is None:
            return
        if kill.requeued_after is None:
            self._check_requeued(kill)
        if kill.waiting:
            self._check_reprocessed(kill)

    def _identify(self, kill):
        client = self.cluster.redis.client
        beats = {k.decode(): score for k, score in client.zrange(self._key("__heartbeats__"), 0, -1, withscores=True)}
        earlier = {k.victim for k in self.kills if k.victim}
        killed_ms = kill.at * 1000
        silent = [
            worker_id for worker_id in kill.acks
            if worker_id not in earlier
            and kill.beats.get(worker_id, 0) >= killed_ms - 4000  # alive just before the kill
            and beats.get(worker_id, 0) <= killed_ms  # and never since (or gone: requeued already)
        ]
        if len(silent) > 1:
            kill.ambiguous = True
            return
        if not silent:  # the victim held nothing: no ack set at all
            kill.victim, kill.requeued_after, kill.requeue_note = "-", 0.0, "held nothing"
            return
        kill.victim = silent[0]
        held = kill.acks[kill.victim]
        kill.held_delayed = sum(len(ids) for queue, ids in held.items() if queue.endswith(".DQ"))
        for queue, ids in held.items():
            if queue.endswith(".DQ") or not ids:
                continue
            for data in client.hmget(self._key(f"{queue}.msgs"), ids):
                outbox_id = data and json.loads(data)["options"].get("outbox_id")
                if outbox_id is not None:
                    kill.held.append(outbox_id)
        with self.session_factory() as db:
            kill.attempts_before = dict(
                db.execute(select(OutboxMessage.id, OutboxMessage.attempts).where(OutboxMessage.id.in_(kill.held))).all()
            )

    def _check_requeued(self, kill):
        if self.cluster.redis.restarts != kill.redis_restarts_at_kill:
            kill.requeued_after, kill.requeue_note = time.time() - kill.at, "not requeued before the Redis restart"
            return
        keys = [self._key(f"__acks__.{kill.victim}.{queue}") for queue in kill.acks[kill.victim]]
        if not self.cluster.redis.client.exists(*keys):
            kill.requeued_after, kill.requeue_note = time.time() - kill.at, "requeued by broker maintenance"

    def _check_reprocessed(self, kill):
        at = datetime.fromtimestamp(kill.at, timezone.utc)
        with self.session_factory() as db:
            rows = db.execute(
                select(OutboxMessage.id, OutboxMessage.done_at, OutboxMessage.dead_at, OutboxMessage.last_failed_at,
                       OutboxMessage.attempts)
                .where(OutboxMessage.id.in_(kill.waiting))
            ).all()
        for outbox_id, done_at, dead_at, last_failed_at, attempts in rows:
            moments = [t for t in (done_at, dead_at) if t is not None]
            if attempts > kill.attempts_before.get(outbox_id, 0) and last_failed_at is not None:
                moments.append(last_failed_at)
            if moments:
                # Finished by the victim itself just before it died (not acked yet) counts as 0.
                kill.reprocessed_after[outbox_id] = max(0.0, (min(moments) - at).total_seconds())
