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

#: The users whose lists show a booking, a stock check, a vehicle, a product.
OWNER_OF_BOOKING = "SELECT user_id FROM drivers WHERE id = NEW.driver_id"
OWNER_OF_CHECK = "SELECT d.user_id FROM drivers d JOIN bookings b ON b.driver_id = d.id WHERE b.id = NEW.booking_id"
OWNER_OF_VEHICLE = "SELECT user_id FROM drivers WHERE id = NEW.driver_id"
BOOKERS_OF_PRODUCT = "SELECT d.user_id FROM drivers d JOIN bookings b ON b.driver_id = d.id WHERE b.product_code = NEW.code"

PG_BUMP = "UPDATE wechat_users SET data_version = nextval('wechat_users_data_version_seq') WHERE id IN"
SQLITE_BUMP = "UPDATE wechat_users SET data_version = (SELECT max(data_version) + 1 FROM wechat_users) WHERE id IN"


def _pg_function(name, owners):
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {PG_BUMP} ({owners}); RETURN NULL; END $$"""


POSTGRESQL = [
    "CREATE SEQUENCE wechat_users_data_version_seq",
    "ALTER TABLE wechat_users ADD COLUMN data_version bigint NOT NULL DEFAULT nextval('wechat_users_data_version_seq')",
    _pg_function("bump_data_version_of_booking", OWNER_OF_BOOKING),
    _pg_function("bump_data_version_of_check", OWNER_OF_CHECK),
    _pg_function("bump_data_version_of_vehicle", OWNER_OF_VEHICLE),
    _pg_function("bump_data_version_of_product", BOOKERS_OF_PRODUCT),
    """CREATE TRIGGER bookings_bump_data_version AFTER INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bump_data_version_of_booking()""",
    """CREATE TRIGGER stock_checks_bump_data_version AFTER INSERT OR UPDATE ON stock_checks
    FOR EACH ROW EXECUTE FUNCTION bump_data_version_of_check()""",
    """CREATE TRIGGER vehicles_bump_data_version AFTER UPDATE OF plate_no, trailer_no ON vehicles
    FOR EACH ROW WHEN (OLD.plate_no IS DISTINCT FROM NEW.plate_no OR OLD.trailer_no IS DISTINCT FROM NEW.trailer_no)
    EXECUTE FUNCTION bump_data_version_of_vehicle()""",
    """CREATE TRIGGER products_bump_data_version AFTER UPDATE OF name ON products
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION bump_data_version_of_product()""",
]

SQLITE = [
    "ALTER TABLE wechat_users ADD COLUMN data_version bigint NOT NULL DEFAULT 0",
    f"CREATE TRIGGER bookings_insert_bump_data_version AFTER INSERT ON bookings BEGIN {SQLITE_BUMP} ({OWNER_OF_BOOKING}); END",
    f"CREATE TRIGGER bookings_update_bump_data_version AFTER UPDATE ON bookings BEGIN {SQLITE_BUMP} ({OWNER_OF_BOOKING}); END",
    f"CREATE TRIGGER stock_checks_insert_bump_data_version AFTER INSERT ON stock_checks BEGIN {SQLITE_BUMP} ({OWNER_OF_CHECK}); END",
    f"CREATE TRIGGER stock_checks_update_bump_data_version AFTER UPDATE ON stock_checks BEGIN {SQLITE_BUMP} ({OWNER_OF_CHECK}); END",
    f"""CREATE TRIGGER vehicles_bump_data_version AFTER UPDATE OF plate_no, trailer_no ON vehicles
    WHEN OLD.plate_no IS NOT NEW.plate_no OR OLD.trailer_no IS NOT NEW.trailer_no
    BEGIN {SQLITE_BUMP} ({OWNER_OF_VEHICLE}); END""",
    f"""CREATE TRIGGER products_bump_data_version AFTER UPDATE OF name ON products WHEN OLD.name IS NOT NEW.name
    BEGIN {SQLITE_BUMP} ({BOOKERS_OF_PRODUCT}); END""",
]

POSTGRESQL_DROP = [
    "DROP TRIGGER products_bump_data_version ON products",
    "DROP TRIGGER vehicles_bump_data_version ON vehicles",
    "DROP TRIGGER stock_checks_bump_data_version ON stock_checks",
    "DROP TRIGGER bookings_bump_data_version ON bookings",
    "DROP FUNCTION bump_data_version_of_product()",
    "DROP FUNCTION bump_data_version_of_vehicle()",
    "DROP FUNCTION bump_data_version_of_check()",
    "DROP FUNCTION bump_data_version_of_booking()",
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
