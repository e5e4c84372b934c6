"""Detection quality against the ground truth: onsets and per-arm counts (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from schemas.codec import decode_signals_message
from schemas.signals import ArrearsSignal, DayClosed
from services.demo_quality import (
    ArmCount,
    OnsetQuality,
    compare_arms,
    detected_onsets,
    disagreements,
    onset_quality,
    true_onsets,
    truth_counts,
)
from services.report.build import build_report
from services.report.records import ClientOutcome
from services.simulator.truth import TruthRecord

D1, D2, D3 = date(2026, 10, 8), date(2026, 12, 9), date(2027, 3, 8)


def record(client: str, onsets: tuple[date, ...] = ()) -> TruthRecord:
    enrolled = date(2026, 10, 1)
    first = onsets[0] if onsets else None
    return TruthRecord(
        client_id=client,
        loan_id=f"L-{client}",
        segment="collection_struggle",
        enrolment_date=enrolled,
        followup_end=date(2027, 10, 1),
        followup_days=365,
        censored=False,
        ever_in_arrears=first is not None,
        first_arrears_date=first,
        days_to_first_arrears=None if first is None else (first - enrolled).days,
        max_dpd=0,
        relapse=False,
        arrears_onsets=onsets,
        arrears_cures=(),
    )


def signal(kind: str, loan: str, day: date, n: int = 0) -> ArrearsSignal | DayClosed:
    data: dict[str, Any] = {
        "loan_id": loan,
        "client_id": f"C-{loan}",
        "business_date": day.isoformat(),
        "dpd": 5,
        "past_due_amount": "100.00",
        "cause_event_ids": ["e1"],
    }
    return message(f"sig-{kind}-{loan}-{day}-{n}", kind, data)


def marker(day: date) -> ArrearsSignal | DayClosed:
    data = {"source_partition": 0, "partitions": 1, "business_date": day.isoformat()}
    return message(f"closed-{day}", "detector_day_closed", data)


def message(id_: str, kind: str, data: dict[str, Any]) -> ArrearsSignal | DayClosed:
    envelope = {
        "id": id_,
        "source": "nazorg/arrears-detector",
        "type": kind,
        "time": datetime(2026, 10, 8, 20, tzinfo=UTC).isoformat(),
        "dataschema": "urn:nazorg:schema:arrears.signals:v1",
        "data": data,
    }
    return decode_signals_message(json.dumps(envelope))


def test_onsets_are_every_entry_into_arrears_per_loan_and_day() -> None:
    records = [record("A", (D1, D3)), record("B", (D2,)), record("C")]
    assert true_onsets(records) == {("L-A", D1), ("L-A", D3), ("L-B", D2)}


def test_only_arrears_onset_signals_count_once_each() -> None:
    messages = [
        signal("arrears_onset", "L-A", D1),
        signal("arrears_onset", "L-A", D1, n=1),  # delivered twice: one onset
        signal("instalment_missed", "L-A", D1),
        signal("relapse", "L-A", D3),  # raised next to an arrears_onset, never instead
        signal("arrears_onset", "L-A", D3),
        marker(D1),
    ]
    assert detected_onsets(messages) == {("L-A", D1), ("L-A", D3)}


def test_recall_and_precision() -> None:
    truth = {("L-A", D1), ("L-A", D3), ("L-B", D2)}
    perfect = onset_quality(truth, set(truth))
    assert (perfect.recall, perfect.precision, perfect.missed, perfect.false_alarms) == (
        1.0,
        1.0,
        0,
        0,
    )
    off = onset_quality(truth, {("L-A", D1), ("L-B", D3)})  # one right, one a day wrong
    assert off == OnsetQuality(true_onsets=3, detected=2, matched=1)
    assert (off.recall, off.precision, off.missed, off.false_alarms) == (1 / 3, 0.5, 2, 1)
    empty = onset_quality(set(), set())
    assert (empty.recall, empty.precision) == (1.0, 1.0)


def test_truth_counts_per_assigned_arm() -> None:
    records = [record("A", (D1,)), record("B"), record("C", (D2,)), record("D", (D3,))]
    arms = {"A": "treatment", "B": "treatment", "C": "control"}  # D never enrolled
    assert truth_counts(records, arms) == {
        "treatment": ArmCount(2, 1),
        "control": ArmCount(1, 1),
    }
    assert ArmCount(0, 0).rate is None
    assert ArmCount(4, 1).rate == 0.25


def outcome(subject: str, arm: str, truth: TruthRecord, **changes: Any) -> ClientOutcome:
    base = ClientOutcome(
        subject=subject,
        arm=arm,  # type: ignore[arg-type]
        segment=truth.segment,
        intended_allocation=0.375,
        experiment_key="exp",
        enrolled_at=datetime(2026, 10, 1, 5, tzinfo=UTC),
        closed=True,
        ever_in_arrears=truth.ever_in_arrears,
        days_to_first_arrears=truth.days_to_first_arrears,
        followup_days=truth.followup_days,
        censored=truth.censored,
        relapse=truth.relapse,
        max_dpd=truth.max_dpd,
    )
    return replace(base, **changes)


def subject_of(client: str) -> str:
    return f"s-{client}"


def test_outcomes_that_match_the_truth_have_no_disagreements() -> None:
    records = [record("A", (D1,)), record("B"), record("C", (D2,))]
    arms = {"A": "treatment", "B": "treatment", "C": "control"}
    outcomes = [outcome(subject_of(r.client_id), arms[r.client_id], r) for r in records]
    assert disagreements(records, outcomes, subject_of) == 0

    report = build_report(outcomes)
    compared = compare_arms(records, arms, report, outcomes, subject_of)
    assert (
        compared.truth
        == compared.report
        == {
            "treatment": ArmCount(2, 1),
            "control": ArmCount(1, 1),
        }
    )
    assert compared.equal


def test_each_differing_missing_or_extra_client_is_one_disagreement() -> None:
    a, b, c = record("A", (D1,)), record("B"), record("C", (D2,))
    outcomes = [
        outcome("s-A", "treatment", a, days_to_first_arrears=99),
        outcome("s-B", "treatment", b, closed=False, ever_in_arrears=None),
        # C missing; X not in the cohort
        outcome("s-X", "control", c),
    ]
    assert disagreements([a, b, c], outcomes, subject_of) == 4

    report = build_report(outcomes[:1])
    arms = {"A": "treatment"}
    compared = compare_arms([a], arms, report, outcomes[:1], subject_of)
    assert compared.truth == compared.report
    assert not compared.equal, "equal counts do not hide a client-level difference"
