"""Column types behave the same on both backends (enrolments has no repository yet)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.intervention.tables import enrolments

pytestmark = pytest.mark.integration


def _enrolment(**overrides: Any) -> dict[str, Any]:
    return {
        "client_id": "client-1",
        "loan_ids": ["loan-1", "loan-2"],
        "segment": "collection_struggle",
        "enrolment_date": date(2026, 3, 2),
        "experiment_key": "sofie-pilot-2026",
        "arm": "treatment",
        "intended_allocation": Decimal("0.37500"),
        "assignment_version": "v1",
        "assigned_at": datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1))),
    } | overrides


def test_an_enrolment_round_trips_exactly(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        connection.execute(enrolments.insert(), _enrolment())
    with db_engine.connect() as connection:
        row = connection.execute(sa.select(enrolments)).one()

    assert row.loan_ids == ["loan-1", "loan-2"]
    assert row.enrolment_date == date(2026, 3, 2)
    assert row.intended_allocation == Decimal("0.375")
    assert isinstance(row.intended_allocation, Decimal)
    assert row.assigned_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert row.assigned_at.tzinfo == UTC


@pytest.mark.parametrize("allocation", [Decimal("-0.1"), Decimal("1.5")])
def test_an_intended_allocation_outside_0_1_is_refused(
    db_engine: Engine, allocation: Decimal
) -> None:
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as connection:
        connection.execute(enrolments.insert(), _enrolment(intended_allocation=allocation))


def test_a_client_enrols_once(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        connection.execute(enrolments.insert(), _enrolment())
    with pytest.raises(sa.exc.IntegrityError), db_engine.begin() as connection:
        connection.execute(enrolments.insert(), _enrolment(arm="control"))
