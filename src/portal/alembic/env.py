"""Alembic environment: the schema exists only through these migrations."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from portal.models import Base
from portal.settings import load

config = context.config
target_metadata = Base.metadata


def _url():
    # `portal migrate` passes the URL; plain `alembic -c development.ini …` reads the ini + env.
    return config.get_main_option("sqlalchemy.url") or load(config.config_file_name)["sqlalchemy.url"]


def run_migrations_offline():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection):
    # Batch mode lets ALTERs work on SQLite (the embedded default) too.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
