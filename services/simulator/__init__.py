"""The bank's payment pipeline, simulated: a seeded cohort of mortgage clients, their
monthly direct debits and failures as canonical payment events in event time, and the
ground truth of who was in arrears, kept by the simulator's own bookkeeping.

Public API (see docs/simulator.md)::

    config = SimulationConfig(clients=428, seed=1)
    cohort = generate_cohort(config)
    truth = GroundTruth(cohort)
    for batch in simulate(config, oracle, cohort=cohort):   # one MonthBatch per month
        post(json_array_bodies(batch.events))                # or write_ndjson(...)
        truth.observe_all(batch.events)
    records = truth.records()

Nothing here imports ``services.arrears_detector``: the ground truth must check the
detector, not repeat it.
"""

from services.simulator.cohort import Client, generate_cohort
from services.simulator.config import (
    DEFAULT_PROFILES,
    FailureKind,
    SegmentProfile,
    SimulationConfig,
)
from services.simulator.engine import MonthBatch, SimulationError, simulate
from services.simulator.enrolments import enrolment_events
from services.simulator.events import Event
from services.simulator.oracle import ConstantOracle, StaticOracle, SupportOracle
from services.simulator.output import batches, encode_event, json_array_bodies, write_ndjson
from services.simulator.run import RunResult, run
from services.simulator.sofie_oracle import DEFAULT_SUPPORT_FACTOR, SofieOracle
from services.simulator.truth import (
    BookkeepingError,
    GroundTruth,
    TruthRecord,
    summary,
    write_truth,
    write_truth_csv,
    write_truth_json,
)

__all__ = [
    "DEFAULT_PROFILES",
    "DEFAULT_SUPPORT_FACTOR",
    "BookkeepingError",
    "Client",
    "ConstantOracle",
    "Event",
    "FailureKind",
    "GroundTruth",
    "MonthBatch",
    "RunResult",
    "SegmentProfile",
    "SimulationConfig",
    "SimulationError",
    "SofieOracle",
    "StaticOracle",
    "SupportOracle",
    "TruthRecord",
    "batches",
    "encode_event",
    "enrolment_events",
    "generate_cohort",
    "json_array_bodies",
    "run",
    "simulate",
    "summary",
    "write_ndjson",
    "write_truth",
    "write_truth_csv",
    "write_truth_json",
]
