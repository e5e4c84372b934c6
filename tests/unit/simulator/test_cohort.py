"""The cohort: segment mix, enrolment, censoring, loans."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.simulator import SimulationConfig, generate_cohort
from services.simulator.behaviour import LoanState, pick_failure
from services.simulator.cohort import annuity, percent_of, split
from services.simulator.config import FailureKind
from tests.unit.simulator.conftest import SMALL


def test_segment_counts_follow_the_shares_exactly() -> None:
    counts = Counter(c.segment for c in generate_cohort(SimulationConfig(clients=268)))
    assert counts == {
        "prevention": 40,
        "collection_struggle": 121,
        "restructured": 54,
        "interest_only_high_risk": 53,
    }


def test_enrolment_is_staggered_and_late_enrollers_are_censored() -> None:
    config = SimulationConfig(clients=428, seed=5)
    cohort = generate_cohort(config)
    assert min(c.enrolment_date for c in cohort) >= config.start
    assert max(c.enrolment_date for c in cohort) < config.start + timedelta(
        days=config.enrolment_days
    )
    for client in cohort:
        assert client.followup_end <= config.horizon_end
        assert client.censored == (client.followup_days < config.followup_days)
    censored = sum(c.censored for c in cohort)
    assert 0.03 * len(cohort) < censored < 0.2 * len(cohort)


def test_loans_are_in_range_and_held_as_decimals() -> None:
    for client in generate_cohort(replace(SMALL, clients=200)):
        assert isinstance(client.balance, Decimal)
        assert Decimal("100000.00") <= client.balance <= Decimal("450000.00")
        assert client.balance == client.balance.quantize(Decimal("0.01"))
        if client.segment == "interest_only_high_risk":
            assert client.interest_only


def test_annuity_repays_the_balance() -> None:
    assert annuity(Decimal("250000.00"), Decimal("0.0400"), 360) == Decimal("1193.54")
    assert annuity(Decimal("1200.00"), Decimal("0"), 12) == Decimal("100.00")


def test_interest_only_loans_pay_interest_only() -> None:
    client = next(c for c in generate_cohort(SMALL) if c.interest_only)
    state = LoanState.open(client)
    assert state.instalment == (client.balance * client.annual_rate / 12).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"clients": 0}, "clients"),
        ({"seed": -1}, "seed"),
        ({"risk_scale": float("nan")}, "risk_scale"),
        ({"due_days": {31: 1.0}}, "due days"),
        ({"id_prefix": "a b"}, "id_prefix"),
        ({"horizon_days": 10}, "horizon_days"),
        ({"balance_min": Decimal("500000.00")}, "balance_min"),
    ],
)
def test_invalid_configs_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(SimulationConfig(), **changes)


def test_money_helpers_never_round_up() -> None:
    assert percent_of(Decimal("1000.01"), 33) == Decimal("330.00")
    assert percent_of(Decimal("0.01"), 50) == Decimal("0.00")
    assert split(Decimal("1000.00"), 3) == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert split(Decimal("0.01"), 3) == [Decimal("0.01")]
    assert sum(split(Decimal("2469.37"), 3)) == Decimal("2469.37")


def test_failure_kinds_follow_their_cumulative_weights() -> None:
    mix = {FailureKind.SHORT_OF_FUNDS: 1.0, FailureKind.REFUND: 3.0}
    assert pick_failure(mix, 0.0) is FailureKind.SHORT_OF_FUNDS
    assert pick_failure(mix, 0.2499) is FailureKind.SHORT_OF_FUNDS
    assert pick_failure(mix, 0.25) is FailureKind.REFUND
    assert pick_failure(mix, 0.9999999) is FailureKind.REFUND
