"""The risk hook: asked once per month, lazily, and acting on one client only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

import pytest

from services.simulator import ConstantOracle, StaticOracle, generate_cohort, simulate
from services.simulator.engine import months
from tests.unit.simulator.conftest import SMALL

FAILURES = {"direct_debit_rejected", "direct_debit_returned", "direct_debit_refunded"}


class RecordingOracle:
    def __init__(self, factors: Mapping[str, float] | None = None) -> None:
        self.calls: list[tuple[date, int]] = []
        self.factors = dict(factors or {})

    def support_factors(self, month: date, client_ids: Sequence[str]) -> Mapping[str, float]:
        self.calls.append((month, len(client_ids)))
        return self.factors


def test_the_oracle_is_asked_once_per_month_before_that_month_is_simulated() -> None:
    config = replace(SMALL, clients=20)
    oracle = RecordingOracle()
    stream = simulate(config, oracle)
    assert oracle.calls == []  # nothing happens until a batch is asked for
    seen = []
    for batch in stream:
        seen.append(batch.month)
        assert oracle.calls[-1] == (batch.month, 20)  # asked for this month, not the next
    expected = months(config.start, config.horizon_end)
    assert [month for month, _ in oracle.calls] == expected == seen


def test_factor_zero_means_no_failed_collections() -> None:
    config = replace(SMALL, clients=40)
    types = {e["type"] for b in simulate(config, ConstantOracle(0.0)) for e in b.events}
    assert not types & FAILURES


def test_support_for_one_client_changes_that_client_only() -> None:
    config = replace(SMALL, clients=40)
    cohort = generate_cohort(config)
    helped = next(c for c in cohort if c.segment == "collection_struggle")

    def by_loan(factors: dict[str, float]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for batch in simulate(config, StaticOracle(factors), cohort=cohort):
            for event in batch.events:
                if event["type"] != "business_day_closed":
                    out.setdefault(event["data"]["loan_id"], []).append(event["id"])
        return out

    base, supported = by_loan({}), by_loan({helped.client_id: 0.0})
    assert base[helped.loan_id] != supported[helped.loan_id]
    assert {k: v for k, v in base.items() if k != helped.loan_id} == {
        k: v for k, v in supported.items() if k != helped.loan_id
    }


@pytest.mark.parametrize("factor", [-0.1, float("nan"), float("inf")])
def test_invalid_factors_are_refused(factor: float) -> None:
    with pytest.raises(ValueError, match="finite number >= 0"):
        ConstantOracle(factor)
    with pytest.raises(ValueError, match="finite number >= 0"):
        next(simulate(replace(SMALL, clients=2), RecordingOracle({"x": factor})))
