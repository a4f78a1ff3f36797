"""Idempotency keys (幂等键): a request sent again with the same ``Idempotency-Key`` gets the
first answer again — same status, same body — and nothing is done twice.

The key is claimed first, in the request's own transaction, under a unique index per user: a
repeat that races the first waits for it to commit, then reads its answer. Only answers that
committed are kept; a refused request leaves no key, and its repeat is decided afresh. Keys
expire after :data:`KEPT_FOR` (the ``idempotency-purge`` job deletes them; an expired key is
claimed anew).
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from portal.db import Transaction
from portal.messaging import runtime
from portal.models.idempotency import IdempotentRequest
from portal.models.meta import utcnow
from portal.refusal import Refusal

KEPT_FOR = timedelta(hours=24)


def fingerprint(operation: str, body: dict) -> str:
    """The request as a hash: the same operation and the same JSON, whatever its key order and spacing."""
    canonical = json.dumps([operation, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer_once(
    db: Session, user_id: int, key: str, fingerprint: str, answer: Callable[[], tuple[int, str]], now: datetime | None = None
) -> tuple[int, str, bool]:
    """``answer()`` — a status and a JSON text — once per user and key: ``(status, body,
    replayed)``. A repeat of the request gets the first answer (``replayed``); another request
    under the same key is refused."""
    earlier = _claim(db, user_id, key, fingerprint, now or utcnow())
    if earlier is None:
        status, body = answer()
        db.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)
            .values(status=status, body=body)
        )
        return status, body, False
    if earlier.fingerprint != fingerprint:
        raise Refusal(
            "idempotency_key_reused", "该 Idempotency-Key 已用于另一个内容不同的请求，新的提交请使用新的 Idempotency-Key",
            {"Idempotency-Key": "已用于内容不同的请求"}, status=422,
        )
    return earlier.status, earlier.body, True


def _claim(db: Session, user_id: int, key: str, fingerprint: str, now: datetime) -> IdempotentRequest | None:
    """Claim ``key`` for this request: None when it is this request's to answer (a new key, or
    an expired one), else the earlier request that holds it (committed, with its answer)."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(IdempotentRequest).values(user_id=user_id, key=key, fingerprint=fingerprint, created_at=now)
    claimed = db.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "key"],
            set_={"fingerprint": fingerprint, "status": None, "body": None, "created_at": now},
            where=IdempotentRequest.created_at <= now - KEPT_FOR,
        ).returning(IdempotentRequest.id)
    ).first()
    if claimed is not None:
        return None
    return db.scalar(select(IdempotentRequest).where(IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))


def purge(session_factory: sessionmaker | None = None, *, now: datetime | None = None) -> int:
    """Delete expired keys; returns how many."""
    cutoff = (now or utcnow()) - KEPT_FOR
    with Transaction(session_factory or runtime().session_factory) as db:
        return db.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at <= cutoff)).rowcount
