"""The money identity every ledger keeps: paid + past due + suspended + not yet due = total due.

``paid`` is not summed from instalments (that would be circular) but derived from the
money flows: collections and payments, minus returns and refunds, minus unallocated
credit. ``past_due`` here is the exact unpaid amount of due instalments, tolerance
ignored. Suspended instalments (due inside a payment pause) form their own term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.arrears_detector.money import ZERO
from services.arrears_detector.state import LoanLedger


@dataclass(frozen=True, slots=True)
class Balance:
    total_due: Decimal
    paid: Decimal
    past_due: Decimal
    suspended: Decimal
    not_yet_due: Decimal
    credit: Decimal

    @property
    def conserved(self) -> bool:
        return self.total_due == self.paid + self.past_due + self.suspended + self.not_yet_due


def balance(state: LoanLedger, as_of: date) -> Balance:
    """The ledger's money split as at the close of ``as_of``."""
    past_due = suspended = not_yet_due = ZERO
    for inst in state.instalments:
        unpaid = inst.amount - inst.paid
        if inst.suspended:
            suspended += unpaid
        elif inst.due_date <= as_of:
            past_due += unpaid
        else:
            not_yet_due += unpaid
    credit = sum((c.amount for c in state.credit), ZERO)
    return Balance(
        state.total_due, state.net_received - credit, past_due, suspended, not_yet_due, credit
    )
