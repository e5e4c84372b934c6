"""JSON-safe snapshots of a ``LoanLedger`` (the Faust table value), exact on round trip.

Decimals travel as strings (``str`` keeps the exponent, so "10.50" stays "10.50"), dates
as ISO strings, the id window as hex. ``SNAPSHOT_VERSION`` changes whenever the shape
does; an unknown version is refused rather than guessed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final

from services.arrears_detector.state import (
    Allocation,
    Credit,
    Instalment,
    LoanLedger,
    Pause,
    collection,
)

SNAPSHOT_VERSION: Final = 1


def _d(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _req_date(value: Any) -> date:
    return date.fromisoformat(value)


def to_snapshot(state: LoanLedger) -> dict[str, Any]:
    """A dict of str/int/bool/None/lists only: ``json.dumps`` it as is."""
    return {
        "v": SNAPSHOT_VERSION,
        "loan_id": state.loan_id,
        "client_id": state.client_id,
        "exposure": None if state.exposure is None else str(state.exposure),
        "instalments": [
            [
                i.instalment_id,
                i.due_date.isoformat(),
                str(i.amount),
                str(i.paid),
                i.cause_event_id,
                i.missed,
                i.suspended,
            ]
            for i in state.instalments
        ],
        "collections": [
            [
                c.end_to_end_id,
                c.booking_date.isoformat(),
                [
                    [
                        a.instalment_id,
                        a.due_date.isoformat(),
                        str(a.instalment_amount),
                        str(a.amount),
                    ]
                    for a in c.allocations
                ],
            ]
            for c in state.collections
        ],
        "credit": [[c.source, str(c.amount)] for c in state.credit],
        "pauses": [
            [p.pause_id, p.start_date.isoformat(), p.end_date.isoformat()] for p in state.pauses
        ],
        "failure_dates": [d.isoformat() for d in state.failure_dates],
        "total_due": str(state.total_due),
        "net_received": str(state.net_received),
        "last_closed": _d(state.last_closed),
        "in_arrears": state.in_arrears,
        "bucket": state.bucket,
        "last_cure": _d(state.last_cure),
        "material_since": _d(state.material_since),
        "default_since": _d(state.default_since),
        "probation_start": _d(state.probation_start),
        "distressed_on": _d(state.distressed_on),
        "recent_ids": state.recent_ids.hex(),
    }


def from_snapshot(data: dict[str, Any]) -> LoanLedger:
    """Rebuild the ledger ``to_snapshot`` described; raises on an unknown version."""
    if data.get("v") != SNAPSHOT_VERSION:
        raise ValueError(f"unsupported ledger snapshot version {data.get('v')!r}")
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
        recent_ids=bytes.fromhex(data["recent_ids"]),
    )
