"""The running pilot's sample-ratio check, as metrics: an alert fires when the arms drift from
the intended allocation (a broken assignment or a lost enrolment), long before the report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter

from sqlalchemy.exc import OperationalError

from services.intervention import metrics
from services.intervention.repository import InterventionRepository

log = logging.getLogger(__name__)


def update(repository: InterventionRepository, experiment_key: str, alpha: float) -> None:
    """Recompute the check from the enrolments table and set the gauges."""
    from services.report.srm import srm  # scipy: loaded on first use, not at start-up

    counts = repository.arm_counts(experiment_key)
    observed: Counter[str] = Counter()
    allocations: Counter[float] = Counter()
    for (arm, share), n in counts.items():
        observed[arm] += n
        allocations[share] += n
    for arm in ("treatment", "control"):
        metrics.ENROLLED.labels(arm=arm).set(observed[arm])
    result = srm(observed, allocations, alpha)
    metrics.SRM_P_VALUE.set(result.p if result.p is not None else math.nan)
    metrics.SRM_FLAGGED.set(1 if result.flagged else 0)


async def run(
    repository: InterventionRepository,
    experiment_key: str,
    alpha: float,
    interval_s: float,
    stopping: asyncio.Event,
) -> None:
    while not stopping.is_set():
        try:
            await asyncio.to_thread(update, repository, experiment_key, alpha)
        except OperationalError:
            metrics.DB_RETRIES.labels(operation="srm").inc()
            log.warning("database unreachable; SRM check waits")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval_s)
