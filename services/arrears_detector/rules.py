"""Day-close rules: missed instalments, arrears onset/escalation/cure, relapse, default.

Everything time-driven is decided here, at the close of a TARGET2 business day, after
every event booked that day is in: that makes the outcome independent of the order of
same-day events and of wall time. Signals of one close come in a fixed order:
instalment_missed (oldest first), arrears_onset, relapse, arrears_escalated,
arrears_cured, default_entered, default_cured.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.arrears_detector.calendar import add_months, grace_deadline, is_business_day, iso
from services.arrears_detector.deadlines import cure_date, next_deadline
from services.arrears_detector.emit import emit
from services.arrears_detector.money import ZERO
from services.arrears_detector.policy import DetectionPolicy
from services.arrears_detector.signals import Signal
from services.arrears_detector.state import Instalment, LoanLedger, standing


class LedgerError(ValueError):
    """An event the core refuses to apply (the shell sends it to the dead-letter topic)."""


def close_business_day(
    state: LoanLedger, business_date: date, tick_event_id: str, policy: DetectionPolicy
) -> tuple[LoanLedger, list[Signal]]:
    """Evaluate ``state`` at the close of ``business_date``.

    A no-op returning ``state`` itself when the date is not after the last close, or
    before ``next_deadline`` (nothing can change yet).
    """
    if not is_business_day(business_date):
        raise LedgerError(f"{business_date} is not a TARGET2 business day")
    if state.last_closed is not None and business_date <= state.last_closed:
        return state, []
    due = next_deadline(state, policy)
    if due is None or business_date < due:
        return state, []
    s = state.clone()
    s.last_closed = business_date
    signals = _missed(s, business_date, tick_event_id, policy)
    dpd, past_due, oldest = standing(s, business_date, policy.tolerance)
    signals += _arrears(s, business_date, dpd, oldest, tick_event_id, policy)
    signals += _default(s, business_date, past_due, oldest, tick_event_id, policy)
    return s, signals


def _missed(s: LoanLedger, day: date, tick: str, policy: DetectionPolicy) -> list[Signal]:
    """instalment_missed for each instalment unpaid beyond tolerance at its grace deadline
    (or later: e.g. reopened by a refund), once per time it became unpaid."""
    flagged: list[Instalment] = []
    instalments = s.instalments
    marked: list[Instalment] | None = None  # a copy only once something is flagged
    for index, inst in enumerate(instalments):
        if inst.due_date > day:
            break
        if inst.missed or inst.suspended or inst.amount - inst.paid <= policy.tolerance:
            continue
        if grace_deadline(inst.due_date, policy.grace_business_days) <= day:
            if marked is None:
                marked = list(instalments)
            # inst._replace(missed=True), without _replace's Python-level _make (hot path)
            marked[index] = tuple.__new__(Instalment, (*inst[:5], True, inst[6]))
            flagged.append(inst)
    if marked is None:
        return []
    s.instalments = tuple(marked)
    day_iso = iso(day)
    return [
        emit(
            s,
            "instalment_missed",
            day,
            (inst.instalment_id, day_iso),
            (inst.cause_event_id, tick),
            policy,
            instalment_id=inst.instalment_id,
        )
        for inst in flagged
    ]


def _in_arrears_now(s: LoanLedger, policy: DetectionPolicy) -> bool:
    tolerance = policy.tolerance
    for inst in s.instalments:  # a loop, not any(<generator>): runs at every close
        if inst.missed and not inst.suspended and inst.amount - inst.paid > tolerance:
            return True
    return False


def _arrears(
    s: LoanLedger,
    day: date,
    dpd: int,
    oldest: Instalment | None,
    tick: str,
    policy: DetectionPolicy,
) -> list[Signal]:
    """Operational arrears: onset at a missed instalment, escalation on every bucket
    increase (also on the onset day), cure when the past-due amount is back to zero.
    ``oldest`` is the instalment that sets ``dpd`` (``standing``)."""
    if not s.in_arrears and not _in_arrears_now(s, policy):
        return []
    signals: list[Signal] = []
    causes = (tick,) if oldest is None else (oldest.cause_event_id, tick)
    if not s.in_arrears:
        bucket = policy.bucket_index(dpd)
        s.in_arrears = True
        key = (iso(day),)
        signals.append(
            emit(
                s,
                "arrears_onset",
                day,
                key,
                causes,
                policy,
                instalment_id=oldest.instalment_id if oldest else None,
                bucket=bucket,
            )
        )
        window_end = (
            None if s.last_cure is None else add_months(s.last_cure, policy.relapse_window_months)
        )
        if window_end is not None and day <= window_end:
            signals.append(emit(s, "relapse", day, key, causes, policy, bucket=bucket))
        if bucket > 0:
            signals.append(emit(s, "arrears_escalated", day, key, causes, policy, bucket=bucket))
        s.bucket = bucket
        return signals
    if oldest is None:
        s.in_arrears = False
        s.bucket = -1
        s.last_cure = day
        return [emit(s, "arrears_cured", day, (iso(day),), (tick,), policy)]
    bucket = policy.bucket_index(dpd)
    if bucket > s.bucket:
        key = (iso(day),)
        signals.append(emit(s, "arrears_escalated", day, key, causes, policy, bucket=bucket))
    s.bucket = bucket
    return signals


def _default(
    s: LoanLedger,
    day: date,
    past_due: Decimal,
    oldest: Instalment | None,
    tick: str,
    policy: DetectionPolicy,
) -> list[Signal]:
    """Default clock (CRR art. 178): material past due at the close of every day for more
    than ``default_after_days`` days; cure after a probation without triggers. ``oldest``
    is the instalment that sets the DPD (``standing``)."""
    exposure = s.exposure if s.exposure is not None else ZERO
    material = (
        past_due > policy.materiality_amount and past_due > exposure * policy.materiality_ratio
    )
    if material:
        if s.material_since is None:
            s.material_since = day
    else:
        s.material_since = None
        if s.default_since is None:
            s.distressed_on = None  # the run-up ended without default: not this episode's
    if s.default_since is None:
        if s.material_since is None or (day - s.material_since).days < policy.default_after_days:
            return []
        s.default_since = day
        s.probation_start = None
        causes = (tick,) if oldest is None else (oldest.cause_event_id, tick)
        return [emit(s, "default_entered", day, (iso(day),), causes, policy)]
    if material:
        s.probation_start = None  # a trigger: probation starts again when it clears
        return []
    if s.probation_start is None:
        s.probation_start = day
    if day < cure_date(s, policy):
        return []
    s.default_since = None
    s.probation_start = None
    s.distressed_on = None
    return [emit(s, "default_cured", day, (iso(day),), (tick,), policy)]
