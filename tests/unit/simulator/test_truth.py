"""Ground-truth bookkeeping on hand-made loan histories (domain.md §3, literally)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest

from services.simulator import events as ev
from services.simulator.business_days import business_days
from services.simulator.cohort import Client
from services.simulator.truth import (
    BookkeepingError,
    GroundTruth,
    TruthRecord,
    summary,
    write_truth_csv,
    write_truth_json,
)

LOAN, CLIENT = "t-L1", "t-C1"
AMOUNT = Decimal("1000.00")


def make_client(enrolled: date = date(2026, 12, 1), end: date = date(2027, 12, 1)) -> Client:
    return Client(
        index=0,
        client_id=CLIENT,
        loan_id=LOAN,
        segment="prevention",
        enrolment_date=enrolled,
        followup_end=end,
        censored=False,
        due_day=1,
        balance=Decimal("250000.00"),
        annual_rate=Decimal("0.04"),
        term_months=240,
        interest_only=False,
    )


def due(day: date, instalment: str = "I1", amount: Decimal = AMOUNT) -> ev.Event:
    return ev.instalment_due(f"d-{instalment}", LOAN, CLIENT, instalment, day, amount, None, AMOUNT)


def collected(day: date, e2e: str, amount: Decimal = AMOUNT) -> ev.Event:
    return ev.direct_debit_collected(
        f"c-{e2e}", LOAN, CLIENT, "I1", e2e, "M1", f"B{e2e}", day, amount
    )


def reversed_(kind: str, day: date, e2e: str, code: str, amount: Decimal = AMOUNT) -> ev.Event:
    return ev.direct_debit_reversed(
        kind, f"r-{e2e}-{day}", LOAN, CLIENT, e2e, "M1", f"BR{day:%m%d}", day, amount, code
    )


def paid(day: date, amount: Decimal = AMOUNT) -> ev.Event:
    return ev.payment_received(f"p-{day}-{amount}", LOAN, CLIENT, f"T{day:%m%d}", day, amount)


def replay(loan_events: list[ev.Event], last: date, client: Client | None = None) -> TruthRecord:
    """Merge the loan's events with a tick for every business day, in stream order."""
    first = min(date.fromisoformat(e["time"][:10]) for e in loan_events)
    ticks = [ev.business_day_closed(f"t-{d}", d) for d in business_days(first, last)]
    stream = sorted(loan_events + ticks, key=lambda e: e["time"])  # stable; ticks at 20:00
    truth = GroundTruth([client or make_client()])
    truth.observe_all(stream)
    (record,) = truth.records()
    return record


XMAS_DUE = date(2026, 12, 24)
XMAS_DEADLINE = date(2027, 1, 4)


def test_unpaid_instalment_enters_arrears_at_the_close_of_its_grace_deadline() -> None:
    record = replay([due(XMAS_DUE)], date(2027, 1, 8))
    assert record.arrears_onsets == (XMAS_DEADLINE,)  # not 31 Dec: 25 Dec, 1 Jan are closed
    assert record.ever_in_arrears
    assert record.first_arrears_date == XMAS_DEADLINE
    assert record.days_to_first_arrears == (XMAS_DEADLINE - date(2026, 12, 1)).days
    assert record.max_dpd == (date(2027, 1, 8) - XMAS_DUE).days


def test_paid_on_the_deadline_before_the_close_is_not_arrears() -> None:
    record = replay([due(XMAS_DUE), paid(XMAS_DEADLINE)], date(2027, 1, 8))
    assert not record.ever_in_arrears
    assert record.arrears_onsets == ()
    assert record.max_dpd == 7  # at the close of Thu 31 Dec; paid before the close of 4 Jan


def test_paid_the_day_after_the_deadline_is_arrears_then_cure() -> None:
    record = replay([due(XMAS_DUE), paid(date(2027, 1, 5))], date(2027, 1, 8))
    assert record.arrears_onsets == (XMAS_DEADLINE,)
    assert record.arrears_cures == (date(2027, 1, 5),)


def test_return_within_grace_and_successful_retry_is_no_arrears() -> None:
    d = date(2027, 2, 1)
    history = [
        due(d),
        collected(d, "E1"),
        reversed_("direct_debit_returned", date(2027, 2, 3), "E1", "AM04"),
        collected(date(2027, 2, 4), "E2"),
    ]
    record = replay(history, date(2027, 3, 1))
    assert not record.ever_in_arrears


def test_a_rejected_collection_moves_no_money() -> None:
    d = date(2027, 2, 1)
    reject = ev.direct_debit_rejected("x", LOAN, CLIENT, "E1", "M1", d, AMOUNT, "MS03")
    record = replay([due(d), reject], date(2027, 2, 12))
    assert record.arrears_onsets == (date(2027, 2, 8),)


