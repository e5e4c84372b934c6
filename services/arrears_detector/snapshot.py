"""JSON-safe snapshots of a ``LoanLedger`` (the Faust table value), exact on round trip.

Decimals travel as strings (``str`` keeps the exponent, so "10.50" stays "10.50"), dates
as ISO strings, the id window as hex. ``SNAPSHOT_VERSION`` changes whenever the shape or
the meaning of a field does; an unknown version is refused rather than guessed.

Version 2 holds the id window as XXH3-64 digests (``idempotency``); version 1 held BLAKE2b
ones. A version-1 snapshot is still read, with an empty window: its digests can never match
an XXH3 digest, so keeping them would only hide ids that were no longer there. What that
costs, and how to upgrade without it mattering, is in docs/decisions/0102.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final

from services.arrears_detector.calendar import iso
from services.arrears_detector.state import (
    Allocation,
    Collection,
    Credit,
    Instalment,
    LoanLedger,
    Pause,
    collection,
)

SNAPSHOT_VERSION: Final = 2
_READABLE: Final = frozenset({1, SNAPSHOT_VERSION})


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _req_date(value: Any) -> date:
    return date.fromisoformat(value)


def to_snapshot(state: LoanLedger) -> dict[str, Any]:
    """A dict of str/int/bool/None/lists only: ``json.dumps`` it as is.

    Written for speed (the shell snapshots every ledger it changes): no helper calls, no
    comprehension for an empty tuple, records unpacked rather than read by attribute.
    """
    exposure = state.exposure
    last_closed = state.last_closed
    last_cure = state.last_cure
    material_since = state.material_since
    default_since = state.default_since
    probation_start = state.probation_start
    distressed_on = state.distressed_on
    instalments = state.instalments
    credit = state.credit
    pauses = state.pauses
    failure_dates = state.failure_dates
    return {
        "v": SNAPSHOT_VERSION,
        "loan_id": state.loan_id,
        "client_id": state.client_id,
        "exposure": None if exposure is None else str(exposure),
        "instalments": [
            [iid, iso(due), str(amount), str(paid), cause, missed, suspended]
            for iid, due, amount, paid, cause, missed, suspended in instalments
        ]
        if instalments
        else [],
        "collections": [_collection(c) for c in state.collections],
        "credit": [[c.source, str(c.amount)] for c in credit] if credit else [],
        "pauses": [[p.pause_id, iso(p.start_date), iso(p.end_date)] for p in pauses]
        if pauses
        else [],
        "failure_dates": [iso(d) for d in failure_dates] if failure_dates else [],
        "total_due": str(state.total_due),
        "net_received": str(state.net_received),
        "last_closed": None if last_closed is None else iso(last_closed),
        "in_arrears": state.in_arrears,
        "bucket": state.bucket,
        "last_cure": None if last_cure is None else iso(last_cure),
        "material_since": None if material_since is None else iso(material_since),
        "default_since": None if default_since is None else iso(default_since),
        "probation_start": None if probation_start is None else iso(probation_start),
        "distressed_on": None if distressed_on is None else iso(distressed_on),
        "recent_ids": state.recent_ids.hex(),
    }


def _collection(c: Collection) -> list[Any]:
    """``[end_to_end_id, booking date, [allocation, ...]]``, allocations as in ``.allocations``
    (the inline first one read in place rather than built)."""
    e2e, booked, iid, due, instalment_amount, amount, more = c
    allocations: list[list[str]] = (
        []
        if iid is None or due is None or instalment_amount is None or amount is None
        else [[iid, iso(due), str(instalment_amount), str(amount)]]
    )
    for a in more:
        allocations.append(
            [a.instalment_id, iso(a.due_date), str(a.instalment_amount), str(a.amount)]
        )
    return [e2e, iso(booked), allocations]


def from_snapshot(data: dict[str, Any]) -> LoanLedger:
    """Rebuild the ledger ``to_snapshot`` described; raises on an unknown version."""
    version = data.get("v")
    if version not in _READABLE:
        raise ValueError(f"unsupported ledger snapshot version {version!r}")
    exposure = data["exposure"]
    return LoanLedger(
        loan_id=data["loan_id"],
        client_id=data["client_id"],
        exposure=None if exposure is None else Decimal(exposure),
        instalments=tuple(
            Instalment(
                i[0], _req_date(i[1]), Decimal(i[2]), Decimal(i[3]), i[4], bool(i[5]), bool(i[6])
            )
            for i in data["instalments"]
        ),
        collections=tuple(
            collection(
                c[0],
                _req_date(c[1]),
                tuple(
                    Allocation(a[0], _req_date(a[1]), Decimal(a[2]), Decimal(a[3])) for a in c[2]
                ),
            )
            for c in data["collections"]
        ),
        credit=tuple(Credit(c[0], Decimal(c[1])) for c in data["credit"]),
        pauses=tuple(Pause(p[0], _req_date(p[1]), _req_date(p[2])) for p in data["pauses"]),
        failure_dates=tuple(_req_date(d) for d in data["failure_dates"]),
        total_due=Decimal(data["total_due"]),
        net_received=Decimal(data["net_received"]),
        last_closed=_date(data["last_closed"]),
        in_arrears=bool(data["in_arrears"]),
        bucket=int(data["bucket"]),
        last_cure=_date(data["last_cure"]),
        material_since=_date(data["material_since"]),
        default_since=_date(data["default_since"]),
        probation_start=_date(data["probation_start"]),
        distressed_on=_date(data["distressed_on"]),
        recent_ids=bytes.fromhex(data["recent_ids"]) if version == SNAPSHOT_VERSION else b"",
    )
