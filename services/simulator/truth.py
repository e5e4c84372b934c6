"""Ground truth: which client was in operational arrears, and when.

Computed from the emitted canonical events alone (the same input the detector gets) by a
deliberately plain ledger that follows domain.md §3 literally. It shares no code with
``services/arrears_detector``, so that comparing the two checks the detector.

- An instalment is *counted* when its unpaid amount exceeds the tolerance (default
  €0.00) and it is not suspended (its due date lies in an agreed pause window).
- At the close of every business day X (the ``business_day_closed`` tick), a loan that is
  not in arrears **enters arrears** when a counted instalment has a grace deadline (5th
  TARGET2 business day after its due date) ≤ X. Normally X is that deadline; a refund or
  return booked after the deadline reopens the instalment from its original due date, so
  the loan enters arrears at the close of the reversal's booking day.
- A loan in arrears is **cured** at the first close where no counted instalment with due
  date ≤ X is unpaid (the past-due amount is zero).
- Payments go to the oldest unpaid, unsuspended instalment first (by due date, then id);
  a return or refund takes back what that collection paid, newest allocation first; a
  reject moves no money.
- DPD at X = X - due date of the oldest counted unpaid instalment due ≤ X.
- A client *was in arrears during follow-up* when the loan was in arrears at a close X with
  enrolment date ≤ X ≤ follow-up end; the first such X is ``first_arrears_date``.
  ``relapse``: an onset within follow-up at most 12 calendar months after the last cure.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO

from services.simulator.business_days import add_months, grace_deadline
from services.simulator.cohort import Client

ZERO: Final = Decimal("0.00")
COLLECTION_MEMORY_DAYS: Final = 100
"""How long a collection can still be returned or refunded: SEPA returns come within 5
business days and MD06 refunds within 8 weeks. (A 13-month unauthorised refund would be
refused as a reversal of an unknown collection; the simulator never produces one.)"""


class BookkeepingError(ValueError):
    """The event stream is not one this ledger can account for (e.g. an overpayment or a
    reversal of an unknown collection). The simulator never produces one."""


@dataclass(slots=True)
class Instalment:
    instalment_id: str
    due: date
    deadline: date
    amount: Decimal
    paid: Decimal = ZERO

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid


@dataclass(frozen=True)
class TruthRecord:
    """One client's outcome; the fields mirror outcomes.v1 ``followup_closed``."""

    client_id: str
    loan_id: str
    segment: str
    enrolment_date: date
    followup_end: date
    followup_days: int
    censored: bool
    ever_in_arrears: bool
    first_arrears_date: date | None
    days_to_first_arrears: int | None
    max_dpd: int
    relapse: bool
    arrears_onsets: tuple[date, ...]
    """Every onset over the whole horizon (also outside follow-up), for detector checks."""
    arrears_cures: tuple[date, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if isinstance(value, date):
                out[name] = value.isoformat()
            elif isinstance(value, tuple):
                out[name] = [d.isoformat() for d in value]
            else:
                out[name] = value
        return out


@dataclass(eq=False, slots=True)
class LoanLedger:
    """One loan's instalments and the client's arrears history."""

    client: Client
    tolerance: Decimal = ZERO
    open_items: dict[str, Instalment] = field(default_factory=dict)
    """Instalments with an unpaid amount (suspended ones included)."""
    allocations: dict[str, tuple[date, list[tuple[Instalment, Decimal]]]] = field(
        default_factory=dict
    )
    """Per collection (end-to-end id): its booking date and what it paid, in allocation
    order. Kept for ``COLLECTION_MEMORY_DAYS`` after booking."""
    pauses: dict[str, tuple[date, date]] = field(default_factory=dict)
    in_arrears: bool = False
    onsets: list[date] = field(default_factory=list)
    cures: list[date] = field(default_factory=list)
    first_arrears: date | None = None
    max_dpd: int = 0
    relapse: bool = False
    _payable: list[Instalment] | None = None
    _counted: list[Instalment] | None = None
    """Caches of ``payable()`` and ``counted()``; every change to the ledger clears them."""

    # -- state ------------------------------------------------------------------------

    def suspended(self, item: Instalment) -> bool:
        return any(start <= item.due <= end for start, end in self.pauses.values())

    def payable(self) -> list[Instalment]:
        """Unpaid, unsuspended instalments, oldest first (by due date, then id)."""
        if self._payable is None:
            items = [i for i in self.open_items.values() if not self.suspended(i)]
            self._payable = sorted(items, key=lambda i: (i.due, i.instalment_id))
        return self._payable

    def counted(self) -> list[Instalment]:
        """Payable instalments whose unpaid amount exceeds the tolerance: what is late."""
        if self._counted is None:
            self._counted = [i for i in self.payable() if i.unpaid > self.tolerance]
        return self._counted

    def _changed(self) -> None:
        self._payable = self._counted = None

    # -- events -----------------------------------------------------------------------

    def instalment_due(self, instalment_id: str, due: date, amount: Decimal) -> None:
        if instalment_id in self.open_items:
            raise BookkeepingError(f"instalment {instalment_id} posted twice")
        self.open_items[instalment_id] = Instalment(instalment_id, due, grace_deadline(due), amount)
        self._changed()

    def pay(self, amount: Decimal, booked: date, collection: str | None = None) -> None:
        """Allocate to the oldest payable instalment first; remember what a collection paid."""
        paid: list[tuple[Instalment, Decimal]] = []
        remaining = amount
        for item in self.payable():
            if remaining == 0:
                break
            share = min(remaining, item.unpaid)
            item.paid += share
            remaining -= share
            paid.append((item, share))
            if item.unpaid == 0:
                del self.open_items[item.instalment_id]
        self._changed()
        if remaining > 0:
            raise BookkeepingError(f"{self.client.loan_id}: overpayment of {remaining}")
        if collection is not None:
            if collection in self.allocations:
                raise BookkeepingError(f"collection {collection} booked twice")
            self._forget_collections_before(booked - timedelta(days=COLLECTION_MEMORY_DAYS))
            self.allocations[collection] = (booked, paid)

    def _forget_collections_before(self, day: date) -> None:
        while self.allocations:
            oldest = next(iter(self.allocations))
            if self.allocations[oldest][0] >= day:
                return
            del self.allocations[oldest]

    def reverse(self, collection: str, amount: Decimal) -> None:
        """A return or refund: what the collection paid is unpaid again, from the original
        due date (newest allocation first, up to ``amount``)."""
        if collection not in self.allocations:
            raise BookkeepingError(f"{self.client.loan_id}: reversal of unknown {collection}")
        paid = self.allocations[collection][1]
        remaining = amount
        while remaining > 0:
            if not paid:
                raise BookkeepingError(f"{collection}: reversal exceeds the collection")
            item, share = paid.pop()
            back = min(share, remaining)
            item.paid -= back
            remaining -= back
            if back < share:
                paid.append((item, share - back))
            self.open_items[item.instalment_id] = item
        self._changed()

    def pause(self, pause_id: str, start: date, end: date) -> None:
        self.pauses[pause_id] = (start, end)
        self._changed()

    def pause_ended(self, pause_id: str, end: date) -> None:
        """An end before the agreed one shortens the window; it never extends it."""
        if pause_id in self.pauses:
            start, agreed_end = self.pauses[pause_id]
            self.pauses[pause_id] = (start, min(agreed_end, end))
            self._changed()

    # -- close of business --------------------------------------------------------------

    def close(self, day: date) -> bool:
        """Assess operational arrears at the close of business ``day``.

        Returns whether the next close still needs this ledger: a loan that is not in
        arrears and has nothing counted (unpaid and unsuspended) has DPD 0 and cannot enter
        arrears until an event changes it.
        """
        counted = self.counted()
        # Sorted by due date, and a later due date never has an earlier grace deadline, so
        # the oldest counted instalment decides both "past due" and "missed".
        oldest = counted[0] if counted else None
        past_due = oldest is not None and oldest.due <= day
        missed = oldest is not None and oldest.deadline <= day
        onset = False
        if not self.in_arrears and missed:
            self.in_arrears = onset = True
            self.onsets.append(day)
        elif self.in_arrears and not past_due:
            self.in_arrears = False
            self.cures.append(day)
        client = self.client
        if client.enrolment_date <= day <= client.followup_end:
            if self.in_arrears and self.first_arrears is None:
                self.first_arrears = day
            if past_due and oldest is not None:
                self.max_dpd = max(self.max_dpd, (day - oldest.due).days)
            if onset and self.cures and day <= add_months(self.cures[-1], 12):
                self.relapse = True
        return self.in_arrears or oldest is not None

    def record(self) -> TruthRecord:
        client = self.client
        first = self.first_arrears
        return TruthRecord(
            client_id=client.client_id,
            loan_id=client.loan_id,
            segment=client.segment,
            enrolment_date=client.enrolment_date,
            followup_end=client.followup_end,
            followup_days=client.followup_days,
            censored=client.censored,
            ever_in_arrears=first is not None,
            first_arrears_date=first,
            days_to_first_arrears=None if first is None else (first - client.enrolment_date).days,
            max_dpd=self.max_dpd,
            relapse=self.relapse,
            arrears_onsets=tuple(self.onsets),
            arrears_cures=tuple(self.cures),
        )


class GroundTruth:
    """Feed it every event of a run in stream order; ask for the records at the end."""

    def __init__(self, cohort: Iterable[Client], tolerance: Decimal = ZERO) -> None:
        self.ledgers = {c.loan_id: LoanLedger(c, tolerance) for c in cohort}
        self._watch: set[LoanLedger] = set()
        """Ledgers a close can change: touched since the last close, owing or in arrears."""
        self.last_close: date | None = None

    def observe(self, event: Mapping[str, Any]) -> None:
        kind = event["type"]
        data = event["data"]
        if kind == "business_day_closed":
            self._close(date.fromisoformat(data["business_date"]))
            return
        ledger = self.ledgers.get(data["loan_id"])
        if ledger is None:
            raise BookkeepingError("event for a loan outside the cohort")
        if kind == "direct_debit_collected":
            booked = date.fromisoformat(data["booking_date"])
            ledger.pay(Decimal(data["amount"]), booked, data["end_to_end_id"])
        elif kind == "instalment_due":
            due = date.fromisoformat(data["due_date"])
            ledger.instalment_due(data["instalment_id"], due, Decimal(data["amount"]))
        elif kind in ("direct_debit_returned", "direct_debit_refunded"):
            ledger.reverse(data["end_to_end_id"], Decimal(data["amount"]))
        elif kind == "payment_received":
            ledger.pay(Decimal(data["amount"]), date.fromisoformat(data["booking_date"]))
        elif kind == "payment_pause_agreed":
            start, end = data["start_date"], data["end_date"]
            ledger.pause(data["pause_id"], date.fromisoformat(start), date.fromisoformat(end))
        elif kind == "payment_pause_ended":
            ledger.pause_ended(data["pause_id"], date.fromisoformat(data["end_date"]))
        # direct_debit_rejected: no money moved. loan_restructured: changes the exposure
        # only; operational arrears do not depend on it.
        self._watch.add(ledger)

    def observe_all(self, events: Iterable[Mapping[str, Any]]) -> None:
        for event in events:
            self.observe(event)

    def _close(self, day: date) -> None:
        if self.last_close is not None and day <= self.last_close:
            raise BookkeepingError("business days must close in order, once")
        self.last_close = day
        still_open: set[LoanLedger] = set()
        for ledger in self._watch:  # ledgers are independent: order is irrelevant
            if ledger.close(day):
                still_open.add(ledger)
        self._watch = still_open

    def records(self) -> list[TruthRecord]:
        """One record per client, in cohort order."""
        return [ledger.record() for ledger in self.ledgers.values()]


# -- output ------------------------------------------------------------------------------


def summary(records: Sequence[TruthRecord]) -> dict[str, Any]:
    """Counts and rates overall and per segment (plain proportions, censored included)."""

    def rate(rows: Sequence[TruthRecord]) -> dict[str, Any]:
        n = len(rows)
        hits = sum(r.ever_in_arrears for r in rows)
        return {
            "clients": n,
            "ever_in_arrears": hits,
            "rate": round(hits / n, 4) if n else None,
            "censored": sum(r.censored for r in rows),
        }

    segments = sorted({r.segment for r in records})
    return {
        "all": rate(records),
        "segments": {s: rate([r for r in records if r.segment == s]) for s in segments},
    }


def write_truth_json(records: Sequence[TruthRecord], out: TextIO) -> None:
    """A JSON object: ``summary`` and ``clients`` (one record each, in cohort order)."""
    json.dump(
        {"summary": summary(records), "clients": [r.as_json() for r in records]},
        out,
        indent=1,
    )
    out.write("\n")


CSV_FIELDS: Final = tuple(TruthRecord.__dataclass_fields__)


def write_truth_csv(records: Sequence[TruthRecord], out: TextIO) -> None:
    """One row per client; date lists joined with ``;``."""
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = record.as_json()
        row["arrears_onsets"] = ";".join(row["arrears_onsets"])
        row["arrears_cures"] = ";".join(row["arrears_cures"])
        writer.writerow({k: "" if v is None else v for k, v in row.items()})


def write_truth(records: Sequence[TruthRecord], path: Path) -> None:
    """``.csv`` -> CSV, anything else -> JSON."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if path.suffix.lower() == ".csv":
            write_truth_csv(records, out)
        else:
            write_truth_json(records, out)
