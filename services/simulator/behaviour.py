"""What one client does in one month: the bank's collection and its failures, pauses,
restructurings and the client's transfers, as dated actions.

Every random choice of a client-month reads a fixed slot of a fixed-size block of draws
(``Draw``). The number of draws never depends on the path taken, so a different support
factor for one client changes that client's story and nobody else's (common random
numbers: the treatment/control comparison is not blurred by reshuffled randomness).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import Final, NamedTuple

from services.simulator import events as ev
from services.simulator.business_days import (
    add_business_days,
    business_days,
    grace_deadline,
    on_or_before,
)
from services.simulator.cohort import (
    Client,
    annuity,
    due_date,
    interest,
    monthly_rate,
    percent_of,
    split,
)
from services.simulator.config import FailureKind, SegmentProfile, SimulationConfig

ZERO: Final = Decimal("0.00")
RANK: Final = {event_type: rank for rank, event_type in enumerate(ev.TIME_OF_DAY)}
"""Order of a loan's events within one booking day (the same order as their times)."""


class Draw(IntEnum):
    """Slots of a client-month's uniform draws."""

    FAIL = 0
    KIND = 1
    DELAY = 2
    RETRY_FAILS = 3
    RETRY_DELAY = 4
    LATE = 5
    LATE_DAY = 6
    CATCH_UP = 7
    CATCH_UP_FULL = 8
    CATCH_UP_PERCENT = 9
    CATCH_UP_DAY = 10
    PAUSE = 11
    PAUSE_LENGTH = 12
    RESTRUCTURE = 13
    REFUND_DAYS = 14
    MANDATE_MONTHS = 15
    PARTIAL_PERCENT = 16


DRAWS_PER_MONTH: Final = len(Draw)


class Effect(IntEnum):
    """How an action changes what the client owes (the engine's running total)."""

    NONE = 0
    OWES = 1
    """An unsuspended instalment falls due, or a collection is returned or refunded."""
    PAYS = 2
    """A collection settles; never more than the client owes (checked)."""
    TRANSFER = 3
    """A manual transfer, sized on its booking day from what the client can pay."""


class Action(NamedTuple):
    """One planned bank event of a loan. The engine books a day's actions sorted as
    tuples: by ``rank`` (time of day), then client, then ``seq`` (the loan's own order)."""

    rank: int
    client: int
    """The client's position in the cohort."""
    seq: int
    day: date
    event: ev.Event
    effect: Effect = Effect.NONE
    amount: Decimal = ZERO
    """The amount; for a transfer the fixed amount, or zero to use ``percent``."""
    percent: int = 0
    """Transfer only: this percentage of what the client can pay on the booking day."""
    reserve: Decimal = ZERO
    """Money set aside for (+) or used by (-) a pending retry; transfers never take it."""


@dataclass(slots=True)
class LoanState:
    """A loan's contractual schedule and the client's situation, carried month to month."""

    client: Client
    balance: Decimal
    instalment: Decimal
    annual_rate: Decimal
    monthly_rate: Decimal
    remaining_months: int
    seq: int = 0
    mandate_no: int = 1
    manual_months: int = 0
    """Months still to be paid by transfer because the mandate broke."""
    pause_months: int = 0
    """Suspended instalments still to come under an agreed pause."""
    paused_total: Decimal = ZERO
    reissue: list[Decimal] = field(default_factory=list)
    """Suspended amounts coming back, one part on each of the next regular due dates."""
    restructured: bool = False
    owed: Decimal = ZERO
    """Booked by the engine: unpaid amount of unsuspended instalments."""
    reserved: Decimal = ZERO
    """Booked by the engine: money awaiting a retry collection."""

    @classmethod
    def open(cls, client: Client) -> LoanState:
        """The loan as it stands at enrolment, before its first instalment."""
        rate = monthly_rate(client.annual_rate)
        if client.interest_only:
            amount = interest(client.balance, rate)
        else:
            amount = annuity(client.balance, client.annual_rate, client.term_months)
        return cls(client, client.balance, amount, client.annual_rate, rate, client.term_months)


