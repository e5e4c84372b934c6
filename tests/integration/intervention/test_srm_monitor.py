"""The running sample-ratio check reads the enrolments table and sets its gauges."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from services.intervention import srm_monitor
from services.intervention.repository import EnrolmentRow, InterventionRepository, Tx

EXPERIMENT = "srm-test"


def enrol_many(repo: InterventionRepository, arm: str, n: int, share: float) -> None:
    rows = [
        EnrolmentRow(
            client_id=f"{arm}-{share}-{i}",
            loan_ids=(f"L-{arm}-{share}-{i}",),
            segment="prevention",
            enrolment_date=date(2026, 1, 5),
            experiment_key=EXPERIMENT,
            arm=arm,
            intended_allocation=share,
            assignment_version="sha256-threshold/1",
            assigned_at=datetime(2026, 1, 5, tzinfo=UTC),
        )
        for i in range(n)
    ]

    def work(tx: Tx) -> None:
        for row in rows:
            tx.insert_enrolment(row)

    repo.run(None, work)


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
def repo(db_engine: Engine) -> InterventionRepository:
    return InterventionRepository(db_engine)


def test_the_seed_allocation_passes_against_three_to_five(repo: InterventionRepository) -> None:
    enrol_many(repo, "treatment", 160, 0.375)
    enrol_many(repo, "control", 268, 0.375)
    srm_monitor.update(repo, EXPERIMENT, 0.001)
    assert gauge("nazorg_pilot_enrolled_clients", arm="treatment") == 160
    assert gauge("nazorg_pilot_srm_p_value") == pytest.approx(0.96, abs=0.01)
    assert gauge("nazorg_pilot_srm_flagged") == 0


def test_a_one_to_one_intention_with_those_arms_is_flagged(repo: InterventionRepository) -> None:
    enrol_many(repo, "treatment", 160, 0.5)
    enrol_many(repo, "control", 268, 0.5)
    srm_monitor.update(repo, EXPERIMENT, 0.001)
    p = gauge("nazorg_pilot_srm_p_value")
    assert p is not None
    assert p < 1e-6
    assert gauge("nazorg_pilot_srm_flagged") == 1


def test_mixed_intended_allocations_are_flagged_without_a_p_value(
    repo: InterventionRepository,
) -> None:
    enrol_many(repo, "treatment", 30, 0.375)
    enrol_many(repo, "control", 50, 0.5)
    srm_monitor.update(repo, EXPERIMENT, 0.001)
    p = gauge("nazorg_pilot_srm_p_value")
    assert p is not None
    assert math.isnan(p)
    assert gauge("nazorg_pilot_srm_flagged") == 1
