"""Connection semantics from ``make_engine``: search_path, SQLite pragmas, URL handling."""

from __future__ import annotations

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
