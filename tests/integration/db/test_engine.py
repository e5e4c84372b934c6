"""Connection semantics from ``make_engine``: search_path, SQLite pragmas, URL handling."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.db import connect_read_only, make_engine, masked_url

pytestmark = pytest.mark.integration


def test_masked_url_hides_the_password() -> None:
    masked = masked_url("postgresql+psycopg://nazorg:s3cret@db.internal:5432/nazorg")
    assert "s3cret" not in masked
    assert masked == "postgresql+psycopg://nazorg:***@db.internal:5432/nazorg"


def test_plain_postgresql_urls_use_psycopg() -> None:
    engine = make_engine("postgresql://nazorg@db.internal/nazorg")  # does not connect
    assert engine.dialect.driver == "psycopg"


@pytest.mark.parametrize("schema", ["Public", "nz test", "nz;drop", "x -cwork_mem=1GB", "9a", ""])
def test_unsafe_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(ValueError, match="invalid PostgreSQL schema name"):
        make_engine("postgresql+psycopg://postgres@127.0.0.1/test", schema)


def test_a_schema_on_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="only supported on PostgreSQL"):
        make_engine("sqlite://", "nz_demo")


def test_unsupported_backends_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database backend"):
        make_engine("mysql://root:pw@localhost/db")


def test_postgresql_connections_use_only_the_given_schema(pg_url: str, pg_schema: str) -> None:
    engine = make_engine(pg_url, pg_schema)
    try:
        for _ in range(2):  # every pooled connection, not just the first
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT current_schema()")).scalar() == pg_schema
    finally:
        engine.dispose()


def test_sqlite_file_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 15_000
    finally:
        engine.dispose()


def test_sqlite_transactions_are_real_and_roll_back(tmp_path: Path) -> None:
    """sqlite3's own transaction handling is replaced; DDL and DML must still roll back."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")

    def create_and_fail() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise RuntimeError("abort")

    try:
        with pytest.raises(RuntimeError, match="abort"):
            create_and_fail()
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_read_only_connections_cannot_write_on_postgresql(pg_url: str, pg_schema: str) -> None:
    engine = make_engine(pg_url, pg_schema)
    try:
        with (
            pytest.raises(sa.exc.InternalError, match="read-only transaction"),
            connect_read_only(engine) as connection,
        ):
            connection.execute(sa.text("CREATE TABLE should_not_exist (x integer)"))
        with engine.connect() as connection:  # the pooled connection is writable again
            assert connection.execute(sa.text("SHOW transaction_read_only")).scalar() == "off"
    finally:
        engine.dispose()


def _writer_lock_of(engine: sa.Engine) -> threading.Lock:
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        lock = getattr(raw, "writer_lock", None)
    assert isinstance(lock, type(threading.Lock()))
    return lock


def test_sqlite_writers_of_one_process_queue_on_one_lock_per_file(tmp_path: Path) -> None:
    """Held from BEGIN IMMEDIATE to the end of the transaction however it ends; readers and
    other files never take it, two engines on one file share it."""
    path = tmp_path / "demo.db"
    engine, twin, other = (
        make_engine(f"sqlite:///{p}") for p in (path, path, tmp_path / "other.db")
    )
    try:
        lock = _writer_lock_of(engine)
        assert _writer_lock_of(twin) is lock
        assert _writer_lock_of(other) is not lock
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            assert lock.locked()
            with other.begin():
                pass  # another file: not this lock
        assert not lock.locked()
        held_when_failing = []

        def fail_while_writing() -> None:
            with engine.begin():
                held_when_failing.append(lock.locked())
                raise RuntimeError("abort")

        with pytest.raises(RuntimeError, match="abort"):
            fail_while_writing()
        assert held_when_failing == [True]
        assert not lock.locked()
        with connect_read_only(twin) as reader, reader.begin():
            assert not lock.locked()
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        for e in (engine, twin, other):
            e.dispose()


def test_sqlite_writers_of_many_threads_lose_no_update(tmp_path: Path) -> None:
    """Read-modify-write from eight threads: every transaction waits its turn, none fails
    with "database is locked" and none overwrites another's increment."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    threads, rounds = 8, 40
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (0)")

    def increment() -> None:
        for _ in range(rounds):
            with engine.begin() as connection:
                n = connection.exec_driver_sql("SELECT n FROM counter").scalar_one()
                connection.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))

    try:
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(increment) for _ in range(threads)]:
                future.result()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT n FROM counter").scalar() == threads * rounds
    finally:
        engine.dispose()
