"""The pilot year end to end, on a small cohort, exactly as ``nazorg demo`` runs it.

Two runs of the same seed (``run_pilot``, the demo's own function): one as it should be, one
with the dev Sofie server refusing every action. Each run starts the dev Sofie server, ingest,
the detector and the intervention as processes (SQLite) on the session's broker, feeds a year
month by month over HTTP, and stops everything.
"""

from __future__ import annotations

import io
import math
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from scipy import stats  # type: ignore[import-untyped]
from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
    proportion_confint,
    proportions_chisquare,
)

from services.demo import PilotConfig, PilotResult, run_pilot, write_report_files
from services.demo_quality import ArmCount
from services.report.build import build_report
from services.report.model import Report
from services.report.render import CSV_HEADER
from services.simulator import TruthRecord

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

COHORT = PilotConfig(clients=80, seed=1, stage_timeout_s=90.0)
"""80 clients (32 treatment, 48 control with this seed): big enough that a broken delivery
shows in the treatment rate beyond doubt, small enough for about a minute per run."""
Z = float(stats.norm.ppf(0.975))
PLACES = 4


@pytest.fixture(scope="module")
def runs(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PilotResult]:
    # The two runs are independent stacks (own processes, SQLite file and topics) that spend
    # most of their time waiting for a month to be processed: side by side they take little
    # more than one.
    workdir = tmp_path_factory.mktemp("pilot")
    configs = {"normal": COHORT, "broken": replace(COHORT, break_delivery=True)}
    with ThreadPoolExecutor(max_workers=len(configs), thread_name_prefix="pilot") as pool:
        futures = {
            name: pool.submit(
                run_pilot,
                config,
                workdir / name,
                bootstrap=kafka_bootstrap,
                namespace=f"pilot_{name}_{secrets.token_hex(3)}",
            )
            for name, config in configs.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def normal(runs: dict[str, PilotResult]) -> PilotResult:
    return runs["normal"]


def counts(result: PilotResult, arm: str, segment: str | None = None) -> tuple[int, int]:
    """(ever in arrears, clients) of one arm, from the ground truth and the stored arms."""
    rows: list[TruthRecord] = [
        r
        for r in result.records
        if result.arms[r.client_id] == arm and segment in (None, r.segment)
    ]
    return sum(r.ever_in_arrears for r in rows), len(rows)


def close(actual: float | None, expected: float) -> bool:
    """Equal to 4 decimals (without the rounding edge of comparing two rounded numbers)."""
    return actual is not None and abs(actual - expected) < 0.5 * 10**-PLACES


def test_every_arrears_onset_is_detected_and_nothing_else(normal: PilotResult) -> None:
    assert normal.onsets.true_onsets > 20, "the cohort must have arrears to detect"
    assert normal.onsets.recall == 1.0, normal.onsets
    assert normal.onsets.precision == 1.0, normal.onsets


def test_report_counts_equal_the_ground_truth_per_arm_and_client(normal: PilotResult) -> None:
    assert normal.final.closed == COHORT.clients
    assert normal.report.pending == 0
    assert normal.counts.truth == normal.counts.report, normal.counts
    assert normal.counts.disagreements == 0
    for arm in ("treatment", "control"):
        hits, n = counts(normal, arm)
        assert normal.counts.report[arm] == ArmCount(n, hits)
    for segment, arms in normal.report.segments.items():
        for arm, stats_ in arms.items():
            assert (stats_.with_arrears, stats_.n) == counts(normal, arm, segment)


def test_report_statistics_equal_an_independent_computation(normal: PilotResult) -> None:
    report = normal.report
    a, n1 = counts(normal, "treatment")
    c, n2 = counts(normal, "control")
    p1, p2 = a / n1, c / n2
    wilson = {}
    for arm, (hits, n) in (("treatment", (a, n1)), ("control", (c, n2))):
        low, high = proportion_confint(hits, n, alpha=0.05, method="wilson")
        wilson[arm] = (low, high)
        stats_ = report.arms[arm]
        assert close(stats_.rate, hits / n)
        assert close(stats_.ci_low, low)
        assert close(stats_.ci_high, high)

    # Newcombe's hybrid score interval from the two Wilson intervals, by hand.
    (l1, u1), (l2, u2) = wilson["treatment"], wilson["control"]
    difference = p1 - p2
    rd = report.risk_difference
    assert rd is not None
    assert close(rd.estimate, difference)
    assert close(rd.ci_low, difference - math.hypot(p1 - l1, u2 - p2))
    assert close(rd.ci_high, difference + math.hypot(u1 - p1, p2 - l2))

    # Relative risk with Katz's log interval, by hand.
    rr = report.relative_risk
    assert rr is not None
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    assert close(rr.estimate, p1 / p2)
    assert close(rr.ci_low, math.exp(math.log(p1 / p2) - Z * se))
    assert close(rr.ci_high, math.exp(math.log(p1 / p2) + Z * se))

    table = [[a, n1 - a], [c, n2 - c]]
    assert close(report.fisher_p, stats.fisher_exact(table).pvalue)
    _, chi2_p, _ = proportions_chisquare([a, c], [n1, n2])
    assert close(report.chi2_p, chi2_p)

    # Kaplan-Meier incidence at day 365 and the log-rank test with scipy's censored data.
    samples = {arm: survival(normal, arm) for arm in ("treatment", "control")}
    for arm, data in samples.items():
        km = report.km[arm]
        assert km is not None
        assert close(km.estimate, 1 - float(stats.ecdf(data).sf.evaluate(365)))
    logrank = stats.logrank(samples["treatment"], samples["control"])
    assert close(report.logrank_p, logrank.pvalue)

    # SRM: chi-square goodness of fit of the arm sizes to the intended 3:5, by hand.
    share = report.srm.intended_allocation
    assert share == 0.375
    total = n1 + n2
    chi2 = (n1 - total * share) ** 2 / (total * share) + (n2 - total * (1 - share)) ** 2 / (
        total * (1 - share)
    )
    assert close(report.srm.p, float(stats.chi2.sf(chi2, 1)))
    assert not report.srm.flagged


def survival(result: PilotResult, arm: str) -> Any:
    """Time to first arrears (event) or follow-up length (right-censored), from the truth."""
    rows = [r for r in result.records if result.arms[r.client_id] == arm]
    events = [r.days_to_first_arrears for r in rows if r.ever_in_arrears]
    censored = [r.followup_days for r in rows if not r.ever_in_arrears]
    return stats.CensoredData(uncensored=events, right=censored)


def tampered(result: PilotResult, allocation: float | None) -> Report:
    """The run's outcomes with the stored intended allocation replaced (None: mixed)."""
    outcomes = result.outcomes
    if allocation is None:  # half the clients carry another allocation
        changed = [
            replace(o, intended_allocation=0.5) if i % 2 else o for i, o in enumerate(outcomes)
        ]
    else:
        changed = [replace(o, intended_allocation=allocation) for o in outcomes]
    return build_report(changed)


def test_srm_is_flagged_when_the_stored_allocation_is_tampered_with(normal: PilotResult) -> None:
    assert not normal.report.srm.flagged
    claimed_even = tampered(normal, 0.9).srm
    assert claimed_even.flagged
    assert claimed_even.p is not None
    assert claimed_even.p < 0.001
    mixed = tampered(normal, None).srm
    assert mixed.flagged
    assert mixed.p is None


def test_breaking_sofie_delivery_raises_the_treatment_rate(runs: dict[str, PilotResult]) -> None:
    normal, broken = runs["normal"], runs["broken"]
    assert normal.sofie_accepted > 0
    assert broken.sofie_accepted == 0, "the dev Sofie server refused everything"
    assert broken.arms == normal.arms, "same seed, same clients, same assignment"
    # Control clients receive nothing either way: the same draws give the same stories.
    assert broken.counts.truth["control"] == normal.counts.truth["control"]

    rates = {name: run.report.arms["treatment"].rate for name, run in runs.items()}
    assert rates["normal"] is not None
    assert rates["broken"] is not None
    assert rates["broken"] > rates["normal"] + 0.25, rates
    # The broken run is measured as correctly as the normal one.
    assert broken.onsets.recall == broken.onsets.precision == 1.0
    assert broken.counts.equal


def test_the_demo_writes_the_report_files(normal: PilotResult, tmp_path: Path) -> None:
    console = Console(file=io.StringIO())
    paths = write_report_files(normal, tmp_path / "report", console)
    assert paths["json"].read_text().startswith("{")
    assert paths["csv"].read_text().splitlines()[0] == ",".join(CSV_HEADER)
