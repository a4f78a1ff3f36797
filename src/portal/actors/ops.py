"""Operations actors: connectivity checks against the contract systems."""

from portal.messaging import actor
from portal.models.ops import ConnectivityCheck


@actor(
    "ops.run_connectivity_check", queue="default", subject=ConnectivityCheck,
    max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=30_000,
)
def run_connectivity_check(job, check_id):
    """Send one signed, idempotent test write to the check's system (连通性检测)."""
    check = job.db.get(ConnectivityCheck, check_id)
    if check is None:
        return
    result = job.client(check.system).connectivity_check(idempotency_key=job.idempotency_key, note=check.note)
    check.mark_synced(external_ref=str(result.get("check_id", "")))
