"""The ``nazorg simulate`` pipeline: simulate, write events (and enrolments), keep the
ground truth, report progress. Streams month by month; nothing holds the whole run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from services.common.gc_tuning import gc_paused
from services.simulator.cohort import generate_cohort
from services.simulator.config import SimulationConfig
from services.simulator.engine import months, simulate
from services.simulator.enrolments import enrolment_events
from services.simulator.oracle import SupportOracle
from services.simulator.output import write_ndjson
from services.simulator.progress import Progress
from services.simulator.truth import GroundTruth, summary, write_truth


@dataclass(frozen=True)
class RunResult:
    events: int
    months: int
    seconds: float
    """Wall time, for the person running it."""
    truth: dict[str, Any] | None
    """``truth.summary`` of the ground truth, when it was kept."""


def run(
    config: SimulationConfig,
    events_out: BinaryIO,
    *,
    truth_path: Path | None = None,
    enrolments_out: BinaryIO | None = None,
    oracle: SupportOracle | None = None,
    validate_every: int = 0,
    progress: bool = True,
) -> RunResult:
    """Simulate ``config`` and write NDJSON to ``events_out`` (and the truth to
    ``truth_path``: ``.csv`` or JSON)."""
    started = time.monotonic()
    cohort = generate_cohort(config)
    if enrolments_out is not None:
        write_ndjson(enrolment_events(cohort), enrolments_out)
    truth = GroundTruth(cohort) if truth_path is not None else None
    meter = Progress(len(months(config.start, config.horizon_end)), enabled=progress)
    total = 0
    with gc_paused():
        for batch in simulate(config, oracle, cohort=cohort, validate_every=validate_every):
            total += write_ndjson(batch.events, events_out)
            if truth is not None:
                truth.observe_all(batch.events)
            meter.month_done(f"{batch.month:%Y-%m}", len(batch.events))
    meter.finish()
    truth_summary = None
    if truth is not None and truth_path is not None:
        records = truth.records()
        write_truth(records, truth_path)
        truth_summary = summary(records)
    return RunResult(total, meter.months, time.monotonic() - started, truth_summary)
