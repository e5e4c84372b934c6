"""Invariants of the simulated bank over many seeds: it never takes money nobody owes, the
truth can account for every event, and the ground truth is consistent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.simulator import (
    GroundTruth,
    SimulationError,
    StaticOracle,
    generate_cohort,
    simulate,
)
from services.simulator.behaviour import Action, Effect, LoanState
from services.simulator.engine import _book
from tests.unit.simulator.conftest import SMALL, simulate_run


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**9), factor=st.sampled_from([0.3, 1.0, 3.0]))
def test_any_seed_gives_a_stream_the_truth_can_account_for(seed: int, factor: float) -> None:
    config = replace(SMALL, clients=25, seed=seed)
    cohort = generate_cohort(config)
    oracle = StaticOracle({c.client_id: factor for c in cohort})
    truth = GroundTruth(cohort)
    for batch in simulate(config, oracle, cohort=cohort):
        truth.observe_all(batch.events)  # raises on overpayment or an unknown reversal
    for record in truth.records():
        assert record.ever_in_arrears == (record.first_arrears_date is not None)
        if record.first_arrears_date is not None:
            assert record.enrolment_date <= record.first_arrears_date <= record.followup_end
            assert record.first_arrears_date in record.arrears_onsets
        assert not record.relapse or record.ever_in_arrears
        assert len(record.arrears_cures) in (
            len(record.arrears_onsets),
            len(record.arrears_onsets) - 1,
        )


def test_transfers_are_positive_and_sized_within_what_is_owed() -> None:
    run = simulate_run(replace(SMALL, clients=60, seed=11))
    for event in run.events:
        if event["type"] == "payment_received":
            assert Decimal(event["data"]["amount"]) > 0


def _state() -> LoanState:
    return LoanState.open(generate_cohort(replace(SMALL, clients=1))[0])


def test_booking_refuses_to_collect_more_than_is_owed() -> None:
    action = Action(3, 0, 1, date(2027, 1, 4), {"id": "x"}, Effect.PAYS, Decimal("1.00"))
    with pytest.raises(SimulationError, match="more than is owed"):
        _book(action, _state())


def test_a_transfer_never_takes_money_reserved_for_a_retry() -> None:
    state = _state()
    state.owed, state.reserved = Decimal("1500.00"), Decimal("1000.00")
    event = {"id": "x", "data": {"amount": None}}
    booked = _book(Action(7, 0, 1, date(2027, 1, 4), event, Effect.TRANSFER, percent=100), state)
    assert booked is not None
    assert booked["data"]["amount"] == "500.00"
    assert state.owed == Decimal("1000.00")
    nothing_left = {"id": "y", "data": {"amount": None}}
    assert (
        _book(Action(7, 0, 2, date(2027, 1, 5), nothing_left, Effect.TRANSFER, percent=100), state)
        is None
    )


def test_a_custom_cohort_must_be_indexed_and_safe() -> None:
    cohort = generate_cohort(replace(SMALL, clients=2))
    with pytest.raises(ValueError, match="indexes"):
        next(simulate(SMALL, cohort=list(reversed(cohort))))
    unsafe = [replace(cohort[0], client_id='C"1'), cohort[1]]
    with pytest.raises(ValueError, match="ids must be"):
        next(simulate(SMALL, cohort=unsafe))
