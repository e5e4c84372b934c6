"""Detection quality of a pilot run, measured against the simulator's ground truth (pure).

Two questions, both answered from data the pipeline cannot see the other side of:

- **Arrears onsets**: does the detector raise ``arrears_onset`` exactly at the closes where the
  truth's ledger enters arrears? Both sides are per ``(loan_id, business date)``; every entry into
  arrears counts, re-entries included (the detector raises ``arrears_onset`` for each and adds
  ``relapse`` next to it, so ``relapse`` is not compared). Recall and precision over the whole
  horizon, also outside follow-up.
- **Per-arm outcome counts**: the truth's ``ever_in_arrears`` per arm (the arm each client was
  assigned, from the intervention's enrolments) against the report's counts, and client by
  client (the report has pseudonyms only; the caller passes the pseudonymisation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from schemas.signals import ArrearsSignal, DayClosed
from services.report.model import ARMS, Report
from services.report.records import ClientOutcome
from services.simulator.truth import TruthRecord

Onset = tuple[str, date]
"""(loan id, business date of the close at which the loan entered arrears)."""

ONSET_SIGNAL: Final = "arrears_onset"


@dataclass(frozen=True)
class OnsetQuality:
    """Detector onsets against true onsets."""

    true_onsets: int
    detected: int
    matched: int

    @property
    def missed(self) -> int:
        return self.true_onsets - self.matched

    @property
    def false_alarms(self) -> int:
        return self.detected - self.matched

    @property
    def recall(self) -> float:
        """Share of true onsets the detector raised; 1.0 when there were none."""
        return self.matched / self.true_onsets if self.true_onsets else 1.0

    @property
    def precision(self) -> float:
        """Share of raised onsets that are true; 1.0 when none were raised."""
        return self.matched / self.detected if self.detected else 1.0


@dataclass(frozen=True)
class ArmCount:
    n: int
    ever_in_arrears: int

    @property
    def rate(self) -> float | None:
        return self.ever_in_arrears / self.n if self.n else None


@dataclass(frozen=True)
class ArmComparison:
    """Per arm, the truth's counts and the report's, and clients whose outcomes disagree."""

    truth: dict[str, ArmCount]
    report: dict[str, ArmCount]
    disagreements: int
    """Clients whose ever-in-arrears, days to first arrears or censoring differ (or who are
    missing on one side)."""

    @property
    def equal(self) -> bool:
        return self.truth == self.report and self.disagreements == 0


def true_onsets(records: Iterable[TruthRecord]) -> set[Onset]:
    """Every onset of every loan over the horizon, from the ground truth."""
    return {(r.loan_id, day) for r in records for day in r.arrears_onsets}


def detected_onsets(messages: Iterable[ArrearsSignal | DayClosed]) -> set[Onset]:
    """The detector's ``arrears_onset`` signals (day-closed markers and other types skipped;
    a signal delivered twice counts once)."""
    return {
        (m.data.loan_id, m.data.business_date)
        for m in messages
        if isinstance(m, ArrearsSignal) and m.type == ONSET_SIGNAL
    }


def onset_quality(truth: set[Onset], detected: set[Onset]) -> OnsetQuality:
    return OnsetQuality(len(truth), len(detected), len(truth & detected))


def truth_counts(records: Iterable[TruthRecord], arms: Mapping[str, str]) -> dict[str, ArmCount]:
    """Clients and clients ever in arrears per arm; ``arms`` maps client id to arm (clients
    without an arm are not counted: they were never enrolled)."""
    counts = {arm: [0, 0] for arm in ARMS}
    for record in records:
        arm = arms.get(record.client_id)
        if arm is None:
            continue
        counts.setdefault(arm, [0, 0])
        counts[arm][0] += 1
        counts[arm][1] += record.ever_in_arrears
    return {arm: ArmCount(n, hits) for arm, (n, hits) in counts.items()}


def report_counts(report: Report) -> dict[str, ArmCount]:
    """The report's closed clients and clients with arrears per arm."""
    return {arm: ArmCount(stats.n, stats.with_arrears) for arm, stats in report.arms.items()}


def disagreements(
    records: Sequence[TruthRecord],
    outcomes: Sequence[ClientOutcome],
    subject_of: Callable[[str], str],
) -> int:
    """Clients whose truth and reported outcome differ; ``subject_of`` pseudonymises a client id
    as the intervention does."""
    reported = {o.subject: o for o in outcomes}
    subjects = {subject_of(r.client_id): r for r in records}
    different = len(reported.keys() - subjects.keys())  # reported, but not in the cohort
    for subject, record in subjects.items():
        outcome = reported.get(subject)
        if (
            outcome is None
            or not outcome.closed
            or outcome.ever_in_arrears != record.ever_in_arrears
            or outcome.days_to_first_arrears != record.days_to_first_arrears
            or outcome.censored != record.censored
        ):
            different += 1
    return different


def compare_arms(
    records: Sequence[TruthRecord],
    arms: Mapping[str, str],
    report: Report,
    outcomes: Sequence[ClientOutcome],
    subject_of: Callable[[str], str],
) -> ArmComparison:
    return ArmComparison(
        truth=truth_counts(records, arms),
        report=report_counts(report),
        disagreements=disagreements(records, outcomes, subject_of),
    )
