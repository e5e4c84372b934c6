"""The report's statistics, pure: counts (or survival times) in, numbers out.

Each function either returns a finite result or raises :class:`UndefinedError` with the reason, so
the caller can record why a cell of the report is empty instead of crashing or printing NaN.
The computations are the libraries' own (statsmodels, scipy, lifelines); this module only
decides which method, and when the data cannot support it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]
from lifelines.statistics import logrank_test  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]
from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
    confint_proportions_2indep,
    proportion_confint,
)

from services.report.model import Interval
from services.report.srm import srm

__all__ = [
    "KmCurve",
    "Survival",
    "Table2x2",
    "UndefinedError",
    "chi2_p",
    "fisher_p",
    "km_at",
    "km_curve",
    "logrank_p",
    "relative_risk",
    "risk_difference",
    "smallest_expected",
    "srm",
    "wilson",
]

ALPHA = 0.05  # every interval in the report is a 95% interval

Table2x2 = tuple[tuple[int, int], tuple[int, int]]
"""Rows treatment, control; columns with arrears, without arrears."""

Survival = Sequence[tuple[int, bool]]
"""(days, event) per client, as ``records.survival_time`` gives them."""


class UndefinedError(ValueError):
    """The data cannot give this statistic; the message says why."""


@dataclass(frozen=True)
class KmCurve:
    """Kaplan-Meier cumulative incidence (1 - S(t)) as a step function, with its 95% band."""

    days: list[float]
    incidence: list[float]
    ci_low: list[float]
    ci_high: list[float]


def wilson(count: int, n: int) -> Interval:
    """count/n with the Wilson score interval, which keeps its coverage near 0% and 100%."""
    if n == 0:
        raise UndefinedError("no closed clients")
    low, high = proportion_confint(count, n, alpha=ALPHA, method="wilson")
    return _finite(count / n, low, high)


def risk_difference(table: Table2x2) -> Interval:
    """Treatment rate minus control rate, Newcombe's hybrid score interval (method 10)."""
    (a, b), (c, d) = _both_arms(table)
    low, high = confint_proportions_2indep(
        a, a + b, c, c + d, method="newcomb", compare="diff", alpha=ALPHA
    )
    return _finite(a / (a + b) - c / (c + d), low, high)


def relative_risk(table: Table2x2) -> Interval:
    """Treatment rate / control rate, interval on the log scale (Katz)."""
    (a, b), (c, d) = _both_arms(table)
    if a == 0 or c == 0:
        raise UndefinedError(
            "an arm has no clients with arrears: the log-scale interval is undefined"
        )
    low, high = confint_proportions_2indep(
        a, a + b, c, c + d, method="log", compare="ratio", alpha=ALPHA
    )
    return _finite((a / (a + b)) / (c / (c + d)), low, high)


def fisher_p(table: Table2x2) -> float:
    """Two-sided Fisher exact test: valid however small the cells."""
    _both_arms(table)
    return _finite_p(stats.fisher_exact(table, alternative="two-sided").pvalue)


def chi2_p(table: Table2x2) -> float:
    """Pearson's chi-square test of the 2x2 table, without Yates's continuity correction.

    Fisher's exact p is reported next to it for small cells; Yates would only push the
    chi-square towards an over-conservative approximation of that.
    """
    (a, b), (c, d) = _both_arms(table)
    if a + c == 0 or b + d == 0:
        raise UndefinedError(
            "every closed client has the same outcome: the chi-square is undefined"
        )
    return _finite_p(stats.chi2_contingency(table, correction=False).pvalue)


def smallest_expected(table: Table2x2) -> float:
    """The smallest expected cell count under independence (Cochran's rule wants >= 5)."""
    (a, b), (c, d) = table
    total = a + b + c + d
    if total == 0:
        return 0.0
    rows, cols = (a + b, c + d), (a + c, b + d)
    return min(r * k / total for r in rows for k in cols)


def km_at(samples: Survival, horizon: int) -> Interval:
    """Kaplan-Meier cumulative incidence 1 - S(horizon) with lifelines' 95% interval
    (exponential Greenwood, i.e. on the log(-log) scale)."""
    if not samples:
        raise UndefinedError("no clients")
    fitter = _fit(samples)
    longest = max(days for days, _ in samples)
    survival_at_end = float(fitter.survival_function_.iloc[-1, 0])
    if longest < horizon and survival_at_end > 0:
        raise UndefinedError(f"no follow-up reaches day {horizon} (longest: {longest} days)")
    estimate = float(fitter.cumulative_density_at_times([horizon]).iloc[0])
    band = fitter.confidence_interval_cumulative_density_.loc[:horizon].iloc[-1]
    return _finite(estimate, band.iloc[0], band.iloc[1])


def km_curve(samples: Survival) -> KmCurve:
    """The whole cumulative-incidence curve (for the figure)."""
    if not samples:
        raise UndefinedError("no clients")
    fitter = _fit(samples)
    band = fitter.confidence_interval_cumulative_density_
    return KmCurve(
        days=[float(t) for t in fitter.cumulative_density_.index],
        incidence=[float(v) for v in fitter.cumulative_density_.iloc[:, 0]],
        ci_low=[float(v) for v in band.iloc[:, 0]],
        ci_high=[float(v) for v in band.iloc[:, 1]],
    )


def logrank_p(treatment: Survival, control: Survival) -> float:
    """Log-rank test of time to first arrears, treatment vs control, over all follow-up."""
    if not treatment or not control:
        raise UndefinedError("an arm has no clients")
    if not any(event for _, event in (*treatment, *control)):
        raise UndefinedError("no arrears observed in either arm")
    result = logrank_test(
        [days for days, _ in treatment],
        [days for days, _ in control],
        event_observed_A=[event for _, event in treatment],
        event_observed_B=[event for _, event in control],
    )
    return _finite_p(result.p_value)


def _both_arms(table: Table2x2) -> Table2x2:
    (a, b), (c, d) = table
    if a + b == 0 or c + d == 0:
        raise UndefinedError("an arm has no closed clients")
    return table


def _fit(samples: Survival) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(
        [days for days, _ in samples], event_observed=[event for _, event in samples]
    )


def _finite(estimate: float, low: float, high: float) -> Interval:
    values = (float(estimate), float(low), float(high))
    if not all(math.isfinite(v) for v in values):
        raise UndefinedError("the interval is not finite for these counts")
    return Interval(*values)


def _finite_p(value: float) -> float:
    p = float(value)
    if not math.isfinite(p):
        raise UndefinedError("the test statistic is not finite for these counts")
    return p
