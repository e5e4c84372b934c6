"""Migrations: apply, re-apply, step, roll back, race, and match ``tables.py`` on both backends."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from services.common.db import alembic_config, make_engine, upgrade
from services.intervention.repository import InterventionRepository
from services.intervention.tables import metadata

from .helpers import outcome, position

pytestmark = pytest.mark.integration

HEAD = "0003"
TABLES_0002 = {"consumer_positions", "outcomes", "enrolments"}
APP_TABLES = TABLES_0002 | {
    "assignment_refusals",
    "consents",
    "signal_observations",
    "decisions",
    "outbox",
    "watermarks",
    "followups",
    "outcome_relay",
}


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_upgrade_creates_all_tables_at_head(unmigrated_db_engine: Engine) -> None:
    assert _tables(unmigrated_db_engine) == set()

    upgrade(unmigrated_db_engine)

    assert _tables(unmigrated_db_engine) == APP_TABLES | {"alembic_version"}
    assert _version(unmigrated_db_engine) == HEAD


def test_upgrade_again_is_a_no_op_and_keeps_data(db_engine: Engine) -> None:
    repository = InterventionRepository(db_engine)
    assert repository.record(position(1), [outcome("o-1")])

    upgrade(db_engine)
    upgrade(db_engine)

    assert _version(db_engine) == HEAD
    assert repository.count_outcomes() == 1
    assert repository.last_offset("intervention", "arrears.signals.v1", 0) == 1


def test_first_revision_creates_tracking_and_outcomes_then_head_adds_enrolments(
    unmigrated_db_engine: Engine,
) -> None:
    with unmigrated_db_engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    assert _tables(unmigrated_db_engine) == {"alembic_version", "consumer_positions", "outcomes"}

    upgrade(unmigrated_db_engine)

    assert _tables(unmigrated_db_engine) == APP_TABLES | {"alembic_version"}


def test_downgrade_to_base_then_upgrade_again(unmigrated_db_engine: Engine) -> None:
    upgrade(unmigrated_db_engine)
    with unmigrated_db_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert _tables(unmigrated_db_engine) == {"alembic_version"}
    assert _version(unmigrated_db_engine) is None

    upgrade(unmigrated_db_engine)

    assert _version(unmigrated_db_engine) == HEAD


def test_downgrading_0003_keeps_the_earlier_tables_and_their_rows(
    unmigrated_db_engine: Engine,
) -> None:
    upgrade(unmigrated_db_engine)
    repository = InterventionRepository(unmigrated_db_engine)
    assert repository.record(position(1), [outcome("o-1")])  # also fills outcome_relay

    with unmigrated_db_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0002")

    assert _tables(unmigrated_db_engine) == TABLES_0002 | {"alembic_version"}
    assert _version(unmigrated_db_engine) == "0002"
    assert repository.count_outcomes() == 1

    upgrade(unmigrated_db_engine)

    assert _version(unmigrated_db_engine) == HEAD
    assert repository.pending_relay(10) == []  # the relay queue went with its table


def test_migrated_database_matches_table_definitions(db_engine: Engine) -> None:
    """Guards against a change to tables.py without a migration (or the other way round)."""
    assert set(metadata.tables) == APP_TABLES  # the comparison below covers every table
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrated_check_constraints_match_table_definitions(db_engine: Engine) -> None:
    """Alembic's comparison ignores CHECK constraints; compare their names here."""
    inspector = sa.inspect(db_engine)
    for table in metadata.sorted_tables:
        declared = {
            str(constraint.name)
            for constraint in table.constraints
            if isinstance(constraint, sa.CheckConstraint)
        }
        migrated = {check["name"] for check in inspector.get_check_constraints(table.name)}
        assert migrated == declared, table.name


def test_concurrent_upgrades_of_an_empty_database_both_succeed(
    unmigrated_db_engine: Engine,
) -> None:
    """Several workers starting at once must not race each other's CREATE TABLE."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def start_worker() -> None:
        try:
            barrier.wait(timeout=10)
            upgrade(unmigrated_db_engine)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=start_worker) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    assert _version(unmigrated_db_engine) == HEAD


def test_in_memory_sqlite_migrates_and_records() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        upgrade(engine)
        repository = InterventionRepository(engine)
        assert repository.record(position(0), [outcome("o-1")])
        assert repository.count_outcomes() == 1
    finally:
        engine.dispose()


def test_postgresql_version_table_lives_in_the_engine_schema(pg_url: str, pg_schema: str) -> None:
    engine = make_engine(pg_url, pg_schema)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            version_table = connection.execute(
                sa.text("SELECT to_regclass(:name)::text"),
                {"name": f"{pg_schema}.alembic_version"},
            ).scalar()
            search_path = connection.execute(sa.text("SHOW search_path")).scalar()
        assert version_table is not None
        assert search_path == pg_schema
    finally:
        engine.dispose()


def test_postgresql_upgrade_into_a_missing_schema_fails_clearly(pg_url: str) -> None:
    engine = make_engine(pg_url, "nz_test_does_not_exist")
    try:
        with pytest.raises(RuntimeError, match="no existing schema on search_path"):
            upgrade(engine)
    finally:
        engine.dispose()