def next_month(year: int, month: int) -> tuple[int, int]:
    """The calendar month after ``year``-``month``."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def pick_failure(mix: Mapping[FailureKind, float], u: float) -> FailureKind:
    """The failure kind whose cumulative weight (in ``FailureKind`` order) covers ``u``."""
    weights = [(kind, mix.get(kind, 0.0)) for kind in FailureKind]
    threshold = u * sum(weight for _, weight in weights)
    running = 0.0
    for kind, weight in weights:
        running += weight
        if threshold < running:
            return kind
    return next(kind for kind, weight in reversed(weights) if weight > 0)


def _between(u: float, low: int, high: int) -> int:
    """An integer in ``[low, high]`` from a uniform draw ``u`` in ``[0, 1)``."""
    return low + int(u * (high - low + 1))


class MonthPlanner:
    """Plans one client-month. Mutates the loan state (schedule, mandate, pause) as the
    bank and the client would; the money owed is booked later by the engine."""

    def __init__(
        self,
        state: LoanState,
        config: SimulationConfig,
        profile: SegmentProfile,
        draws: list[float],
        risk: float,
    ) -> None:
        self.state = state
        self.client = state.client
        self.config = config
        self.profile = profile
        self.u = draws
        self.risk = risk
        self.horizon_end = config.horizon_end
        self.actions: list[Action] = []

    # -- helpers ----------------------------------------------------------------------

    def _next(self) -> tuple[int, str]:
        """The loan's next sequence number and the event id built from it (stable: the
        same run plans the same events in the same order)."""
        self.state.seq += 1
        return self.state.seq, f"{self.client.loan_id}:{self.state.seq}"

    def _add(
        self,
        day: date,
        event: ev.Event,
        seq: int,
        effect: Effect = Effect.NONE,
        amount: Decimal = ZERO,
        percent: int = 0,
        reserve: Decimal = ZERO,
    ) -> None:
        rank = RANK[event["type"]]
        position = self.client.index
        self.actions.append(
            Action(rank, position, seq, day, event, effect, amount, percent, reserve)
        )

    @property
    def mandate_id(self) -> str:
        return f"M-{self.client.loan_id}-{self.state.mandate_no}"

    # -- the month --------------------------------------------------------------------

    def plan(self, year: int, month: int) -> list[Action]:
        """The actions of the instalment due in ``year``-``month`` (none before enrolment)."""
        due = due_date(self.client.due_day, year, month)
        if due < self.client.enrolment_date or due > self.horizon_end:
            return self.actions
        next_due = due_date(self.client.due_day, *next_month(year, month))
        instalment_id = f"I-{self.client.loan_id}-{year:04d}-{month:02d}"
        if self.state.pause_months > 0:
            self._suspended_month(due, instalment_id)
            return self.actions
        owed_at_start = self.state.owed
        amount = self._regular_due(due, instalment_id, suspended=False)
        if self.state.reissue:
            part = self.state.reissue.pop(0)
            self._due(due, f"{instalment_id}-R", part, None, suspended=False)
            amount += part
        self._maybe_pause(due, year, month)
        self._maybe_restructure(due, owed_at_start)
        if self.state.manual_months > 0:
            self._manual_month(due, amount)
        else:
            self._collection(due, instalment_id, amount)
        if owed_at_start > 0:
            self._maybe_catch_up(due, next_due)
        return self.actions

    def _due(
        self,
        due: date,
        instalment_id: str,
        amount: Decimal,
        components: tuple[Decimal, Decimal, Decimal] | None,
        *,
        suspended: bool,
    ) -> None:
        seq, event_id = self._next()
        event = ev.instalment_due(
            event_id,
            self.client.loan_id,
            self.client.client_id,
            instalment_id,
            due,
            amount,
            components,
            self.state.balance,
        )
        effect = Effect.NONE if suspended else Effect.OWES
        self._add(due, event, seq, effect=effect, amount=amount)

    def _regular_due(self, due: date, instalment_id: str, *, suspended: bool) -> Decimal:
        """Post the month's regular instalment and advance the contractual schedule."""
        state = self.state
        month_interest = interest(state.balance, state.monthly_rate)
        if self.client.interest_only:
            amount, principal = month_interest, ZERO
        else:
            amount = state.instalment
            principal = max(ZERO, min(state.balance, amount - month_interest))
        self._due(
            due, instalment_id, amount, (principal, month_interest, ZERO), suspended=suspended
        )
        state.balance -= principal
        state.remaining_months = max(1, state.remaining_months - 1)
        return amount

    def _suspended_month(self, due: date, instalment_id: str) -> None:
        """Under a pause the bank still posts the instalment (suspended) but collects
        nothing; the suspended amounts come back after the pause as extra instalments."""
        state = self.state
        state.paused_total += self._regular_due(due, instalment_id, suspended=True)
        state.pause_months -= 1
        if state.pause_months == 0:
            state.reissue = split(state.paused_total, self.config.pause_repay_instalments)
            state.paused_total = ZERO

    def _maybe_pause(self, due: date, year: int, month: int) -> None:
        """Maybe agree a pause of the next 1-3 instalments (none while one is repaid)."""
        state = self.state
        if state.reissue or self.u[Draw.PAUSE] >= self.profile.pause:
            return
        months = _between(self.u[Draw.PAUSE_LENGTH], 1, self.config.max_pause_months)
        start_year, start_month = next_month(year, month)
        start = due_date(self.client.due_day, start_year, start_month)
        end_year, end_month = start_year, start_month
        for _ in range(months):
            end_year, end_month = next_month(end_year, end_month)
        end = due_date(self.client.due_day, end_year, end_month) - timedelta(days=1)
        pause_id = f"P-{self.client.loan_id}-{year:04d}-{month:02d}"
        agreed_on = add_business_days(due, 1)
        seq, event_id = self._next()
        self._add(
            agreed_on,
            ev.payment_pause_agreed(
                event_id,
                self.client.loan_id,
                self.client.client_id,
                pause_id,
                agreed_on,
                start,
                end,
            ),
            seq,
        )
        ended_on = on_or_before(end)
        seq, event_id = self._next()
        self._add(
            ended_on,
            ev.payment_pause_ended(
                event_id,
                self.client.loan_id,
                self.client.client_id,
                pause_id,
                ended_on,
                end,
            ),
            seq,
        )
        state.pause_months = months

    def _maybe_restructure(self, due: date, owed_at_start: Decimal) -> None:
        """New terms from the next instalment: 10 more years (annuity) or 0.5% less interest
        (interest-only). Arrears stay arrears: the contract has no event that clears them."""
        state = self.state
        if state.restructured or self.u[Draw.RESTRUCTURE] >= self.profile.restructure:
            return
        state.restructured = True
        if self.client.interest_only:
            state.annual_rate = max(Decimal("0.0100"), state.annual_rate - Decimal("0.0050"))
            state.monthly_rate = monthly_rate(state.annual_rate)
        else:
            state.remaining_months += 120
            state.instalment = annuity(state.balance, state.annual_rate, state.remaining_months)
        effective = add_business_days(due, 1)
        seq, event_id = self._next()
        self._add(
            effective,
            ev.loan_restructured(
                event_id,
                self.client.loan_id,
                self.client.client_id,
                f"R-{self.client.loan_id}-{effective:%Y%m%d}",
                effective,
                state.balance,
                distressed=owed_at_start > 0,
            ),
            seq,
        )

    # -- collections and transfers ----------------------------------------------------

    def _collect(
        self, day: date, instalment_id: str, amount: Decimal, reserve: Decimal = ZERO
    ) -> str:
        seq, event_id = self._next()
        e2e = f"E2E-{self.client.loan_id}-{seq}"
        event = ev.direct_debit_collected(
            event_id,
            self.client.loan_id,
            self.client.client_id,
            instalment_id,
            e2e,
            self.mandate_id,
            f"BR-{self.client.loan_id}-{seq}",
            day,
            amount,
        )
        self._add(day, event, seq, effect=Effect.PAYS, amount=amount, reserve=reserve)
        return e2e

    def _reject(self, day: date, amount: Decimal, code: str, reserve: Decimal = ZERO) -> None:
        seq, event_id = self._next()
        event = ev.direct_debit_rejected(
            event_id,
            self.client.loan_id,
            self.client.client_id,
            f"E2E-{self.client.loan_id}-{seq}",
            self.mandate_id,
            day,
            amount,
            code,
        )
        self._add(day, event, seq, reserve=reserve)

    def _reverse(
        self,
        event_type: str,
        e2e: str,
        day: date,
        amount: Decimal,
        code: str,
        reserve: Decimal = ZERO,
    ) -> None:
        seq, event_id = self._next()
        event = ev.direct_debit_reversed(
            event_type,
            event_id,
            self.client.loan_id,
            self.client.client_id,
            e2e,
            self.mandate_id,
            f"BR-{self.client.loan_id}-{seq}",
            day,
            amount,
            code,
        )
        self._add(day, event, seq, effect=Effect.OWES, amount=amount, reserve=reserve)

    def _transfer(self, day: date, amount: Decimal = ZERO, percent: int = 0) -> None:
        seq, event_id = self._next()
        event = ev.payment_received(
            event_id,
            self.client.loan_id,
            self.client.client_id,
            f"BR-{self.client.loan_id}-{seq}",
            day,
            None,
        )
        self._add(day, event, seq, effect=Effect.TRANSFER, amount=amount, percent=percent)

    def _late_payment(self, due: date, after: date) -> None:
        """Maybe pay everything by transfer 1-10 business days after the later of the grace
        deadline and ``after`` (the failure's last event)."""
        if self.u[Draw.LATE] >= self.profile.late_payment:
            return
        start = max(after, grace_deadline(due))
        self._transfer(
            add_business_days(start, _between(self.u[Draw.LATE_DAY], 1, 10)), percent=100
        )

    def _break_mandate(self) -> None:
        self.state.manual_months = _between(
            self.u[Draw.MANDATE_MONTHS], 1, self.config.max_mandate_broken_months
        )

    def _manual_month(self, due: date, amount: Decimal) -> None:
        """No mandate: the client transfers the instalment within the grace period unless
        the month's risk strikes; a new mandate follows the last manual month."""
        state = self.state
        state.manual_months -= 1
        if state.manual_months == 0:
            state.mandate_no += 1
        if self.u[Draw.FAIL] >= self.risk:
            offset = _between(self.u[Draw.DELAY], 0, 3)
            self._transfer(due if offset == 0 else add_business_days(due, offset), amount=amount)
        else:
            self._late_payment(due, due)

    def _collection(self, due: date, instalment_id: str, amount: Decimal) -> None:
        """The monthly direct debit, and what happens when it fails."""
        u = self.u
        if u[Draw.FAIL] >= self.risk:
            self._collect(due, instalment_id, amount)
            return
        kind = pick_failure(self.profile.failure_mix, u[Draw.KIND])
        if kind is FailureKind.SHORT_OF_FUNDS:
            e2e = self._collect(due, instalment_id, amount)
            returned = add_business_days(due, _between(u[Draw.DELAY], 2, 3))
            self._reverse("direct_debit_returned", e2e, returned, amount, "AM04", amount)
            self._retry(due, add_business_days(returned, 1), instalment_id, amount)
        elif kind is FailureKind.REJECTED_RETRY:
            self._reject(due, amount, "MS03", reserve=amount)
            self._retry(due, add_business_days(due, 2), instalment_id, amount)
        elif kind is FailureKind.REFUND:
            e2e = self._collect(due, instalment_id, amount)
            refunded = on_or_before(due + timedelta(days=_between(u[Draw.REFUND_DAYS], 14, 56)))
            self._reverse("direct_debit_refunded", e2e, refunded, amount, "MD06")
            self._late_payment(due, refunded)
        elif kind is FailureKind.ACCOUNT_CLOSED:
            self._reject(due, amount, "AC04")
            self._break_mandate()
            self._late_payment(due, due)
        elif kind is FailureKind.NO_MANDATE:
            e2e = self._collect(due, instalment_id, amount)
            returned = add_business_days(due, _between(u[Draw.DELAY], 1, 2))
            self._reverse("direct_debit_returned", e2e, returned, amount, "MD01")
            self._break_mandate()
            self._late_payment(due, returned)
        else:  # FailureKind.PARTIAL
            e2e = self._collect(due, instalment_id, amount)
            returned = add_business_days(due, 2)
            self._reverse("direct_debit_returned", e2e, returned, amount, "AM04")
            percent = _between(u[Draw.PARTIAL_PERCENT], 30, 80)
            part = percent_of(amount, percent)
            self._transfer(add_business_days(due, _between(u[Draw.DELAY], 3, 4)), amount=part)
            self._late_payment(due, due)

    def _retry(self, due: date, day: date, instalment_id: str, amount: Decimal) -> None:
        """The bank presents the debit once more; it fails again with the month's risk."""
        e2e = self._collect(day, instalment_id, amount, reserve=-amount)
        if self.u[Draw.RETRY_FAILS] < self.risk:
            returned = add_business_days(day, _between(self.u[Draw.RETRY_DELAY], 2, 3))
            self._reverse("direct_debit_returned", e2e, returned, amount, "AM04")
            self._late_payment(due, returned)

    def _maybe_catch_up(self, due: date, next_due: date) -> None:
        """In arrears at the start of the month: maybe transfer all (60%) or 30-80% of what
        is owed, once this month's collection has settled and before the next due date."""
        u = self.u
        if u[Draw.CATCH_UP] >= self.profile.catch_up:
            return
        days = business_days(add_business_days(due, 8), next_due - timedelta(days=1))
        if not days:
            return
        day = days[int(u[Draw.CATCH_UP_DAY] * len(days))]
        full = u[Draw.CATCH_UP_FULL] < 0.6
        percent = 100 if full else _between(u[Draw.CATCH_UP_PERCENT], 30, 80)
        self._transfer(day, percent=percent)
