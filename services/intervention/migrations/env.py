"""Alembic environment: runs only on a connection handed over by ``services.common.db.upgrade``.

There is no alembic.ini and no URL here on purpose: the caller's Engine decides the database and
(on PostgreSQL) the schema through its ``search_path``, so tests can migrate isolated schemas and
services migrate exactly the database they are about to use.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from services.intervention.tables import metadata


def _run_online(connection: Connection) -> None:
    # A search_path naming a missing schema leaves no current schema; fail with a clear message
    # rather than with PostgreSQL's "no schema has been selected to create in".
    if (
        connection.dialect.name == "postgresql"
        and connection.execute(text("SELECT current_schema()")).scalar() is None
    ):
        path = connection.execute(text("SHOW search_path")).scalar()
        raise RuntimeError(f"no existing schema on search_path {path!r}; create it first")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for future migrations.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through services.common.db.upgrade(engine)")
    _run_online(connection)


_main()
