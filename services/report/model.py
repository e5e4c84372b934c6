"""The report as plain, frozen values: what ``build`` computes and ``render``/``html`` show.

A statistic the data cannot give is ``None``, and ``Population.unavailable`` says why under
the statistic's name (e.g. ``"relative_risk"``, ``"km.treatment"``), so nothing crashes and
nothing is silently missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ARMS: Final = ("treatment", "control")


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% confidence interval."""

    estimate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ArmStats:
    """One arm of one population. ``n`` counts closed clients: the proportion's denominator.

    ``enrolled`` is the intention-to-treat count (``n + pending``); ``censored`` counts closed
    clients whose follow-up ended before the full period. ``rate`` and its Wilson 95% interval
    are ``None`` when ``n`` is 0.
    """

    enrolled: int
    pending: int
    n: int
    censored: int
    with_arrears: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class RelapseStats:
    """Relapse after cure among the arm's closed clients that were ever in arrears."""

    ever_in_arrears: int
    relapsed: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Srm:
    """Sample-ratio-mismatch check of the arms' sizes against the stored intended allocation.

    ``allocations`` maps every stored intended allocation (as text) to how many clients carry
    it. With more than one there is no single expectation: ``p`` is ``None`` and the check is
    flagged, because the assignment changed mid-pilot.
    """

    observed: dict[str, int]
    expected: dict[str, float] | None
    intended_allocation: float | None
    allocations: dict[str, int]
    chi2: float | None
    p: float | None
    alpha: float
    flagged: bool
    reason: str | None


@dataclass(frozen=True)
class Population:
    """Every statistic for one set of clients: all of them, or one segment."""

    arms: dict[str, ArmStats]
    risk_difference: Interval | None
    """Treatment rate minus control rate, Newcombe (hybrid score) 95% CI."""
    relative_risk: Interval | None
    """Treatment rate / control rate, log-scale (Katz) 95% CI."""
    fisher_p: float | None
    chi2_p: float | None
    """Pearson's chi-square without continuity correction."""
    km: dict[str, Interval | None]
    """Kaplan-Meier cumulative incidence of arrears at the horizon, per arm."""
    logrank_p: float | None
    relapse: dict[str, RelapseStats]
    srm: Srm
    unavailable: dict[str, str]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """The pilot report: ``overall`` for every enrolled client, ``by_segment`` per stratum."""

    experiment_key: str | None
    """The experiment the clients belong to; ``None`` when there are none or several."""
    generated_from: str
    horizon_days: int
    srm_alpha: float
    enrolled: int
    pending: int
    overall: Population
    by_segment: dict[str, Population]
    warnings: tuple[str, ...]

    @property
    def arms(self) -> dict[str, ArmStats]:
        return self.overall.arms

    @property
    def segments(self) -> dict[str, dict[str, ArmStats]]:
        return {segment: population.arms for segment, population in self.by_segment.items()}

    @property
    def risk_difference(self) -> Interval | None:
        return self.overall.risk_difference

    @property
    def relative_risk(self) -> Interval | None:
        return self.overall.relative_risk

    @property
    def fisher_p(self) -> float | None:
        return self.overall.fisher_p

    @property
    def chi2_p(self) -> float | None:
        return self.overall.chi2_p

    @property
    def km(self) -> dict[str, Interval | None]:
        return self.overall.km

    @property
    def logrank_p(self) -> float | None:
        return self.overall.logrank_p

    @property
    def relapse(self) -> dict[str, RelapseStats]:
        return self.overall.relapse

    @property
    def srm(self) -> Srm:
        return self.overall.srm
