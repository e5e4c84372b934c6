"""Hypothesis strategies for plausible loan histories (one partition, a few loans)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from services.arrears_detector.calendar import add_months, business_days, grace_deadline
from services.arrears_detector.events import (
    DirectDebitCollected,
    DirectDebitRefunded,
    DirectDebitRejected,
    DirectDebitReturned,
    DomainEvent,
    InstalmentDue,
    LoanRestructured,
    PaymentPauseAgreed,
    PaymentPauseEnded,
    PaymentReceived,
)
from tests.unit.detector.histories import CATEGORY, tick

Row = tuple[date, int, DomainEvent]
FATES = (
    "on_time",
    "on_time",
    "on_time",
    "late",
    "partial",
    "reject_retry",
    "return",
    "refund",
    "skip",
    "overpay",
    "mandate",
    "collect_extra",
)


def _settle(day: date) -> date:
    return grace_deadline(day, 0)


def _cents(draw: st.DrawFn, low: int, high: int) -> Decimal:
    return Decimal(draw(st.integers(low, high))) / 100


@st.composite
def loan_rows(draw: st.DrawFn, loan_id: str) -> list[Row]:
    """One loan's events with the date they sort on (order 0 = before payments that day)."""
    base: dict[str, Any] = {"loan_id": loan_id, "client_id": f"C-{loan_id}"}
    counter = iter(range(10_000))

    def ids() -> dict[str, Any]:
        return {"event_id": f"{loan_id}-e{next(counter)}", **base}

    start = draw(st.dates(date(2025, 1, 1), date(2027, 6, 1))).replace(day=1)
    dom = draw(st.integers(1, 28))
    months = draw(st.integers(1, 9))
    amount = _cents(draw, 5_000, 200_000)
    balance = _cents(draw, 1_000_000, 30_000_000)
    rows: list[Row] = []

    def pay(day: date, value: Decimal) -> None:
        rows.append(
            (
                day,
                1,
                PaymentReceived(
                    **ids(),
                    bank_reference=f"{loan_id}-p{day}",
                    booking_date=day,
                    amount=value,
                    currency="EUR",
                ),
            )
        )

    def collect(e2e: str, day: date, value: Decimal) -> None:
        rows.append(
            (
                day,
                1,
                DirectDebitCollected(
                    **ids(),
                    end_to_end_id=e2e,
                    mandate_id="M",
                    bank_reference=f"b-{e2e}",
                    booking_date=day,
                    amount=value,
                    currency="EUR",
                ),
            )
        )

    def failure(kind: type, e2e: str, day: date, value: Decimal, code: str) -> None:
        extra = {} if kind is DirectDebitRejected else {"bank_reference": f"r-{e2e}-{day}"}
        rows.append(
            (
                day,
                1,
                kind(
                    **ids(),
                    end_to_end_id=e2e,
                    mandate_id="M",
                    booking_date=day,
                    amount=value,
                    currency="EUR",
                    reason_code=code,
                    reason_category=CATEGORY.get(code, "unknown"),
                    **extra,
                ),
            )
        )

    for m in range(months):
        due = add_months(start.replace(day=dom), m)
        balance = max(balance - amount, Decimal("0.00"))
        inst = f"{loan_id}-I{m}"
        rows.append(
            (
                due - timedelta(days=draw(st.integers(0, 20))),
                0,
                InstalmentDue(
                    **ids(),
                    instalment_id=inst,
                    due_date=due,
                    amount=amount,
                    currency="EUR",
                    outstanding_balance=balance,
                ),
            )
        )
        day = _settle(due)
        later = _settle(due + timedelta(days=draw(st.integers(1, 45))))
        e2e = f"{inst}-dd"
        fate = draw(st.sampled_from(FATES))
        if fate == "on_time":
            collect(e2e, day, amount)
        elif fate == "late":
            pay(later, amount)
        elif fate == "partial":
            part = _cents(draw, 1, int(amount * 100) - 1)
            pay(day, part)
            if draw(st.booleans()):
                pay(later, amount - part)
        elif fate == "reject_retry":
            failure(
                DirectDebitRejected,
                e2e,
                day,
                amount,
                draw(st.sampled_from(["AM04", "MS03", "AC04", "XY99"])),
            )
            collect(e2e + "-retry", later, amount)
        elif fate in ("return", "refund"):
            collect(e2e, day, amount)
            if fate == "return":
                back = _settle(day + timedelta(days=draw(st.integers(1, 7))))
                failure(DirectDebitReturned, e2e, back, amount, "AM04")
            else:
                back = _settle(day + timedelta(days=draw(st.integers(5, 120))))
                failure(
                    DirectDebitRefunded, e2e, back, amount, draw(st.sampled_from(["MD06", "MD01"]))
                )
            if draw(st.booleans()):
                pay(_settle(back + timedelta(days=draw(st.integers(0, 30)))), amount)
        elif fate == "overpay":
            pay(day, amount + _cents(draw, 1, 150_000))
        elif fate == "collect_extra":  # collects ahead: credit that a refund must undo
            collect(e2e, day, amount + _cents(draw, 1, 300_000))
            if draw(st.booleans()):
                back = _settle(day + timedelta(days=draw(st.integers(20, 80))))
                failure(
                    DirectDebitRefunded,
                    e2e,
                    back,
                    draw(st.sampled_from([amount, amount * 2, _cents(draw, 1, 400_000)])),
                    "MD06",
                )
        elif fate == "mandate":
            failure(DirectDebitRejected, e2e, day, amount, "AC04")
            pay(later, amount)
    end = add_months(start.replace(day=dom), months)
    if draw(st.integers(0, 4)) == 0:  # a payment pause over some of the months
        p_start = add_months(start, draw(st.integers(0, months)))
        p_end = add_months(p_start, draw(st.integers(1, 3)))
        agreed = min(p_start, _settle(p_start - timedelta(days=draw(st.integers(0, 40)))))
        rows.append(
            (
                agreed,
                0,
                PaymentPauseAgreed(**ids(), pause_id="P1", start_date=p_start, end_date=p_end),
            )
        )
        if draw(st.booleans()):
            stop = p_start + timedelta(days=draw(st.integers(0, 60)))
            rows.append((stop, 0, PaymentPauseEnded(**ids(), pause_id="P1", end_date=stop)))
    if draw(st.integers(0, 4)) == 0:
        on = add_months(start, draw(st.integers(0, months)))
        rows.append(
            (
                on,
                0,
                LoanRestructured(
                    **ids(),
                    restructure_id="R1",
                    effective_date=on,
                    outstanding_balance=_cents(draw, 100_000, 30_000_000),
                    distressed=draw(st.booleans()),
                ),
            )
        )
    if draw(st.booleans()):  # a late catch-up transfer, often clearing everything
        everything = amount * (months + 2)
        pay(
            _settle(end + timedelta(days=draw(st.integers(0, 120)))),
            draw(st.sampled_from([everything, _cents(draw, 1, int(everything * 100))])),
        )
    return rows


@st.composite
def partition_log(draw: st.DrawFn) -> list[DomainEvent]:
    """1-3 loans interleaved in booking order, with a tick every TARGET2 business day."""
    loans = draw(st.integers(1, 3))
    rows = [row for n in range(loans) for row in draw(loan_rows(f"L{n}"))]
    first = min(r[0] for r in rows)
    last = max(r[0] for r in rows) + timedelta(days=draw(st.integers(0, 200)))
    rows += [(d, 2, tick(d)) for d in business_days(first, last)]
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]
