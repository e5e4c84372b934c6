"""One small simulated pilot, shared by the tests that only read it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.simulator import (
    Client,
    GroundTruth,
    MonthBatch,
    SimulationConfig,
    TruthRecord,
    generate_cohort,
    simulate,
)
from services.simulator.events import Event

SMALL = SimulationConfig(clients=160, seed=3)


@dataclass(frozen=True)
class Run:
    config: SimulationConfig
    cohort: list[Client]
    batches: list[MonthBatch]
    records: list[TruthRecord]

    @property
    def events(self) -> list[Event]:
        return [event for batch in self.batches for event in batch.events]


def simulate_run(config: SimulationConfig) -> Run:
    cohort = generate_cohort(config)
    truth = GroundTruth(cohort)
    batches = []
    for batch in simulate(config, cohort=cohort):
        truth.observe_all(batch.events)
        batches.append(batch)
    return Run(config, cohort, batches, truth.records())


@pytest.fixture(scope="session")
def small_run() -> Run:
    return simulate_run(SMALL)
