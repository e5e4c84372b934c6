"""``build_report``: intention-to-treat statistics over every enrolled client.

Closed clients give the outcome. A client still in follow-up is in the ITT population and in
the SRM check, is censored at day 0 for Kaplan-Meier, and is left out of the proportions
(their outcome is not known yet); ``pending`` says how many.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar, get_args

from schemas.enrolments import Segment
from services.report import statistics as st
from services.report.model import ARMS, ArmStats, Interval, Population, RelapseStats, Report
from services.report.records import ClientOutcome, survival_time

__all__ = ["build_report"]

T = TypeVar("T")
SEGMENTS = get_args(Segment)


def build_report(
    outcomes: Sequence[ClientOutcome],
    *,
    horizon_days: int = 365,
    srm_alpha: float = 0.001,
    generated_from: str = "outcomes",
) -> Report:
    """The pilot report for ``outcomes`` (one row per enrolled client)."""
    present = {o.segment for o in outcomes}
    ordered = [s for s in SEGMENTS if s in present] + sorted(present - set(SEGMENTS))
    overall = _population(outcomes, horizon_days, srm_alpha)
    by_segment = {
        segment: _population([o for o in outcomes if o.segment == segment], horizon_days, srm_alpha)
        for segment in ordered
    }
    keys = sorted({o.experiment_key for o in outcomes})
    return Report(
        experiment_key=keys[0] if len(keys) == 1 else None,
        generated_from=generated_from,
        horizon_days=horizon_days,
        srm_alpha=srm_alpha,
        enrolled=len(outcomes),
        pending=sum(not o.closed for o in outcomes),
        overall=overall,
        by_segment=by_segment,
        warnings=_warnings(outcomes, keys, overall, by_segment),
    )


def _population(outcomes: Sequence[ClientOutcome], horizon: int, alpha: float) -> Population:
    unavailable: dict[str, str] = {}

    def attempt(name: str, compute: Callable[[], T]) -> T | None:
        try:
            return compute()
        except st.UndefinedError as reason:
            unavailable[name] = str(reason)
            return None

    by_arm = {arm: [o for o in outcomes if o.arm == arm] for arm in ARMS}
    arms = {arm: _arm_stats(arm, rows, attempt) for arm, rows in by_arm.items()}
    table = (_cells(arms["treatment"]), _cells(arms["control"]))
    samples = {arm: [survival_time(o) for o in rows] for arm, rows in by_arm.items()}
    chi2_p = attempt("chi2_p", partial(st.chi2_p, table))
    km = {arm: attempt(f"km.{arm}", partial(st.km_at, samples[arm], horizon)) for arm in ARMS}
    notes = []
    if chi2_p is not None and st.smallest_expected(table) < 5:
        notes.append("an expected cell count is below 5: prefer Fisher's exact p to chi-square")
    notes += [
        f"km.{arm}: the interval collapses to a point (no arrears yet, or every client still "
        "at risk had arrears): its width is unknown, not zero"
        for arm, estimate in km.items()
        if estimate is not None and estimate.ci_low == estimate.ci_high
    ]
    return Population(
        arms=arms,
        risk_difference=attempt("risk_difference", partial(st.risk_difference, table)),
        relative_risk=attempt("relative_risk", partial(st.relative_risk, table)),
        fisher_p=attempt("fisher_p", partial(st.fisher_p, table)),
        chi2_p=chi2_p,
        km=km,
        logrank_p=attempt(
            "logrank_p", partial(st.logrank_p, samples["treatment"], samples["control"])
        ),
        relapse={arm: _relapse(arm, rows, attempt) for arm, rows in by_arm.items()},
        srm=st.srm(
            {arm: len(rows) for arm, rows in by_arm.items()},
            Counter(o.intended_allocation for o in outcomes),
            alpha,
        ),
        unavailable=unavailable,
        notes=tuple(notes),
    )


Attempt = Callable[[str, Callable[[], Interval]], Interval | None]


def _cells(arm: ArmStats) -> tuple[int, int]:
    return arm.with_arrears, arm.n - arm.with_arrears


def _arm_stats(arm: str, rows: Sequence[ClientOutcome], attempt: Attempt) -> ArmStats:
    closed = [o for o in rows if o.closed]
    with_arrears = sum(bool(o.ever_in_arrears) for o in closed)
    rate = attempt(f"rate.{arm}", lambda: st.wilson(with_arrears, len(closed)))
    return ArmStats(
        enrolled=len(rows),
        pending=len(rows) - len(closed),
        n=len(closed),
        censored=sum(bool(o.censored) for o in closed),
        with_arrears=with_arrears,
        rate=rate.estimate if rate else None,
        ci_low=rate.ci_low if rate else None,
        ci_high=rate.ci_high if rate else None,
    )


def _relapse(arm: str, rows: Sequence[ClientOutcome], attempt: Attempt) -> RelapseStats:
    at_risk = [o for o in rows if o.closed and o.ever_in_arrears]
    relapsed = sum(bool(o.relapse) for o in at_risk)
    rate = attempt(f"relapse.{arm}", lambda: st.wilson(relapsed, len(at_risk)))
    return RelapseStats(
        ever_in_arrears=len(at_risk),
        relapsed=relapsed,
        rate=rate.estimate if rate else None,
        ci_low=rate.ci_low if rate else None,
        ci_high=rate.ci_high if rate else None,
    )


def _warnings(
    outcomes: Sequence[ClientOutcome],
    keys: Sequence[str],
    overall: Population,
    by_segment: dict[str, Population],
) -> tuple[str, ...]:
    found: list[str] = []
    if not outcomes:
        found.append("no enrolled clients")
    if len(keys) > 1:
        found.append(f"clients from {len(keys)} experiments are mixed: {', '.join(keys)}")
    if overall.srm.flagged:
        found.append(f"sample ratio mismatch: {_srm_text(overall)}")
    for segment, population in by_segment.items():
        if population.srm.flagged and population.srm.p is not None:
            found.append(f"sample ratio mismatch in segment {segment}: {_srm_text(population)}")
    pending = sum(not o.closed for o in outcomes)
    if pending:
        found.append(
            f"{pending} clients are still in follow-up: left out of the proportions, "
            "censored at day 0 for Kaplan-Meier"
        )
    return tuple(found)


def _srm_text(population: Population) -> str:
    srm = population.srm
    return srm.reason if srm.p is None and srm.reason else f"p = {srm.p:.3g} < {srm.alpha:g}"
