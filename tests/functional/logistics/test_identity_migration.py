"""Migration 0007 on data written before it: identifiers rewritten in normal form, and drivers
that share an ID number stop the upgrade with their ids (nothing merged or deleted)."""

import pytest
import sqlalchemy as sa
from alembic import command

from portal.cli import alembic_config

USER = """INSERT INTO wechat_users (id, display_name, status, is_staff, first_login_at, last_login_at, login_count)
          VALUES (:id, '司机', 'active', false, '2026-11-26', '2026-11-26', 1)"""
DRIVER = """INSERT INTO drivers (id, user_id, name, id_card_no, escort_id_card_no, mobile, licence_no, qualification_no,
                                 qualification_expires_on, created_at, updated_at, sync_state)
            VALUES (:id, :id, '司机', :id_card, :escort, :mobile, 'L', 'Q', '2030-01-01', '2026-11-26', '2026-11-26', 'synced')"""
VEHICLE = """INSERT INTO vehicles (id, driver_id, plate_no, trailer_no, tank_capacity_kg, approved_products, transport_permit_no,
                                   tank_inspection_expires_on, active, created_at, sync_state)
             VALUES (:id, :driver, :plate, '闽A1234挂', 30000, '[]', 'P', '2030-01-01', true, '2026-11-26', 'synced')"""


@pytest.fixture
def before_0007(tmp_path):
    """A database of the embedded default at revision 0006 (the one before 0007), and its Alembic configuration."""
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    config = alembic_config({"sqlalchemy.url": url})
    command.upgrade(config, "0006")
    engine = sa.create_engine(url)
    yield engine, config
    engine.dispose()


def _write(engine, statement, *rows):
    with engine.begin() as db:
        db.execute(sa.text(statement), list(rows))


def test_identifiers_stored_before_are_rewritten_in_normal_form(before_0007):
    engine, config = before_0007
    _write(engine, USER, {"id": 1})
    # What the service stored before issue 9: full-width digits passed when the check character was X.
    _write(engine, DRIVER, {"id": 1, "id_card": "１１０１０５１９４９１２３１００２X", "escort": "350102197001020012", "mobile": "1３８００００００００"})
    _write(engine, VEHICLE, {"id": 1, "driver": 1, "plate": "闽AD1２３４５"})
    command.upgrade(config, "head")
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT id_card_no, escort_id_card_no, mobile FROM drivers")).one() == (
            "11010519491231002X", "350102197001020012", "13800000000")
        assert db.scalar(sa.text("SELECT plate_no FROM vehicles")) == "闽AD12345"


def test_drivers_sharing_an_id_number_stop_the_upgrade_naming_them(before_0007):
    engine, config = before_0007
    _write(engine, USER, {"id": 1}, {"id": 2}, {"id": 3})
    _write(engine, DRIVER, {"id": 1, "id_card": "11010519491231002X", "escort": None, "mobile": "13800000000"},
           {"id": 2, "id_card": "１１０１０５１９４９１２３１００２X", "escort": None, "mobile": "13800000000"},
           {"id": 3, "id_card": "350102197001020012", "escort": None, "mobile": "13800000000"})
    with pytest.raises(RuntimeError, match=r"drivers 1, 2 share the ID number 110\*{11}002X"):
        command.upgrade(config, "head")
    with engine.connect() as db:
        assert db.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0006"
        assert db.scalar(sa.text("SELECT id_card_no FROM drivers WHERE id = 2")).startswith("１")  # untouched

    # An operator keeps one profile per person; the upgrade then goes through.
    _write(engine, "DELETE FROM drivers WHERE id = :id", {"id": 2})
    command.upgrade(config, "head")
