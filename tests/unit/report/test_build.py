"""Every statistic of the report equals a direct call of statsmodels, scipy or lifelines on the
same data, computed here from the client rows by hand (to 4 decimals)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]
from lifelines.statistics import logrank_test  # type: ignore[import-untyped]
from scipy.stats import chi2_contingency, chisquare, fisher_exact  # type: ignore[import-untyped]
from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
    confint_proportions_2indep,
    proportion_confint,
)

from services.report.build import build_report
from services.report.model import Interval, Population
from services.report.records import ClientOutcome

from .factories import censored_cohort, client, seed_cohort


def near(expected: float) -> object:
    """Equal to 4 decimals."""
    return pytest.approx(float(expected), abs=5e-5)


def assert_interval(actual: Interval | None, estimate: float, low: float, high: float) -> None:
    assert actual is not None
    assert (actual.estimate, actual.ci_low, actual.ci_high) == (
        near(estimate),
        near(low),
        near(high),
    )


def by_hand_table(rows: Sequence[ClientOutcome]) -> list[list[int]]:
    """[[treatment with, without], [control with, without]] over closed clients."""
    return [
        [
            sum(1 for r in rows if r.arm == arm and r.closed and r.ever_in_arrears),
            sum(1 for r in rows if r.arm == arm and r.closed and not r.ever_in_arrears),
        ]
        for arm in ("treatment", "control")
    ]


def by_hand_km(rows: Sequence[ClientOutcome], arm: str) -> tuple[list[int], list[bool]]:
    durations: list[int] = []
    events: list[bool] = []
    for r in rows:
        if r.arm != arm:
            continue
        if not r.closed:
            durations.append(0)
            events.append(False)
            continue
        days = r.days_to_first_arrears if r.ever_in_arrears else r.followup_days
        assert days is not None
        durations.append(days)
        events.append(bool(r.ever_in_arrears))
    return durations, events


def assert_matches_libraries(rows: Sequence[ClientOutcome], population: Population) -> None:
    (a, b), (c, d) = table = by_hand_table(rows)
    for arm, (count, n) in zip(("treatment", "control"), ((a, a + b), (c, c + d)), strict=True):
        low, high = proportion_confint(count, n, alpha=0.05, method="wilson")
        stats = population.arms[arm]
        assert (stats.n, stats.with_arrears) == (n, count)
        assert (stats.rate, stats.ci_low, stats.ci_high) == (near(count / n), near(low), near(high))
    low, high = confint_proportions_2indep(a, a + b, c, c + d, method="newcomb", compare="diff")
    assert_interval(population.risk_difference, a / (a + b) - c / (c + d), low, high)
    low, high = confint_proportions_2indep(a, a + b, c, c + d, method="log", compare="ratio")
    assert_interval(population.relative_risk, (a / (a + b)) / (c / (c + d)), low, high)
    assert population.fisher_p == near(fisher_exact(table, alternative="two-sided")[1])
    assert population.chi2_p == near(chi2_contingency(table, correction=False)[1])

    fitted = {}
    for arm in ("treatment", "control"):
        durations, events = by_hand_km(rows, arm)
        fitted[arm] = (durations, events)
        kmf = KaplanMeierFitter().fit(durations, events)
        band = kmf.confidence_interval_cumulative_density_.loc[:365].iloc[-1]
        assert_interval(population.km[arm], 1 - kmf.predict(365), band.iloc[0], band.iloc[1])
    (dt, et), (dc, ec) = fitted["treatment"], fitted["control"]
    expected_logrank = logrank_test(dt, dc, event_observed_A=et, event_observed_B=ec).p_value
    assert population.logrank_p == near(expected_logrank)

    for arm in ("treatment", "control"):
        ever = [r for r in rows if r.arm == arm and r.closed and r.ever_in_arrears]
        relapsed = sum(1 for r in ever if r.relapse)
        low, high = proportion_confint(relapsed, len(ever), method="wilson")
        relapse = population.relapse[arm]
        assert (relapse.ever_in_arrears, relapse.relapsed) == (len(ever), relapsed)
        assert (relapse.rate, relapse.ci_low, relapse.ci_high) == (
            near(relapsed / len(ever)),
            near(low),
            near(high),
        )


def test_seed_figures_match_the_libraries() -> None:
    rows = seed_cohort()
    report = build_report(rows)
    assert by_hand_table(rows) == [[39, 121], [218, 50]]
    assert_matches_libraries(rows, report.overall)
    assert report.arms["control"].rate == near(0.8134)  # the seed's 81.3%
    assert report.arms["treatment"].rate == near(0.24375)  # 24.4%, not the seed's 24.6%
    # Without censoring, KM incidence at a year is the plain proportion.
    assert report.km["treatment"] is not None
    assert report.km["treatment"].estimate == near(39 / 160)
    assert report.pending == 0
    assert report.experiment_key == "sofie-pilot-2026"


def test_seed_segments_match_the_libraries() -> None:
    rows = seed_cohort()
    report = build_report(rows)
    assert list(report.segments) == [
        "prevention",
        "collection_struggle",
        "restructured",
        "interest_only_high_risk",
    ]
    for segment, population in report.by_segment.items():
        assert_matches_libraries([r for r in rows if r.segment == segment], population)


def test_censoring_and_pending_clients_match_the_libraries() -> None:
    rows = censored_cohort()
    report = build_report(rows)
    assert_matches_libraries(rows, report.overall)
    assert report.pending == 3
    assert report.arms["treatment"].enrolled == 13
    assert report.arms["treatment"].n == 11
    assert report.arms["treatment"].censored == 3
    # Censoring makes KM incidence exceed the naive proportion over closed clients.
    km = report.km["treatment"]
    rate = report.arms["treatment"].rate
    assert km is not None
    assert rate is not None
    assert km.estimate > rate
    assert any("still in follow-up" in w for w in report.warnings)
    # collection_struggle control: the last client at risk had arrears, S(t) = 0
    struggle = report.by_segment["collection_struggle"]
    assert struggle.km["control"] is not None
    assert struggle.km["control"].estimate == 1.0
    assert any(note.startswith("km.control: the interval collapses") for note in struggle.notes)


def test_srm_with_the_intended_3_to_5_allocation_is_not_flagged() -> None:
    srm = build_report(seed_cohort(allocation=0.375)).srm
    expected = chisquare([160, 268], [428 * 0.375, 428 * 0.625])
    assert srm.observed == {"treatment": 160, "control": 268}
    assert srm.expected == {"treatment": near(160.5), "control": near(267.5)}
    assert srm.p == near(expected.pvalue)
    assert srm.p == pytest.approx(0.96, abs=0.005)
    assert not srm.flagged


def test_srm_against_a_stored_1_to_1_allocation_is_flagged() -> None:
    report = build_report(seed_cohort(allocation=0.5))
    srm = report.srm
    assert srm.p == pytest.approx(chisquare([160, 268]).pvalue, rel=1e-6)
    assert srm.p == pytest.approx(1.8e-7, rel=0.02)
    assert srm.flagged
    assert any("sample ratio mismatch" in w for w in report.warnings)


def test_mixed_stored_allocations_are_flagged_and_reported() -> None:
    rows = seed_cohort(allocation=0.375)[:-10] + [
        client(f"late-{i}", "control", allocation=0.5) for i in range(10)
    ]
    report = build_report(rows)
    srm = report.srm
    assert srm.flagged
    assert srm.p is None
    assert srm.expected is None
    assert srm.allocations == {"0.375": 418, "0.5": 10}
    assert srm.reason is not None
    assert "different intended allocations" in srm.reason
    assert any("different intended allocations" in w for w in report.warnings)


def test_empty_cells_give_none_with_a_reason_never_a_crash() -> None:
    rows = [
        # prevention: both arms, nobody in arrears
        client("p-t", "treatment"),
        client("p-c", "control"),
        # restructured: treatment only
        client("r-t", "treatment", "restructured", arrears_day=5),
        # collection_struggle: arrears in control only, follow-up shorter than the horizon
        client("s-t", "treatment", "collection_struggle", followup=100, censored=True),
        client("s-c", "control", "collection_struggle", arrears_day=20, followup=100),
    ]
    report = build_report(rows)
    prevention = report.by_segment["prevention"]
    assert prevention.risk_difference is not None
    assert prevention.risk_difference.estimate == 0
    assert prevention.relative_risk is None
    assert "relative_risk" in prevention.unavailable
    assert prevention.chi2_p is None
    assert "chi2_p" in prevention.unavailable
    assert prevention.logrank_p is None
    assert "no arrears" in prevention.unavailable["logrank_p"]
    assert prevention.relapse["treatment"].rate is None
    assert "relapse.treatment" in prevention.unavailable

    restructured = report.by_segment["restructured"]
    assert restructured.arms["control"].rate is None
    for name in ("rate.control", "risk_difference", "fisher_p", "km.control", "logrank_p"):
        assert name in restructured.unavailable, name

    struggle = report.by_segment["collection_struggle"]
    assert struggle.km["treatment"] is None
    assert "day 365" in struggle.unavailable["km.treatment"]
    assert struggle.km["control"] is not None  # everyone had an event: identified at a year
    assert struggle.fisher_p == near(1.0)


def test_nobody_enrolled_gives_an_empty_report() -> None:
    report = build_report([])
    assert report.enrolled == 0
    assert report.by_segment == {}
    assert report.srm.p is None
    assert not report.srm.flagged
    assert report.experiment_key is None
    assert "no enrolled clients" in report.warnings
