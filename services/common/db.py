"""Engines and schema migrations for PostgreSQL (production, tests) and SQLite (demo).

One place decides how we talk to a database, so that every service and test gets the same
connection semantics: pinned ``search_path`` on PostgreSQL, enforced foreign keys and
writer-serialising transactions on SQLite, and a migrated schema via :func:`upgrade`.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

__all__ = [
    "MIGRATIONS",
    "alembic_config",
    "connect_read_only",
    "make_engine",
    "masked_url",
    "upgrade",
]

#: Alembic script location of the intervention service's tables (a package resource, so it
#: resolves the same from a checkout, an editable install and a wheel).
MIGRATIONS = "services.intervention:migrations"

# Unquoted PostgreSQL identifier. The schema name ends up inside a libpq ``options`` string,
# where a space or quote would inject further server settings, so only plain names pass.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Writers wait this long for SQLite's single write lock before failing with "database is locked".
_SQLITE_BUSY_TIMEOUT_MS = 15_000

# One in-process writer lock per SQLite database (see `_QueuedWriter`), keyed by its path.
_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()

# Execution option marking a connection whose transactions only read (see `connect_read_only`).
_READ_ONLY = "nazorg_read_only"

# First key of the two-key advisory lock that serialises concurrent `upgrade` calls on PostgreSQL;
# the second key is the hash of the current schema, so isolated test schemas do not contend.
_MIGRATION_LOCK_CLASS = 0x6E7A  # "nz"


def make_engine(url: str, schema: str | None = None) -> Engine:
    """Create an Engine for ``url``; on PostgreSQL every connection uses ``schema`` only.

    ``postgresql://`` URLs get the psycopg 3 driver, the only PostgreSQL driver we ship.
    ``schema`` is PostgreSQL-only (SQLite has no schemas in that sense) and must already exist;
    it is set as the sole ``search_path`` so unqualified tables, including ``alembic_version``,
    live in it and never leak into ``public``.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return _postgresql_engine(parsed, schema)
    if schema is not None:
        raise ValueError(f"schema={schema!r} is only supported on PostgreSQL, not {backend}")
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    raise ValueError(f"unsupported database backend {backend!r} in {masked_url(url)}")


def upgrade(engine: Engine, *, script_location: str = MIGRATIONS) -> None:
    """Migrate the database behind ``engine`` to the newest revision (a no-op when current).

    Runs in one transaction on the engine's own connection, so it honours the engine's
    ``search_path`` and DDL is all-or-nothing on both backends. Concurrent callers (several
    workers starting at once) are serialised by a transaction-scoped advisory lock on PostgreSQL
    and by ``BEGIN IMMEDIATE`` on SQLite; the loser finds the schema current and does nothing.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:cls, hashtext(current_schema()))"),
                {"cls": _MIGRATION_LOCK_CLASS},
            )
        command.upgrade(alembic_config(connection, script_location=script_location), "head")


def connect_read_only(engine: Engine) -> Connection:
    """A connection for queries that never write; use it as a context manager.

    On PostgreSQL its transactions are ``READ ONLY``, so a read path cannot write by mistake.
    On SQLite they start with a plain (deferred) ``BEGIN`` instead of taking the write lock, so a
    report reading a snapshot neither waits for nor blocks the worker that writes.
    """
    options: dict[str, Any] = {_READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    connection = engine.connect()
    try:
        return connection.execution_options(**options)
    except BaseException:
        connection.close()
        raise


def alembic_config(connection: Connection, *, script_location: str = MIGRATIONS) -> Config:
    """An Alembic Config bound to ``connection``, for other commands (current, downgrade, check).

    The caller owns the transaction: Alembic runs inside it and does not commit.
    """
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def masked_url(url: str) -> str:
    """Return ``url`` with its password replaced by ``***``, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def _postgresql_engine(url: URL, schema: str | None) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = _is_sqlite_memory(url)
    if in_memory:
        # One shared connection: with a pool, every connection would open its own empty database.
        # This makes an in-memory engine single-writer by construction; use a file for threads.
        engine = create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            pool_pre_ping=True,
        )
    else:
        engine = create_engine(url, pool_pre_ping=True, connect_args={"factory": _QueuedWriter})
    event.listen(engine, "connect", _sqlite_on_connect(in_memory))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


class _QueuedWriter(sqlite3.Connection):
    """A sqlite3 connection whose writing transactions queue on a lock of this process.

    SQLite lets a writer that finds the write lock taken wait by polling: its busy handler
    sleeps 1, 2, 5 ... up to 100 ms between tries, and a writer that keeps losing the race
    waits out ``busy_timeout`` and fails. With several writing threads in one process (the
    intervention's signal batches, eight dispatcher threads, the relay, Sofie's callbacks)
    that made both: in a 2,000-loan pilot year the threads spent most of their time asleep
    in ``BEGIN IMMEDIATE`` while the lock was free, and the dispatcher's transactions failed
    with "database is locked" every 20 s, so 899 of 4,513 actions were delivered in seven
    minutes. Threads of one process now take turns on a lock that wakes the next one at the
    commit; SQLite's own lock (and ``busy_timeout``) still orders writers of other processes.
    """

    writer_lock: threading.Lock | None = None
    _holds_writer_lock = False

    def take_writer_lock(self) -> None:
        """Wait for this process's turn to write; raises like SQLite after ``busy_timeout``."""
        lock = self.writer_lock
        if lock is None:
            return
        if not lock.acquire(timeout=_SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        self._holds_writer_lock = True

    def release_writer_lock(self) -> None:
        lock = self.writer_lock
        if lock is not None and self._holds_writer_lock:
            self._holds_writer_lock = False
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()


def _main_file(dbapi_connection: sqlite3.Connection) -> str:
    rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    return next(str(row[2]) for row in rows if row[1] == "main")


def _writer_lock(database: str) -> threading.Lock:
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(database, threading.Lock())


def _sqlite_on_connect(in_memory: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, _QueuedWriter) and not in_memory:
            # Per file, so that two engines of one process on one database take turns too.
            dbapi_connection.writer_lock = _writer_lock(_main_file(dbapi_connection))
        # Take transaction control away from the sqlite3 module (which would BEGIN lazily and
        # silently commit before DDL); `_sqlite_begin` emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                # WAL lets readers proceed while one writer commits (the demo's report and
                # worker share a file).
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    A deferred transaction that reads and then writes cannot wait for a concurrent writer (in WAL
    mode its snapshot is stale), so it fails at once with SQLITE_BUSY instead of honouring
    ``busy_timeout``. Locking up front turns racing writers into a queue: the second one waits,
    then sees the first one's committed result (e.g. an advanced consumer position).
    Read-only connections (`connect_read_only`) skip the lock: a WAL snapshot suffices for them.
    """
    if connection.get_execution_options().get(_READ_ONLY, False):
        connection.exec_driver_sql("BEGIN")
        return
    raw = connection.connection.dbapi_connection
    writer = raw if isinstance(raw, _QueuedWriter) else None
    if writer is not None:
        writer.take_writer_lock()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if writer is not None:
            writer.release_writer_lock()
        raise
