"""Operations pages: dead letters (list, detail, retry, discard), outbox and periodic jobs."""

import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from portal import outbox
from portal.db import Transaction
from portal.models.admin import AdminUser, AuditEntry
from portal.models.meta import utcnow
from portal.models.ops import DeadLetter, DeadLetterStatus
from portal.models.outbox import OutboxMessage

from ..conftest import ROOT
from ..support import factories
from ..support.factories import csrf_from, login_admin


def _dead_letter(db):
    check = factories.connectivity_check(db, "le")
    row = db.scalars(select(OutboxMessage)).one()
    row.dead_at = row.dispatched_at = row.created_at
    letter = DeadLetter(
        outbox_id=row.id, message_id="m-1", actor_name=row.actor_name, queue_name="default", args=[check.id],
        error="LE物流系统返回 HTTP 422", traceback="Traceback (most recent call last): …", permanent=True,
    )
    db.add(letter)
    db.flush()
    return letter, row


def test_dead_letters_are_listed_shown_and_retried_with_an_audit_entry(testapp, db):
    letter, row = _dead_letter(db)
    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    listing = testapp.get("/admin/dead-letters")
    assert "LE物流系统返回 HTTP 422" in listing.text and "共 1 条" in listing.text
    detail = testapp.get(f"/admin/dead-letters/{letter.id}")
    assert "Traceback" in detail.text and row.idempotency_key in detail.text
    done = testapp.post(f"/admin/dead-letters/{letter.id}", {"action": "retry", "csrf_token": csrf_from(detail)}).follow()
    assert "已重新投递" in done.text
    assert (letter.status, letter.resolved_by) == (DeadLetterStatus.retried, "boss")
    assert row.dead_at is None and row.dispatched_at is None  # re-armed for the relay
    again = testapp.post(f"/admin/dead-letters/{letter.id}", {"action": "discard", "csrf_token": csrf_from(done)}).follow()
    assert "不能再处理" in again.text
    entry = db.scalars(select(AuditEntry).where(AuditEntry.target_type == "dead_letter")).one()
    assert entry.action == "dead_letter.retry"
    assert "共 0 条" in testapp.get("/admin/dead-letters").text  # open ones only by default
    assert "共 1 条" in testapp.get("/admin/dead-letters", {"status": "all"}).text


def test_a_dead_letter_can_be_discarded(testapp, db):
    letter, _ = _dead_letter(db)
    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    page = testapp.get(f"/admin/dead-letters/{letter.id}")
    testapp.post(f"/admin/dead-letters/{letter.id}", {"action": "discard", "csrf_token": csrf_from(page)}, status=302)
    assert letter.status is DeadLetterStatus.discarded


def test_admins_cannot_lock_themselves_out(testapp, db):
    boss = factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    page = testapp.get(f"/admin/accounts/{boss.id}")
    response = testapp.post(f"/admin/accounts/{boss.id}", {"csrf_token": csrf_from(page), "areas": "super"}, status=400)
    assert "不能停用自己的账号" in response.text and boss.is_active


def test_the_console_creates_the_first_administrator(settings, committed):
    env = {**os.environ, "DATABASE_URL": settings["sqlalchemy.url"], "PORTAL_NEW_ADMIN_PASSWORD": "first-admin-2026"}
    command = [sys.executable, "-m", "portal.cli", "-c", str(ROOT / "development.ini"), "create-admin", "firstboss", "--name", "第一位管理员"]
    created = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "该用户名已存在" in again.stderr
    weak = subprocess.run(command[:-3] + ["weakling"], env={**env, "PORTAL_NEW_ADMIN_PASSWORD": "123"}, capture_output=True, text=True)
    assert weak.returncode == 1 and "密码至少" in weak.stderr
    with Transaction(committed) as db:
        admin = db.scalars(select(AdminUser).where(AdminUser.username == "firstboss")).one()
        assert admin.areas == ["super"] and admin.display_name == "第一位管理员"


def test_delayed_messages_are_shown_waiting_for_their_time_not_in_flight(testapp, db):
    """A booking's 退卡 timer is a message due at the end of its window: not work under way."""
    later = utcnow() + timedelta(hours=3)
    for _ in range(2):
        outbox.defer(db, "le.expire_booking", 1, eta=later).dispatched_at = utcnow()
    outbox.defer(db, "ops.run_connectivity_check", 1).dispatched_at = utcnow()
    db.flush()
    status = outbox.status(db)
    assert (status["undispatched"], status["in_flight"], status["delayed"]) == (0, 1, 2)
    assert status["delayed_by_actor"] == [("le.expire_booking", 2, later)]

    factories.admin(db, "super", username="boss")
    login_admin(testapp, "boss")
    page = testapp.get("/admin/outbox")
    counts = page.text[page.text.index('id="outbox-status"'):page.text.index("</table>")]
    assert "延时消息（等待到点）" in counts and "<td>2 <span" in counts and "<td>1</td>" in counts
    assert "le.expire_booking" in page.text[page.text.index('id="outbox-delayed"'):]
    assert "处理中" not in page.text
    # The dashboard no longer shows the outbox.
    assert "待发送消息" not in testapp.get("/admin/").text
