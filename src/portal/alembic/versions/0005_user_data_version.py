"""user data version: a value per WeChat user that changes with everything their own lists show

Answers that show a user's own records (the driver's booking list) are cached per (user,
version); the API's authentication query reads the version with the token, so a cached answer
costs one query. Triggers keep the version honest whatever writes the rows (services, actors,
SQL in an operator's console), in the writing transaction: a reader never sees new rows under
an old version. On PostgreSQL the values come from a sequence of their own, never reused, even
when a user id is (a restored backup, a truncated test database).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:00:00.000000
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

PG_BUMP = "UPDATE wechat_users SET data_version = nextval('wechat_users_data_version_seq') WHERE id IN"
SQLITE_BUMP = "UPDATE wechat_users SET data_version = (SELECT max(data_version) + 1 FROM wechat_users) WHERE id IN"


def _pg_trigger(table, event, owners):
    """A statement-level trigger: one bump per user however many rows a statement writes (an
    operator's bulk UPDATE, a data load). ``owners`` selects user ids from the transition table
    ``changed`` (and ``before`` for updates)."""
    name = f"{table}_{event.lower()}_bump_data_version"
    referencing = "NEW TABLE AS changed" + (" OLD TABLE AS before" if event == "UPDATE" else "")
    return [
        f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {PG_BUMP} ({owners}); RETURN NULL; END $$""",
        f"""CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing}
        FOR EACH STATEMENT EXECUTE FUNCTION {name}()""",
    ]


#: The users whose lists show the changed bookings, stock checks, vehicles (plate numbers) and
#: products (names).
BOOKING_OWNERS = "SELECT d.user_id FROM drivers d JOIN changed c ON c.driver_id = d.id"
CHECK_OWNERS = "SELECT d.user_id FROM drivers d JOIN bookings b ON b.driver_id = d.id JOIN changed c ON c.booking_id = b.id"
RENAMED_VEHICLE_OWNERS = (
    "SELECT d.user_id FROM drivers d JOIN changed c ON c.driver_id = d.id JOIN before o ON o.id = c.id"
    " WHERE o.plate_no IS DISTINCT FROM c.plate_no OR o.trailer_no IS DISTINCT FROM c.trailer_no"
)
RENAMED_PRODUCT_BOOKERS = (
    "SELECT d.user_id FROM drivers d JOIN bookings b ON b.driver_id = d.id JOIN changed c ON c.code = b.product_code"
    " JOIN before o ON o.code = c.code WHERE o.name IS DISTINCT FROM c.name"
)

POSTGRESQL = [
    "CREATE SEQUENCE wechat_users_data_version_seq",
    "ALTER TABLE wechat_users ADD COLUMN data_version bigint NOT NULL DEFAULT nextval('wechat_users_data_version_seq')",
    *_pg_trigger("bookings", "INSERT", BOOKING_OWNERS),
    *_pg_trigger("bookings", "UPDATE", BOOKING_OWNERS),
    *_pg_trigger("stock_checks", "INSERT", CHECK_OWNERS),
    *_pg_trigger("stock_checks", "UPDATE", CHECK_OWNERS),
    *_pg_trigger("vehicles", "UPDATE", RENAMED_VEHICLE_OWNERS),
    *_pg_trigger("products", "UPDATE", RENAMED_PRODUCT_BOOKERS),
]

#: SQLite (the embedded default) has row triggers only.
#: The user of the row's driver (a booking's, a vehicle's).
OWNER_OF_ROW = "SELECT user_id FROM drivers WHERE id = NEW.driver_id"
OWNER_OF_CHECK = "SELECT d.user_id FROM drivers d JOIN bookings b ON b.driver_id = d.id WHERE b.id = NEW.booking_id"
BOOKERS_OF_PRODUCT = "SELECT d.user_id FROM drivers d JOIN bookings b ON b.driver_id = d.id WHERE b.product_code = NEW.code"

SQLITE = [
    "ALTER TABLE wechat_users ADD COLUMN data_version bigint NOT NULL DEFAULT 0",
    f"CREATE TRIGGER bookings_insert_bump_data_version AFTER INSERT ON bookings BEGIN {SQLITE_BUMP} ({OWNER_OF_ROW}); END",
    f"CREATE TRIGGER bookings_update_bump_data_version AFTER UPDATE ON bookings BEGIN {SQLITE_BUMP} ({OWNER_OF_ROW}); END",
    f"CREATE TRIGGER stock_checks_insert_bump_data_version AFTER INSERT ON stock_checks BEGIN {SQLITE_BUMP} ({OWNER_OF_CHECK}); END",
    f"CREATE TRIGGER stock_checks_update_bump_data_version AFTER UPDATE ON stock_checks BEGIN {SQLITE_BUMP} ({OWNER_OF_CHECK}); END",
    f"""CREATE TRIGGER vehicles_bump_data_version AFTER UPDATE OF plate_no, trailer_no ON vehicles
    WHEN OLD.plate_no IS NOT NEW.plate_no OR OLD.trailer_no IS NOT NEW.trailer_no
    BEGIN {SQLITE_BUMP} ({OWNER_OF_ROW}); END""",
    f"""CREATE TRIGGER products_bump_data_version AFTER UPDATE OF name ON products WHEN OLD.name IS NOT NEW.name
    BEGIN {SQLITE_BUMP} ({BOOKERS_OF_PRODUCT}); END""",
]

_PG_TRIGGERS = [
    ("bookings", "insert"), ("bookings", "update"), ("stock_checks", "insert"), ("stock_checks", "update"),
    ("vehicles", "update"), ("products", "update"),
]
POSTGRESQL_DROP = [
    *(f"DROP TRIGGER {t}_{e}_bump_data_version ON {t}" for t, e in _PG_TRIGGERS),
    *(f"DROP FUNCTION {t}_{e}_bump_data_version()" for t, e in _PG_TRIGGERS),
    "ALTER TABLE wechat_users DROP COLUMN data_version",
    "DROP SEQUENCE wechat_users_data_version_seq",
]

SQLITE_DROP = [
    "DROP TRIGGER products_bump_data_version",
    "DROP TRIGGER vehicles_bump_data_version",
    "DROP TRIGGER stock_checks_update_bump_data_version",
    "DROP TRIGGER stock_checks_insert_bump_data_version",
    "DROP TRIGGER bookings_update_bump_data_version",
    "DROP TRIGGER bookings_insert_bump_data_version",
]


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    for statement in POSTGRESQL if _postgresql() else SQLITE:
        op.execute(statement)


def downgrade():
    for statement in POSTGRESQL_DROP if _postgresql() else SQLITE_DROP:
        op.execute(statement)
    if not _postgresql():
        with op.batch_alter_table('wechat_users', schema=None) as batch_op:
            batch_op.drop_column('data_version')
