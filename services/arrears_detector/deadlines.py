"""When a loan next needs a ``business_day_closed`` evaluation: the shell's tick index.

Contract (the Faust shell relies on it):

* ``next_deadline(state, policy)`` is the earliest business date D such that closing the
  day D (or any later day) may change the ledger or emit a signal. ``None`` means no day
  close can change anything until another event of this loan is applied.
* Closing a day before D is a no-op that returns the *same* ledger object; so a shell
  that evaluates every loan on every tick and a shell that evaluates only the loans whose
  D <= tick date produce identical ledgers and signals.
* The value only changes when an event is applied or a day is closed: after each
  ``apply`` the shell re-reads it for that loan and moves the loan in its index.

A loan needs closes while it has an unpaid instalment that is due (or will fall due:
past-due amount, grace deadline), while it is in arrears (DPD, bucket and cure),
while the default clock runs, and while in default (probation start, then its end).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from services.arrears_detector.calendar import add_months, grace_deadline
from services.arrears_detector.money import ZERO
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.state import LoanLedger

_ONE_DAY: Final = timedelta(days=1)


def cure_date(state: LoanLedger, policy: DetectionPolicy) -> date:
    """First close at which a default in probation is cured (probation must be running).

    3 clean months; 12, counted from the restructuring if later, after a distressed
    restructuring that took effect during this default or its run-up (see the ADR).
    """
    start = state.probation_start
    assert start is not None
    if state.distressed_on is not None:
        return add_months(max(start, state.distressed_on), policy.distressed_probation_months)
    return add_months(start, policy.default_probation_months)


def next_deadline(state: LoanLedger, policy: DetectionPolicy = DEFAULT_POLICY) -> date | None:
    """See the module docstring: the first close date that can matter, or ``None``.

    In arrears, on the default clock, or in default before probation starts: every close
    (DPD, bucket, cure and clock change daily). Otherwise the earliest of: the grace
    deadline of the oldest unpaid instalment (missed, onset), the due date at which the
    unpaid amount would become material (default clock), and the end of probation. No
    other close can change anything: past-due amounts only move at due dates and events.
    """
    after = date.min if state.last_closed is None else state.last_closed + _ONE_DAY
    if state.in_arrears or state.material_since is not None:
        return after
    best: date | None = None
    if state.default_since is not None:
        if state.probation_start is None:
            return after
        best = cure_date(state, policy)
    tolerance = policy.tolerance
    exposure = state.exposure if state.exposure is not None else ZERO
    limit = max(policy.materiality_amount, exposure * policy.materiality_ratio)
    past_due = ZERO
    first = True
    for inst in state.instalments:
        unpaid = inst.amount - inst.paid
        if inst.suspended or unpaid <= tolerance:
            continue
        if first:  # the oldest unpaid instalment has the earliest grace deadline
            first = False
            deadline = grace_deadline(inst.due_date, policy.grace_business_days)
            if best is None or deadline < best:
                best = deadline
        if best is not None and inst.due_date >= best:
            break
        past_due += unpaid
        if past_due > limit:
            best = inst.due_date
            break
    if best is None:
        return None
    return best if best > after else after
