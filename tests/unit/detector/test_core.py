"""Edge cases of the ledger that the golden scenarios do not spell out."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.arrears_detector import idempotency
from services.arrears_detector.conservation import balance
from services.arrears_detector.events import (
    BusinessDayClosed,
    DirectDebitCollected,
    DirectDebitRefunded,
    DomainEvent,
    InstalmentDue,
    PaymentReceived,
)
from services.arrears_detector.ledger import LedgerError, LoanLedger, apply, next_deadline
from services.arrears_detector.policy import DEFAULT_POLICY
from services.arrears_detector.signals import Signal, signal_id
from services.arrears_detector.snapshot import from_snapshot, to_snapshot
from tests.unit.detector.histories import tick, to_events

LOAN: dict[str, Any] = {"loan_id": "L1", "client_id": "C1"}


def due(n: int, day: date, amount: str = "1000.00", event_id: str | None = None) -> InstalmentDue:
    return InstalmentDue(
        event_id=event_id or f"due-{n}",
        **LOAN,
        instalment_id=f"I{n}",
        due_date=day,
        amount=Decimal(amount),
        currency="EUR",
        outstanding_balance=Decimal("250000.00"),
    )


def collected(
    e2e: str, day: date, amount: str = "1000.00", event_id: str | None = None
) -> DirectDebitCollected:
    return DirectDebitCollected(
        event_id=event_id or f"col-{e2e}",
        **LOAN,
        end_to_end_id=e2e,
        mandate_id="M1",
        bank_reference=f"B-{e2e}",
        booking_date=day,
        amount=Decimal(amount),
        currency="EUR",
    )


def refunded(e2e: str, day: date, amount: str = "1000.00") -> DirectDebitRefunded:
    return DirectDebitRefunded(
        event_id=f"ref-{e2e}-{day}",
        **LOAN,
        end_to_end_id=e2e,
        mandate_id="M1",
        bank_reference=f"R-{e2e}",
        booking_date=day,
        amount=Decimal(amount),
        currency="EUR",
        reason_code="MD06",
        reason_category="retryable",
    )


def run(events: list[DomainEvent]) -> tuple[LoanLedger, list[Signal]]:
    state: LoanLedger | None = None
    out: list[Signal] = []
    for event in events:
        state, signals = apply(state, event)
        out += signals
    assert state is not None
    return state, out


def test_apply_never_mutates_its_input() -> None:
    state, _ = run([due(1, date(2026, 2, 2)), collected("E1", date(2026, 2, 2))])
    before = json.dumps(to_snapshot(state))
    new, _ = apply(state, refunded("E1", date(2026, 3, 2)))
    assert new is not state
    assert json.dumps(to_snapshot(state)) == before


def test_events_refuse_floats_datetimes_and_sub_cent_amounts() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        InstalmentDue(
            event_id="x",
            **LOAN,
            instalment_id="I",
            due_date=date(2026, 2, 2),
            amount=1000.0,  # type: ignore[arg-type]
            currency="EUR",
            outstanding_balance=Decimal(1),
        )
    with pytest.raises(ValueError, match="2 decimal"):
        due(1, date(2026, 2, 2), amount="10.005")
    with pytest.raises(TypeError, match=r"datetime\.date"):
        due(1, datetime(2026, 2, 2, 12, 0))
    with pytest.raises(ValueError, match="> 0"):
        due(1, date(2026, 2, 2), amount="0.00")


def test_refusals_leave_a_clear_error() -> None:
    state, _ = run([due(1, date(2026, 2, 2))])
    with pytest.raises(LedgerError, match="existing ledger"):
        apply(None, tick(date(2026, 2, 2)))
    with pytest.raises(LedgerError, match="not a TARGET2 business day"):
        apply(state, BusinessDayClosed(event_id="t", business_date=date(2026, 12, 25)))
    other = PaymentReceived(
        event_id="p",
        loan_id="L2",
        client_id="C1",
        bank_reference="b",
        booking_date=date(2026, 2, 2),
        amount=Decimal(1),
        currency="EUR",
    )
    with pytest.raises(LedgerError, match="for loan L2"):
        apply(state, other)


def test_same_transaction_under_another_event_id_moves_money_once() -> None:
    state, _ = run(
        [
            due(1, date(2026, 2, 2)),
            due(2, date(2026, 3, 2)),
            collected("E1", date(2026, 2, 2)),
            collected("E1", date(2026, 2, 2), event_id="col-E1-again"),
            due(1, date(2026, 2, 2), event_id="due-1-again"),
        ]
    )
    assert [i.instalment_id for i in state.instalments] == ["I2"]
    assert state.net_received == Decimal("1000.00")
    assert state.total_due == Decimal("2000.00")


def test_window_forgets_the_oldest_ids_only() -> None:
    window = b""
    ids = [f"event-{n}" for n in range(idempotency.WINDOW + 1)]
    for event_id in ids:
        admitted = idempotency.admit(window, event_id)
        assert admitted is not None
        window = admitted
    assert len(window) == idempotency.WINDOW * 8
    assert idempotency.admit(window, ids[0]) is not None  # forgotten: would apply again
    assert all(idempotency.admit(window, i) is None for i in ids[1:])


def test_window_digests_are_the_snapshot_format() -> None:
    # Stored windows outlive a deployment: a new digest function needs a new snapshot
    # version (see snapshot.py), and this pins the one version 2 stores.
    window = idempotency.admit(b"", "L1-1")
    assert window == bytes.fromhex("f696b9a929b85618")
    state, _ = run([due(1, date(2026, 2, 2))])
    assert to_snapshot(state)["v"] == 2


def test_a_version_1_snapshot_is_read_with_an_empty_window() -> None:
    first = collected("E1", date(2026, 2, 2))
    state, _ = run([due(1, date(2026, 2, 2)), first])
    old = to_snapshot(state) | {"v": 1, "recent_ids": "5ebfe777a51ddc50" * 2}  # BLAKE2b
    restored = from_snapshot(old)
    assert restored.recent_ids == b""
    restored.recent_ids = state.recent_ids
    assert restored == state
    # The natural key still refuses the same collection under a new event id.
    again, signals = apply(from_snapshot(old), collected("E1", date(2026, 2, 2), "1000.00", "x"))
    assert (again.net_received, signals) == (state.net_received, [])


def test_refund_of_an_unknown_collection_opens_a_synthetic_instalment() -> None:
    state, signals = run(
        [
            due(1, date(2026, 2, 2)),
            collected("E1", date(2026, 2, 2)),
            refunded("E-unknown", date(2026, 3, 2), "250.00"),
        ]
    )
    synthetic = [i for i in state.instalments if i.instalment_id.startswith("reopen:")]
    assert [(i.due_date, i.amount) for i in synthetic] == [(date(2026, 3, 2), Decimal("250.00"))]
    assert signals[-1].type == "direct_debit_refunded"
    assert signals[-1].instalment_id == synthetic[0].instalment_id
    assert signals[-1].dpd == 0
    assert balance(state, date(2026, 3, 2)).conserved


def test_refund_after_the_memory_horizon_counts_from_the_refund_date() -> None:
    state, signals = run(
        [
            due(1, date(2026, 1, 2)),
            collected("E1", date(2026, 1, 2)),
            refunded("E1", date(2026, 4, 15)),
        ]
    )  # 103 days later
    assert signals[0].dpd == 0
    assert state.instalments[0].due_date == date(2026, 4, 15)
    state, signals = run(
        [
            due(1, date(2026, 1, 2)),
            collected("E1", date(2026, 1, 2)),
            refunded("E1", date(2026, 3, 13)),
        ]
    )  # 70 days: remembered
    assert signals[0].dpd == 70
    assert state.instalments[0].instalment_id == "I1"


def test_overpayment_credit_pays_the_next_instalment_and_a_refund_undoes_it_exactly() -> None:
    state, _ = run(
        [
            due(1, date(2026, 2, 2)),
            collected("E1", date(2026, 2, 2), "1500.00"),
            due(2, date(2026, 3, 2)),
        ]
    )
    assert [(i.instalment_id, i.paid) for i in state.instalments] == [("I2", Decimal("500.00"))]
    state, signals = apply(state, refunded("E1", date(2026, 3, 5), "1500.00"))
    assert [(i.instalment_id, i.due_date, i.paid) for i in state.instalments] == [
        ("I1", date(2026, 2, 2), Decimal("0.00")),
        ("I2", date(2026, 3, 2), Decimal("0.00")),
    ]
    assert signals[0].past_due_amount == Decimal("2000.00")
    assert signals[0].dpd == 31
    assert balance(state, date(2026, 3, 5)).conserved


def test_partial_return_reopens_the_newest_instalment_first() -> None:
    state, _ = run(
        [
            due(1, date(2026, 2, 2)),
            due(2, date(2026, 3, 2)),
            collected("E1", date(2026, 3, 2), "2000.00"),
        ]
    )
    state, _ = apply(state, refunded("E1", date(2026, 3, 4), "600.00"))
    assert [(i.instalment_id, i.paid) for i in state.instalments] == [("I2", Decimal("400.00"))]


def test_next_deadline_names_the_first_close_that_can_matter() -> None:
    policy = DEFAULT_POLICY
    state, _ = run([due(1, date(2026, 2, 2))])
    assert next_deadline(state, policy) == date(2026, 2, 9)  # grace deadline
    paid, _ = apply(state, collected("E1", date(2026, 2, 2)))
    assert next_deadline(paid, policy) is None
    missed, _ = run([due(1, date(2026, 2, 2)), tick(date(2026, 2, 9))])
    assert missed.in_arrears
    assert next_deadline(missed, policy) == date(2026, 2, 10)  # every close in arrears
    big = InstalmentDue(
        event_id="big",
        **LOAN,
        instalment_id="I9",
        due_date=date(2026, 2, 6),
        amount=Decimal("3000.00"),
        currency="EUR",
        outstanding_balance=Decimal("250000.00"),
    )
    material, _ = apply(state, big)  # 4000 unpaid from 6 Feb > 1% of 250,000
    assert next_deadline(material, policy) == date(2026, 2, 6)


def test_early_ticks_and_old_ticks_return_the_same_ledger() -> None:
    state, _ = run([due(1, date(2026, 2, 2)), tick(date(2026, 2, 9))])
    assert apply(state, tick(date(2026, 2, 6)))[0] is state  # before last close
    assert apply(state, tick(date(2026, 2, 9)))[0] is state  # same close again
    fresh, _ = run([due(1, date(2026, 2, 2))])
    assert apply(fresh, tick(date(2026, 2, 5)))[0] is fresh  # before the grace deadline


def test_signal_ids_derive_from_loan_type_and_cause() -> None:
    _, signals = run(
        list(
            to_events(
                "L1",
                [
                    {"due": {"id": "I1", "date": "2026-02-02", "amount": "1000.00"}},
                    {"close": ["2026-02-02", "2026-02-09"]},
                ],
            )
        )
    )
    missed, onset = signals
    assert missed.signal_id == signal_id("L1", "instalment_missed", "I1", "2026-02-09")
    assert onset.signal_id == signal_id("L1", "arrears_onset", "2026-02-09")
    assert missed.cause_event_ids == ("L1-1", "tick-2026-02-09")
    assert len(missed.signal_id) == 32


def test_snapshot_refuses_an_unknown_version() -> None:
    state, _ = run([due(1, date(2026, 2, 2))])
    data = to_snapshot(state) | {"v": 99}
    with pytest.raises(ValueError, match="version"):
        from_snapshot(data)


def test_clone_copies_every_field() -> None:
    state, _ = run(
        [due(1, date(2026, 2, 2)), collected("E1", date(2026, 2, 3)), tick(date(2026, 2, 3))]
    )
    copy = state.clone()
    assert copy == state
    assert copy is not state