def test_refund_after_the_deadline_reopens_from_the_original_due_date() -> None:
    d, refund_day = date(2027, 2, 1), date(2027, 3, 15)
    history = [
        due(d),
        collected(d, "E1"),
        reversed_("direct_debit_refunded", refund_day, "E1", "MD06"),
    ]
    record = replay(history, refund_day)
    assert record.arrears_onsets == (refund_day,)  # at the close of the refund's booking day
    assert record.max_dpd == (refund_day - d).days  # DPD from the original due date


def test_payments_go_to_the_oldest_instalment_first() -> None:
    jan, feb = date(2027, 1, 4), date(2027, 2, 1)
    history = [
        due(jan, "I-jan"),
        due(feb, "I-feb"),
        collected(feb, "E-feb"),  # meant for February, pays January (the oldest)
    ]
    record = replay(history, date(2027, 2, 12))
    assert record.arrears_onsets == (date(2027, 1, 11),)
    assert record.arrears_cures == ()  # February is now unpaid and past its deadline (8 Feb)
    assert record.max_dpd == (date(2027, 1, 29) - jan).days  # the last close before February


def test_partial_payment_leaves_the_loan_in_arrears_until_the_rest_is_paid() -> None:
    d = date(2027, 2, 1)
    history = [
        due(d),
        paid(date(2027, 2, 3), Decimal("400.00")),
        paid(date(2027, 2, 17), Decimal("600.00")),
    ]
    record = replay(history, date(2027, 2, 26))
    assert record.arrears_onsets == (date(2027, 2, 8),)
    assert record.arrears_cures == (date(2027, 2, 17),)


def test_a_paused_instalment_is_never_past_due() -> None:
    d = date(2027, 3, 1)
    pause = ev.payment_pause_agreed(
        "pa", LOAN, CLIENT, "P1", date(2027, 2, 15), d, date(2027, 3, 31)
    )
    record = replay([pause, due(d)], date(2027, 4, 30))
    assert not record.ever_in_arrears
    assert record.max_dpd == 0


def test_a_pause_ended_early_makes_the_instalment_count_again() -> None:
    d = date(2027, 3, 15)
    history = [
        ev.payment_pause_agreed(
            "pa", LOAN, CLIENT, "P1", date(2027, 3, 1), date(2027, 3, 1), date(2027, 4, 30)
        ),
        due(d),
        ev.payment_pause_ended("pe", LOAN, CLIENT, "P1", date(2027, 3, 31), date(2027, 3, 10)),
    ]
    record = replay(history, date(2027, 4, 9))
    assert record.arrears_onsets == (date(2027, 3, 31),)  # its deadline (22 Mar) had passed


def test_relapse_is_an_onset_within_12_months_of_the_last_cure() -> None:
    jan, jun = date(2027, 1, 4), date(2027, 6, 1)
    history = [due(jan, "I-jan"), paid(date(2027, 1, 20)), due(jun, "I-jun")]
    record = replay(history, date(2027, 6, 15))
    assert record.arrears_onsets == (date(2027, 1, 11), date(2027, 6, 8))
    assert record.relapse


def test_arrears_outside_the_follow_up_window_do_not_count() -> None:
    late_starter = make_client(enrolled=date(2027, 2, 1), end=date(2028, 2, 1))
    history = [due(XMAS_DUE), paid(date(2027, 1, 20))]
    record = replay(history, date(2027, 1, 29), late_starter)
    assert record.arrears_onsets == (XMAS_DEADLINE,)  # the detector would still see it
    assert not record.ever_in_arrears
    assert record.max_dpd == 0


def test_overpayment_and_unknown_reversals_are_refused() -> None:
    d = date(2027, 2, 1)
    with pytest.raises(BookkeepingError, match="overpayment"):
        replay([due(d), paid(d, Decimal("1000.01"))], d)
    with pytest.raises(BookkeepingError, match="unknown"):
        replay([due(d), reversed_("direct_debit_returned", d, "nope", "AM04")], d)


def test_business_days_must_close_in_order() -> None:
    truth = GroundTruth([make_client()])
    truth.observe(ev.business_day_closed("a", date(2027, 2, 2)))
    with pytest.raises(BookkeepingError, match="in order"):
        truth.observe(ev.business_day_closed("b", date(2027, 2, 1)))


def test_writers_emit_one_row_per_client() -> None:
    record = replay([due(XMAS_DUE)], date(2027, 1, 8))
    as_json = io.StringIO()
    write_truth_json([record], as_json)
    document = json.loads(as_json.getvalue())
    assert document["summary"] == summary([record])
    assert document["clients"][0]["first_arrears_date"] == "2027-01-04"
    as_csv = io.StringIO()
    write_truth_csv([record], as_csv)
    (row,) = csv.DictReader(io.StringIO(as_csv.getvalue()))
    assert row["ever_in_arrears"] == "True"
    assert row["arrears_onsets"] == "2027-01-04"
    assert row["arrears_cures"] == ""
