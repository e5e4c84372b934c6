"""Schedule events: instalments falling due, payment pauses, restructurings.

Handlers take a fresh clone made by ``ledger.apply`` and edit it in place; the caller's
ledger is never touched. None of them emits a signal: what they change shows at the next
day close (``rules``).
"""

from __future__ import annotations

from decimal import Decimal

from services.arrears_detector import allocation
from services.arrears_detector.calendar import canonical
from services.arrears_detector.events import (
    InstalmentDue,
    LoanRestructured,
    PaymentPauseAgreed,
    PaymentPauseEnded,
)
from services.arrears_detector.money import ZERO
from services.arrears_detector.payments import use_credit
from services.arrears_detector.policy import DetectionPolicy
from services.arrears_detector.signals import Signal
from services.arrears_detector.state import Instalment, LoanLedger, Pause, is_suspended


def _knows_instalment(s: LoanLedger, instalment_id: str) -> bool:
    # Plain loops and indexes (instalment_id is field 0 of an Instalment, 2 of a Collection,
    # ``more`` is 6): this runs for every instalment_due.
    for inst in s.instalments:
        if inst[0] == instalment_id:
            return True
    for record in s.collections:
        if record[2] == instalment_id or (record[6] and record.pays(instalment_id)):
            return True
    return False


def _shared_amount(s: LoanLedger, amount: Decimal) -> Decimal:
    """The ledger's existing object for an equal amount, if it has one at hand.

    Amounts carry exactly two places (events normalise them), so an equal Decimal is the
    same value in every respect; sharing it saves ~100 bytes per remembered collection
    for the usual loan with a constant instalment.
    """
    if s.instalments and s.instalments[-1].amount == amount:
        return s.instalments[-1].amount
    if s.collections:
        known = s.collections[-1].instalment_amount
        if known is not None and known == amount:
            return known
    return amount


def on_instalment_due(s: LoanLedger, e: InstalmentDue, policy: DetectionPolicy) -> list[Signal]:
    """Add the instalment; the latest outstanding balance becomes the exposure.

    A second instalment_due for a known instalment id is a duplicate and ignored.
    """
    if _knows_instalment(s, e.instalment_id):
        return []
    s.exposure = e.outstanding_balance
    s.total_due += e.amount
    amount = _shared_amount(s, e.amount)
    suspended = bool(s.pauses) and is_suspended(e.due_date, s.pauses)
    new = tuple.__new__(
        Instalment,
        (e.instalment_id, canonical(e.due_date), amount, ZERO, e.event_id, False, suspended),
    )  # fast NamedTuple build
    s.instalments = allocation.insert(s.instalments, new)
    use_credit(s)
    return []


def _set_pauses(s: LoanLedger, pauses: tuple[Pause, ...]) -> None:
    s.pauses = pauses
    s.instalments = allocation.resuspend(s.instalments, pauses)
    use_credit(s)


def on_pause_agreed(s: LoanLedger, e: PaymentPauseAgreed, policy: DetectionPolicy) -> list[Signal]:
    """Suspend instalments due in [start, end]; the same pause id again replaces it."""
    others = tuple(p for p in s.pauses if p.pause_id != e.pause_id)
    _set_pauses(s, (*others, Pause(e.pause_id, e.start_date, e.end_date)))
    return []


def on_pause_ended(s: LoanLedger, e: PaymentPauseEnded, policy: DetectionPolicy) -> list[Signal]:
    """End a pause early: instalments due after the new end are due as usual again.
    An end date after the agreed one does not extend the pause (that needs an agreement)."""
    pauses = tuple(
        p._replace(end_date=min(p.end_date, e.end_date)) if p.pause_id == e.pause_id else p
        for p in s.pauses
    )
    if pauses != s.pauses:
        _set_pauses(s, pauses)
    return []


def on_restructured(s: LoanLedger, e: LoanRestructured, policy: DetectionPolicy) -> list[Signal]:
    """New exposure; a distressed restructuring during a default (or while the default
    clock runs) lengthens that default's probation (see ``deadlines.cure_date``)."""
    s.exposure = e.outstanding_balance
    episode = s.default_since is not None or s.material_since is not None
    if e.distressed and episode and (s.distressed_on is None or e.effective_date > s.distressed_on):
        s.distressed_on = e.effective_date
    return []
