"""The schema exists only through Alembic: the migrations match the models, both ways."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from portal.cli import alembic_config
from portal.models import Base

from ..conftest import DATABASE_URL


def _diff(engine):
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def test_the_migrated_test_database_matches_the_models(engine):
    assert _diff(engine) == []


def test_migrations_upgrade_downgrade_and_upgrade_again_on_postgresql():
    url = make_url(DATABASE_URL)
    scratch = url.set(database=f"{url.database}_migrations")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        config = alembic_config({"sqlalchemy.url": scratch.render_as_string(hide_password=False)})
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")
        engine = sa.create_engine(scratch)
        assert _diff(engine) == []
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_run_on_sqlite_for_the_embedded_default(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    config = alembic_config({"sqlalchemy.url": url})
    command.upgrade(config, "head")
    engine = sa.create_engine(url)
    assert _diff(engine) == []
    command.downgrade(config, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
