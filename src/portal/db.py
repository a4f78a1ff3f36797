"""Engine, sessions and the request's ``dbsession`` joined to ``request.tm``."""

import re

import transaction
import zope.sqlalchemy
from sqlalchemy import engine_from_config, event
from sqlalchemy.orm import Session, sessionmaker


def get_engine(settings, prefix="sqlalchemy."):
    engine = engine_from_config(settings, prefix)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "before_cursor_execute", _sqlite_begin_immediate)
    return engine


def _sqlite_connect(dbapi_connection, _record):
    # The embedded default has web threads and worker threads writing one file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # The driver would open transactions with a plain BEGIN; _sqlite_begin_immediate does it instead.
    dbapi_connection.isolation_level = None


#: The statements the driver begins a transaction for, and SAVEPOINT (which outside a
#: transaction would begin a deferred one).
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|SAVEPOINT)\b", re.IGNORECASE)


def _sqlite_begin_immediate(conn, cursor, statement, parameters, context, executemany):
    """On SQLite, a transaction begins at its first row lock or write, with ``BEGIN IMMEDIATE``.

    SQLite has no row locks and ignores ``FOR UPDATE``. Taking the database's one write lock
    where PostgreSQL takes a row lock (or writes) makes the decisions PostgreSQL guards with row
    locks take turns here too, each reading what the one before committed. Reads before that
    point run outside any transaction, as the driver's own handling runs them: they never wait
    for a writer (WAL) and hold no lock, and no transaction has to turn a read snapshot that
    another writer made stale into a write (SQLite refuses that at once with "database is
    locked"). A transaction that only reads never begins one.
    """
    if cursor.connection.in_transaction:
        return
    compiled = getattr(context.compiled, "statement", None)
    # _for_update_arg: what with_for_update() sets; SQLite's compiler drops it from the SQL.
    if _WRITES.match(statement) or getattr(compiled, "_for_update_arg", None) is not None:
        cursor.execute("BEGIN IMMEDIATE")


#: zope.sqlalchemy's session events (what ``zope.sqlalchemy.register`` listens to).
_TM_EVENTS = (
    "after_begin", "after_attach", "after_flush", "after_bulk_update", "after_bulk_delete", "before_commit", "do_orm_execute",
)


def _tm_listener(name):
    def forward(subject, *args):
        # A session, or a bulk-operation / execute context that names it.
        session = subject if isinstance(subject, Session) else subject.session
        manager = session.info.get("tm")
        if manager is not None:
            getattr(zope.sqlalchemy.ZopeTransactionEvents(transaction_manager=manager), name)(subject, *args)

    return forward


def get_session_factory(engine):
    """Sessions that follow a transaction manager when they name one in ``info["tm"]``.

    zope.sqlalchemy's listeners are registered here once, for every session of the factory,
    rather than by ``zope.sqlalchemy.register`` on each session: registering seven listeners
    costs more than a short request's query. Sessions without a manager are plain sessions.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    for name in _TM_EVENTS:
        event.listen(factory, name, _tm_listener(name))
    return factory


def get_tm_session(session_factory, transaction_manager, request=None):
    """A session (of ``get_session_factory``) whose commit and rollback follow ``transaction_manager``.

    Outside a request (workers, scheduler, console)::

        with transaction.TransactionManager(explicit=True) as tm:
            db = get_tm_session(factory, tm)
    """
    return session_factory(info={"request": request, "tm": transaction_manager})


class Transaction:
    """One unit of work outside a request: ``with Transaction(factory) as db: ...``.

    Commits on success, aborts on error; after-commit hooks (the outbox fast path) run as
    they do in a request.
    """

    def __init__(self, session_factory):
        self.session_factory = session_factory
        self.tm = transaction.TransactionManager(explicit=True)

    def __enter__(self):
        self.tm.begin()
        return get_tm_session(self.session_factory, self.tm)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.tm.commit()
        else:
            self.tm.abort()
        return False


def includeme(config):
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["db.engine"] = engine
    config.registry["db.session_factory"] = session_factory

    def dbsession(request):
        # Tests hand in a session bound to their own rolled-back transaction.
        session = request.environ.get("app.dbsession")
        if session is None:
            session = get_tm_session(session_factory, request.tm, request=request)
        return session

    config.add_request_method(dbsession, reify=True)
