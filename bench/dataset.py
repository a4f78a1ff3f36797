"""Benchmark data written with SQL (``INSERT … SELECT … FROM generate_series``): a million
bookings take seconds, not the hours the services would need.

Every dataset has the same 1000 drivers (WeChat user ``i`` is driver ``i`` with vehicle ``i``)
and three products. Bookings go round-robin over the first ``drivers`` drivers, so the
benchmarked driver (number 1) has a full page of bookings in a small database and about a
thousand in a large one.
"""

import hashlib

import sqlalchemy as sa

from harness import create_database, migrate

DRIVERS = 1000
PRODUCTS = (("NAOH32", "32%液碱"), ("HCL31", "31%盐酸"), ("NACLO10", "10%次氯酸钠"))
#: Old bookings end in one of these; one in 50 is still registered (a full admin page of them
#: even among the first thousand).
HISTORY = ("completed", "completed", "completed", "completed", "completed", "expired", "cancelled", "rejected")


def token(n):
    """The bearer token of driver ``n``'s WeChat user."""
    return f"bench-token-{n:04d}"


ADMIN_SESSION = "bench-admin-session-token"


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def seed(engine, *, drivers=DRIVERS, tokens=20):
    """Products, users, drivers, vehicles, bearer tokens for the first ``tokens`` drivers, and a
    logistics admin with a session (cookie ``portal_admin=ADMIN_SESSION``)."""
    products = list(PRODUCTS)
    with engine.begin() as db:
        db.execute(
            sa.text("INSERT INTO products (code, name, threshold_kg, active) VALUES (:code, :name, 0, true)"),
            [{"code": code, "name": name} for code, name in products],
        )
        db.execute(sa.text("""
            INSERT INTO wechat_users (id, oa_openid, display_name, status, is_staff, first_login_at, last_login_at, login_count)
            SELECT i, 'o-bench-' || i, '司机' || i, 'active', false, now(), now(), 1 FROM generate_series(1, :n) i
        """), {"n": drivers})
        db.execute(sa.text("""
            INSERT INTO drivers (id, user_id, name, id_card_no, mobile, licence_no, qualification_no, qualification_expires_on,
                                 created_at, updated_at, sync_state, synced_at, external_ref)
            SELECT i, i, '司机' || i, '350102' || lpad(i::text, 12, '0'), '138' || lpad(i::text, 8, '0'), 'L' || i, 'Q' || i,
                   current_date + 3650, now(), now(), 'synced', now(), 'LE-D-' || lpad(i::text, 6, '0')
            FROM generate_series(1, :n) i
        """), {"n": drivers})
        db.execute(sa.text("""
            INSERT INTO vehicles (id, driver_id, plate_no, trailer_no, tank_capacity_kg, approved_products, transport_permit_no,
                                  tank_inspection_expires_on, active, created_at, sync_state, synced_at, external_ref)
            SELECT i, i, '闽A' || lpad(i::text, 5, '0'), '闽A' || lpad((i % 10000)::text, 4, '0') || '挂', 30000,
                   CAST(:approved AS json), '闽交运' || i, current_date + 3650, true, now(), 'synced', now(),
                   'LE-V-' || lpad(i::text, 6, '0')
            FROM generate_series(1, :n) i
        """), {"n": drivers, "approved": '["NAOH32", "HCL31", "NACLO10"]'})
        db.execute(
            sa.text("""
                INSERT INTO api_tokens (token_hash, user_id, channel, created_at, expires_at, last_used_at)
                VALUES (:hash, :user_id, 'miniprogram', now(), now() + interval '7 days', now())
            """),
            [{"hash": _sha256(token(n)), "user_id": n} for n in range(1, tokens + 1)],
        )
        admin_id = db.execute(sa.text("""
            INSERT INTO admin_users (username, display_name, password_hash, areas, is_active, failed_logins, created_at)
            VALUES ('bench', '压测管理员', '!', '["logistics"]', true, 0, now()) RETURNING id
        """)).scalar_one()
        db.execute(sa.text("""
            INSERT INTO admin_sessions (token_hash, admin_id, created_at, last_seen_at, expires_at)
            VALUES (:hash, :admin_id, now(), now(), now() + interval '1 day')
        """), {"hash": _sha256(ADMIN_SESSION), "admin_id": admin_id})
        for table in ("wechat_users", "drivers", "vehicles"):
            db.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def add_bookings(engine, first, last, *, drivers):
    """Bookings number ``first``..``last`` (by creation, 20 s apart), each pickup with its stock
    check, round-robin over drivers 1..``drivers``; then the planner's statistics."""
    with engine.begin() as db:
        db.execute(sa.text("""
            INSERT INTO bookings (driver_id, vehicle_id, product_code, kind, quantity_kg, planned_arrival_at, status, reason,
                                  reserved_kg, expires_at, le_state, created_at, sync_state, synced_at, external_ref)
            SELECT d, d, (CAST(:products AS text[]))[1 + i % 3], CASE WHEN i % 4 = 0 THEN 'delivery' ELSE 'pickup' END, 20000,
                   t + interval '2 hours',
                   CASE WHEN i % 50 = 7 THEN 'registered' ELSE (CAST(:history AS text[]))[1 + (i * 7) % 8] END, NULL, 0, t + interval '6 hours', 'registered',
                   t, 'synced', t, 'K' || lpad(i::text, 8, '0')
            FROM (SELECT i, 1 + i % :drivers AS d, timestamptz '2026-01-01 00:00+08' + i * interval '20 seconds' AS t
                  FROM generate_series(CAST(:first AS bigint), :last) i) s
            ORDER BY i
        """), {"first": first, "last": last, "drivers": drivers, "products": [c for c, _ in PRODUCTS], "history": list(HISTORY)})
        db.execute(sa.text("""
            INSERT INTO stock_checks (booking_id, created_at, stock_kg, reserved_kg, threshold_kg, accepted, sync_state, synced_at)
            SELECT id, created_at, 1000000, 0, 0, status <> 'rejected', 'synced', created_at
            FROM bookings WHERE kind = 'pickup' AND id > (SELECT coalesce(max(booking_id), 0) FROM stock_checks)
        """))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(sa.text("VACUUM ANALYZE bookings"))
        db.execute(sa.text("VACUUM ANALYZE stock_checks"))


def count_bookings(engine):
    with engine.connect() as db:
        return db.execute(sa.text("SELECT count(*) FROM bookings")).scalar_one()


def prepare(name, *, bookings=1000, drivers_with_bookings=50):
    """A fresh, migrated database ``name`` with the seed and ``bookings`` bookings; its URL."""
    url = create_database(name)
    migrate(url)
    engine = sa.create_engine(url)
    try:
        seed(engine)
        if bookings:
            add_bookings(engine, 1, bookings, drivers=drivers_with_bookings)
    finally:
        engine.dispose()
    return url
