"""Shared pieces of the benchmarks: the environment, results, synthetic payment events.

Machines here are noisy, so every benchmark reports a ratio to an anchor measured in the same
run on the same broker, next to the raw figures.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from typing import Any

PACKAGES = ("faust-streaming", "kafka-python", "aiokafka", "pydantic", "fastapi", "uvicorn")


def environment() -> dict[str, Any]:
    """What a figure depends on: CPUs, Python, package versions."""
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {name: version(name) for name in PACKAGES},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@dataclass
class Result:
    """One benchmark's outcome: the subject, its anchor, the ratio and the goal."""

    name: str
    subject: float
    unit: str
    anchor: float | None = None
    anchor_name: str = ""
    goal: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.subject / self.anchor if self.anchor else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


class Timer:
    """Wall time of a with-block (perf_counter)."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def synthetic_events(loans: int, months: int = 3) -> list[dict[str, Any]]:
    """Due + collection per loan and month, as the bank would post them (valid contracts)."""
    start = date(2027, 1, 4)
    events: list[dict[str, Any]] = []
    for month in range(months):
        due = start + timedelta(days=30 * month)
        at = datetime(due.year, due.month, due.day, 9, tzinfo=UTC).isoformat()
        for i in range(loans):
            loan = {"loan_id": f"L{i:07d}", "client_id": f"C{i:07d}"}
            events.append(
                {
                    "id": f"due-{i}-{month}",
                    "source": "bench",
                    "type": "instalment_due",
                    "time": at,
                    "data": {
                        **loan,
                        "instalment_id": f"I{i}-{month}",
                        "due_date": due.isoformat(),
                        "amount": "1234.56",
                        "currency": "EUR",
                        "outstanding_balance": "250000.00",
                    },
                }
            )
            events.append(
                {
                    "id": f"dd-{i}-{month}",
                    "source": "bench",
                    "type": "direct_debit_collected",
                    "time": at,
                    "data": {
                        **loan,
                        "instalment_id": f"I{i}-{month}",
                        "end_to_end_id": f"E2E{i}-{month}",
                        "mandate_id": f"M{i}",
                        "bank_reference": f"BR{i}-{month}",
                        "booking_date": due.isoformat(),
                        "amount": "1234.56",
                        "currency": "EUR",
                    },
                }
            )
    return events


def dump(results: list[Result], env: dict[str, Any]) -> str:
    return json.dumps(
        {"environment": env, "results": [r.to_json() for r in results]}, indent=2, default=str
    )
