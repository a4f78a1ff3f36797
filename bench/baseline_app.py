"""The bare baseline of the HTTP benchmarks: Pyramid and SQLAlchemy, nothing else.

Served exactly like portal (``gunicorn --paste bench/baseline.ini`` with the same worker
settings) against the same database (``DATABASE_URL``):

* ``GET /read`` reads one row by primary key and answers it as JSON;
* ``POST /write`` inserts one row from a JSON body and commits.
"""

import os
from datetime import datetime, timezone

from pyramid.config import Configurator
from sqlalchemy import DateTime, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_baseline_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_table(url):
    """The baseline's table with its one row to read (id 1)."""
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with sessionmaker(engine).begin() as db:
        db.add(Row(name="baseline", quantity=1, created_at=datetime.now(timezone.utc)))
    engine.dispose()


def _json(row):
    return {"id": row.id, "name": row.name, "quantity": row.quantity, "created_at": row.created_at.isoformat()}


def read(request):
    with request.registry["sessions"]() as db:
        return _json(db.get(Row, 1))


def write(request):
    body = request.json_body
    with request.registry["sessions"].begin() as db:
        row = Row(name=body["name"], quantity=body["quantity"], created_at=datetime.now(timezone.utc))
        db.add(row)
        db.flush()
        answer = _json(row)
    request.response.status = 201
    return answer


def main(global_config, **settings):
    config = Configurator(settings=settings)
    config.registry["sessions"] = sessionmaker(create_engine(os.environ["DATABASE_URL"]), expire_on_commit=False)
    config.add_route("read", "/read", request_method="GET")
    config.add_route("write", "/write", request_method="POST")
    config.add_view(read, route_name="read", renderer="json")
    config.add_view(write, route_name="write", renderer="json")
    return config.make_wsgi_app()
