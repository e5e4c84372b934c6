"""A short pilot year played twice side by side, once undisturbed and once while detector and
intervention workers (two of each, one group per service) are SIGKILLed at random moments and
restarted: the signal ids, the detector's final ledgers, the clients' final outcomes and the
actions Sofie performed must be the same. ``make chaos`` runs the long version (``pilot``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.simulator import SimulationConfig
from tests.integration.intervention.harness import onset
from tests.reliability.chaos import YearRun, compare, pilot_kill_cycles
from tests.reliability.figures import events, markdown_table

KILLS = 3
YEAR = SimulationConfig(clients=10, seed=5, enrolment_days=20, horizon_days=92, risk_scale=4.0)
"""Three months with raised risk: arrears, actions and follow-ups happen in a short year."""


@pytest.mark.e2e
@pytest.mark.timeout(420)
def test_sigkilled_workers_leave_the_same_signals_ledgers_outcomes_and_deliveries(
    kafka_bootstrap: str, pg_url: str, tmp_path: Path
) -> None:
    figures = pilot_kill_cycles(
        kafka_bootstrap, pg_url, tmp_path, YEAR, cycles=KILLS, seed=20261127, stage_timeout_s=120
    )
    row = figures.row
    print(f"\nkills: {figures.kills}\n{markdown_table([row])}")
    assert len(figures.kills) == KILLS
    assert row.events is not None
    assert row.actions is not None
    assert row.events.sent > 0  # the year is eventful
    assert row.actions.decided > 0
    assert figures.problems == []
    assert row.events.lost == row.actions.lost == row.actions.duplicated == 0


def year_run(signals: list[str], ledger: int, outcome: str, performed: list[str]) -> YearRun:
    found = {i: onset(i, date(2027, 3, 1)) for i in signals}
    return YearRun(
        events=10,
        months=3,
        signal_ids=[found[i].id for i in signals],
        signals={s.id: s for s in found.values()},
        replayed={s.id: s for s in found.values()},
        ledgers={"L-1": {"dpd": ledger}},
        replayed_ledgers={"L-1": {"dpd": ledger}},
        outcomes={"subject-1": outcome},
        performed=performed,
    )


def test_the_comparison_names_every_difference_from_the_undisturbed_run() -> None:
    quiet = year_run(["C-1", "C-2"], ledger=9, outcome="relapse", performed=["a", "b"])
    same = compare(quiet, quiet, clients=2, cycles=1)
    assert same.problems == []
    assert same.row.result.startswith("ok")

    killed = year_run(["C-1", "C-3"], ledger=8, outcome="none", performed=["a", "a", "c"])
    killed.signal_ids.append(killed.signal_ids[0])
    found = compare(quiet, killed, clients=2, cycles=1)
    lost, unexpected = onset("C-2", date(2027, 3, 1)), onset("C-3", date(2027, 3, 1))
    assert found.row.events == events(quiet.signal_ids, killed.signal_ids)
    assert (found.row.events.lost, found.row.events.duplicated) == (1, 2)
    problems = "\n".join(found.problems)
    assert f"lost 1 [arrears_onset 2027-03-01 L-C-2 ({lost.id})]" in problems
    assert f"unexpected 1 [arrears_onset 2027-03-01 L-C-3 ({unexpected.id})]" in problems
    assert "ledgers differ for 1 loans: ['L-1']" in problems
    assert "outcomes differ for 1 clients: ['subject-1']" in problems
    assert "Sofie keys missing ['b'], unexpected ['c']" in problems
    assert not found.row.result.startswith("ok")
