"""Event-time order: loans in booking order, reversals after what they undo, ticks last."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from services.simulator.business_days import business_days, is_business_day
from tests.unit.simulator.conftest import Run


def _day(event: dict[str, object]) -> date:
    return date.fromisoformat(str(event["time"])[:10])


def test_the_stream_is_in_event_time_order(small_run: Run) -> None:
    times = [e["time"] for e in small_run.events]
    assert times == sorted(times)


def test_each_loan_books_in_order_and_undoes_only_earlier_collections(small_run: Run) -> None:
    last_day: dict[str, date] = {}
    collected: dict[str, tuple[str, date]] = {}
    undone: set[str] = set()
    for event in small_run.events:
        data = event["data"]
        if event["type"] == "business_day_closed":
            continue
        loan, day = data["loan_id"], _day(event)
        assert day >= last_day.get(loan, day)
        last_day[loan] = day
        booking = data.get("booking_date") or data.get("effective_date")
        if booking is not None:
            assert booking == day.isoformat()
        if event["type"] == "direct_debit_collected":
            collected[data["end_to_end_id"]] = (loan, day)
        elif event["type"] in ("direct_debit_returned", "direct_debit_refunded"):
            e2e = data["end_to_end_id"]
            assert e2e in collected
            assert e2e not in undone
            assert collected[e2e][0] == loan
            assert collected[e2e][1] < day
            undone.add(e2e)


def test_ticks_on_every_target2_business_day_and_no_other(small_run: Run) -> None:
    config = small_run.config
    ticks = [
        e["data"]["business_date"] for e in small_run.events if e["type"] == "business_day_closed"
    ]
    expected = [d.isoformat() for d in business_days(config.start, config.horizon_end)]
    assert ticks == expected
    assert date(2026, 12, 25).isoformat() not in ticks
    assert date(2027, 1, 1).isoformat() not in ticks


def test_a_tick_comes_after_every_loan_event_of_its_day(small_run: Run) -> None:
    closed: set[date] = set()
    for event in small_run.events:
        day = _day(event)
        if event["type"] == "business_day_closed":
            closed.add(day)
        else:
            assert day not in closed
            assert is_business_day(day)  # banks book on business days only


def test_batches_are_calendar_months_in_order(small_run: Run) -> None:
    months = [b.month for b in small_run.batches]
    assert months == sorted(months)
    assert len(set(months)) == len(months)
    for batch in small_run.batches:
        for event in batch.events:
            assert batch.first_day <= _day(event) <= batch.last_day
            assert (_day(event).year, _day(event).month) == (batch.month.year, batch.month.month)
    assert small_run.batches[0].first_day == small_run.config.start
    assert small_run.batches[-1].last_day == small_run.config.horizon_end


def test_every_loan_starts_at_enrolment_with_one_instalment_a_month(small_run: Run) -> None:
    enrolled = {c.loan_id: c.enrolment_date for c in small_run.cohort}
    regular: dict[str, list[str]] = defaultdict(list)
    for event in small_run.events:
        if event["type"] == "instalment_due":
            data = event["data"]
            assert data["due_date"] >= enrolled[data["loan_id"]].isoformat()
            if not data["instalment_id"].endswith("-R"):
                regular[data["loan_id"]].append(data["due_date"][:7])
    for months in regular.values():
        assert len(months) == len(set(months))
