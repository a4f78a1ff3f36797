"""identity and idempotency: identifiers in normal form, one driver per ID number, idempotency keys

Identifiers typed before normalisation (full-width or Arabic-Indic digits, a lower-case x,
spaces) are rewritten in the normal form of portal.validation. Then ID numbers become unique
per driver. Drivers that turn out to share one (two WeChat accounts of one person) are not
merged or deleted here: the upgrade stops and names them, and an operator keeps one profile
per person before running it again (a profile's vehicles, bookings and documents go with it).
The same holds for one driver's vehicles whose plates become equal.

Also: the idempotency keys of the JSON API, the index behind a new booking's duplicate check,
and triggers that move both users' data version when a driver profile is moved to another
WeChat account (the lists cached under the old account's version must not be served).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03 09:28:12.457089
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

import portal.models.meta
from portal import validation

revision = '0007'
down_revision = "0006"
branch_labels = None
depends_on = None

_DRIVERS = sa.table("drivers", sa.column("id"), sa.column("id_card_no"), sa.column("escort_id_card_no"), sa.column("mobile"))
_VEHICLES = sa.table("vehicles", sa.column("id"), sa.column("driver_id"), sa.column("plate_no"), sa.column("trailer_no"))


def _normalised(row, forms):
    """The row's columns whose normal form differs from what is stored."""
    changes = {}
    for column, normalise in forms.items():
        value = getattr(row, column)
        if value is not None and normalise(value) != value:
            changes[column] = normalise(value)
    return changes


def _clashes(rows, key):
    groups = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row.id)
    return {value: ids for value, ids in groups.items() if len(ids) > 1}


def normalise_identifiers(bind):
    """Rewrite the stored identifiers in normal form, or stop naming the records that would clash."""
    driver_forms = {
        "id_card_no": validation.normalise_id_card, "escort_id_card_no": validation.normalise_id_card,
        "mobile": validation.normalise_mobile,
    }
    vehicle_forms = {"plate_no": validation.normalise_plate, "trailer_no": validation.normalise_plate}
    drivers = bind.execute(sa.select(_DRIVERS)).all()
    vehicles = bind.execute(sa.select(_VEHICLES)).all()
    problems = [
        f"drivers {', '.join(map(str, ids))} share the ID number {validation.mask_id_card(number)}"
        for number, ids in _clashes(drivers, lambda d: validation.normalise_id_card(d.id_card_no)).items()
    ] + [
        f"vehicles {', '.join(map(str, ids))} of driver {driver_id} share the plate {plate}"
        for (driver_id, plate), ids in _clashes(vehicles, lambda v: (v.driver_id, validation.normalise_plate(v.plate_no))).items()
    ]
    if problems:
        raise RuntimeError(
            "migration 0007 makes ID numbers unique per driver (and plates per driver's vehicles), written in one "
            "normal form, but " + "; ".join(problems) + ". Keep one record per person (or plate) — delete the others "
            "or correct them — and run the migration again."
        )
    for table, rows, forms in ((_DRIVERS, drivers, driver_forms), (_VEHICLES, vehicles, vehicle_forms)):
        for row in rows:
            if changes := _normalised(row, forms):
                bind.execute(sa.update(table).where(table.c.id == row.id).values(**changes))


#: Both accounts of a moved driver profile: the one it left and the one it joined.
PG_MOVED_OWNERS = (
    "SELECT o.user_id FROM before o JOIN changed c ON c.id = o.id WHERE o.user_id <> c.user_id"
    " UNION SELECT c.user_id FROM before o JOIN changed c ON c.id = o.id WHERE o.user_id <> c.user_id"
)
POSTGRESQL_TRIGGER = [
    f"""CREATE FUNCTION drivers_update_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE wechat_users SET data_version = nextval('wechat_users_data_version_seq') WHERE id IN ({PG_MOVED_OWNERS});
    RETURN NULL; END $$""",
    """CREATE TRIGGER drivers_update_bump_data_version AFTER UPDATE ON drivers
    REFERENCING NEW TABLE AS changed OLD TABLE AS before FOR EACH STATEMENT EXECUTE FUNCTION drivers_update_bump_data_version()""",
]
SQLITE_TRIGGER = [
    """CREATE TRIGGER drivers_update_bump_data_version AFTER UPDATE OF user_id ON drivers
    WHEN OLD.user_id IS NOT NEW.user_id
    BEGIN UPDATE wechat_users SET data_version = (SELECT max(data_version) + 1 FROM wechat_users)
    WHERE id IN (OLD.user_id, NEW.user_id); END""",
]


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    normalise_identifiers(op.get_bind())
    with op.batch_alter_table('drivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drivers_id_card_no'))
        batch_op.create_index(batch_op.f('ix_drivers_id_card_no'), ['id_card_no'], unique=True)
    for statement in POSTGRESQL_TRIGGER if _postgresql() else SQLITE_TRIGGER:
        op.execute(statement)

    op.create_table('idempotent_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', portal.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['wechat_users.id'], name=op.f('fk_idempotent_requests_user_id_wechat_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_requests')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotent_requests_user_id'))
    )
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotent_requests_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_vehicle_id_status', ['vehicle_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_vehicle_id_status')

    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotent_requests_created_at'))
    op.drop_table('idempotent_requests')

    if _postgresql():
        op.execute("DROP TRIGGER drivers_update_bump_data_version ON drivers")
        op.execute("DROP FUNCTION drivers_update_bump_data_version()")
    else:
        op.execute("DROP TRIGGER drivers_update_bump_data_version")
    # The identifiers stay in normal form: every earlier revision reads them as they are.
    with op.batch_alter_table('drivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drivers_id_card_no'))
        batch_op.create_index(batch_op.f('ix_drivers_id_card_no'), ['id_card_no'], unique=False)
