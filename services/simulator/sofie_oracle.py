"""The support oracle of the demo: support that Sofie actually received lowers the risk.

Before each simulated month the oracle pages the dev Sofie server's ``GET /_dev/received``
(docs/sofie.md) and keeps, per ``client_ref``, the earliest instant at which an accepted
action may reach the client (``deliver_after``, else when Sofie received it). A client whose
first support lies before the month's first day (00:00 UTC) gets ``factor``; everyone else
1.0. Nothing here knows about arms: a treatment client whose actions never reach Sofie is
treated like a control client, which is the point (a broken delivery shows in the rates).

The rule is :func:`factors_for` and :func:`earliest_support` (pure); :class:`SofieOracle` only
adds the HTTP paging. ``python -m services.simulator.sofie_oracle`` re-derives
``DEFAULT_SUPPORT_FACTOR`` offline (docs/simulator.md, "Calibration").
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Final

import httpx
from pydantic import TypeAdapter

from schemas.sofie_api import ReceivedAction
from services.simulator.calibration import outcomes
from services.simulator.cohort import generate_cohort
from services.simulator.config import SimulationConfig
from services.simulator.oracle import check_factor

DEFAULT_SUPPORT_FACTOR: Final = 0.27
"""Risk factor for a client from the first month after Sofie's first delivery to them.

Calibrated offline (``python -m services.simulator.sofie_oracle``) so that the treatment arm's
expected ever-in-arrears rate is about 25% when onboarding reaches every client on the
enrolment day, as the playbook does: the enrolment month itself is unsupported, so the factor
is a little lower than the 0.3 that a support from day one would need."""

PAGE_LIMIT: Final = 5000
"""The dev server's largest page (``limit`` ≤ 5000)."""

RECEIVED_PAGE: Final = TypeAdapter(list[ReceivedAction])


def support_start(action: ReceivedAction) -> datetime:
    """When the action may reach the client at the earliest: ``deliver_after`` (our quiet
    hours) if it has one, else when Sofie received it."""
    return action.deliver_after if action.deliver_after is not None else action.received_at


def earliest_support(
    known: Mapping[str, datetime], actions: Iterable[ReceivedAction]
) -> dict[str, datetime]:
    """``known`` updated with ``actions``: per client, the earliest support start."""
    merged = dict(known)
    for action in actions:
        start = support_start(action)
        current = merged.get(action.client_ref)
        if current is None or start < current:
            merged[action.client_ref] = start
    return merged


def month_start(month: date) -> datetime:
    """00:00 UTC of ``month``'s first day: support before this instant counts for the month."""
    return datetime.combine(month.replace(day=1), time(), tzinfo=UTC)


def factors_for(
    first_support: Mapping[str, datetime],
    month: date,
    client_ids: Sequence[str],
    factor: float,
) -> dict[str, float]:
    """``factor`` for the clients whose first support started before ``month``, else 1.0."""
    boundary = month_start(month)
    supported = {client for client, start in first_support.items() if start < boundary}
    return {client: factor if client in supported else 1.0 for client in client_ids}


class SofieOracle:
    """``SupportOracle`` backed by what the dev Sofie server accepted (``/_dev/received``).

    Keeps a cursor (the largest ``seq`` seen), so each month fetches only the new actions.
    Ask it only after the pipeline has delivered everything the previous month caused (the
    demo waits for the outbox to drain): the oracle sees Sofie, not the pipeline.
    """

    def __init__(
        self,
        sofie_url: str,
        factor: float = DEFAULT_SUPPORT_FACTOR,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check_factor(factor)
        self.factor = factor
        self.cursor = 0
        self.first_support: dict[str, datetime] = {}
        self._client = httpx.Client(
            base_url=sofie_url.rstrip("/"), timeout=timeout_s, transport=transport, trust_env=False
        )

    def poll(self) -> int:
        """Fetch every action accepted since the last poll; returns how many were new."""
        fetched = 0
        while True:
            response = self._client.get(
                "/_dev/received", params={"since": self.cursor, "limit": PAGE_LIMIT}
            )
            response.raise_for_status()
            page = RECEIVED_PAGE.validate_json(response.content)
            if not page:
                return fetched
            self.first_support = earliest_support(self.first_support, page)
            self.cursor = max(self.cursor, *(action.seq for action in page))
            fetched += len(page)
            if len(page) < PAGE_LIMIT:
                return fetched

    def support_factors(self, month: date, client_ids: Sequence[str]) -> Mapping[str, float]:
        self.poll()
        return factors_for(self.first_support, month, client_ids, self.factor)

    def supported(self, before: date) -> int:
        """How many clients had their first support before ``before`` (for progress lines)."""
        boundary = month_start(before)
        return sum(start < boundary for start in self.first_support.values())

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SofieOracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- calibration (offline) ---------------------------------------------------------------


class OnboardingOracle:
    """Offline stand-in for a working pipeline: every client's first support is delivered on
    the enrolment day (the playbook's onboarding at enrolment), by the same rule as
    :class:`SofieOracle`. Used to calibrate the factor without running the services."""

    def __init__(self, config: SimulationConfig, factor: float) -> None:
        check_factor(factor)
        self.factor = factor
        self.first_support = {
            client.client_id: datetime.combine(client.enrolment_date, time(7), tzinfo=UTC)
            for client in generate_cohort(config)
        }

    def support_factors(self, month: date, client_ids: Sequence[str]) -> Mapping[str, float]:
        return factors_for(self.first_support, month, client_ids, self.factor)


def supported_rate(config: SimulationConfig, factor: float) -> float:
    """Ever-in-arrears share when every client is supported from the month after enrolment."""
    records = outcomes(config, OnboardingOracle(config, factor))
    return sum(r.ever_in_arrears for r in records) / len(records)


def calibrate_support_factor(
    config: SimulationConfig,
    target: float = 0.25,
    *,
    low: float = 0.15,
    high: float = 0.35,
    steps: int = 6,
) -> float:
    """Bisect the factor so that ``supported_rate(config, factor)`` is about ``target``
    (the rate rises with the factor: the same draws, a higher risk)."""
    for _ in range(steps):
        middle = (low + high) / 2
        if supported_rate(config, middle) < target:
            low = middle
        else:
            high = middle
    return round((low + high) / 2, 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Calibrate DEFAULT_SUPPORT_FACTOR offline.")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--target", type=float, default=0.25)
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the 160-client check")
    parser.add_argument("--bisect", action="store_true", help="re-derive the factor")
    args = parser.parse_args(argv)
    gc.disable()  # millions of short-lived acyclic objects; see gc_tuning.gc_paused
    large = SimulationConfig(clients=args.clients, seed=0)
    if args.bisect:
        found = calibrate_support_factor(large, args.target)
        print(f"factor for {args.target:.3f} on {args.clients} clients: {found}")
    for factor in (0.3, DEFAULT_SUPPORT_FACTOR):
        rate = supported_rate(large, factor)
        print(
            f"{args.clients} clients, supported from the month after enrolment at {factor}: "
            f"{rate:.4f}"
        )
    rates = [
        supported_rate(replace(large, clients=160, seed=seed), DEFAULT_SUPPORT_FACTOR)
        for seed in range(args.seeds)
    ]
    mean = sum(rates) / len(rates)
    print(
        f"160 clients at {DEFAULT_SUPPORT_FACTOR}, seeds 0..{args.seeds - 1}: mean {mean:.4f} "
        f"min {min(rates):.4f} max {max(rates):.4f}"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
