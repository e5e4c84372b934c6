"""``simulate``: the pilot, month by month, as canonical events in event-time order.

Each month: ask the oracle for support factors, plan every client's instalment (draws from
a per-month ``random.Random`` seeded from the run's seed, a fixed block per client), then
book the planned actions day by day. Booking keeps the client's running debt, sizes
transfers from it and refuses to collect more than is owed, so the simulated bank never
takes money nobody owes. A day's ``business_day_closed`` tick follows its loan events.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from schemas.money import format_money
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.simulator import events as ev
from services.simulator.behaviour import (
    DRAWS_PER_MONTH,
    ZERO,
    Action,
    Effect,
    LoanState,
    MonthPlanner,
    next_month,
)
from services.simulator.business_days import ONE_DAY, is_business_day
from services.simulator.cohort import Client, generate_cohort, percent_of
from services.simulator.config import SimulationConfig
from services.simulator.oracle import ConstantOracle, SupportOracle, check_factor

DRAW_SLOTS: Final = range(DRAWS_PER_MONTH)
SAFE_ID: Final = re.compile(r"[A-Za-z0-9.:-]{1,64}")
"""Ids the simulator builds on must need no JSON escaping (see ``wire``) and leave room
for the suffixes of instalment, collection and reference ids (128 characters at most)."""


class SimulationError(RuntimeError):
    """The simulated bank would have broken its own invariants (a bug, never input)."""


@dataclass(frozen=True)
class MonthBatch:
    """The events of one calendar month (clipped to the horizon), in event-time order."""

    month: date
    """First day of the month."""
    first_day: date
    last_day: date
    events: list[ev.Event]
    factors: Mapping[str, float]
    """What the oracle answered for this month (absent clients: 1.0)."""


def months(first: date, last: date) -> list[date]:
    """First days of the calendar months that overlap ``[first, last]``."""
    result: list[date] = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        result.append(date(year, month, 1))
        year, month = next_month(year, month)
    return result


def month_rng(config: SimulationConfig, month: date) -> random.Random:
    """The month's random stream; a string seed is hashed with SHA-512 by ``random``, so it
    is the same on every machine and independent of ``PYTHONHASHSEED``."""
    return random.Random(f"nazorg-simulator/{config.seed}/{month:%Y-%m}")


def tick_id(config: SimulationConfig, day: date) -> str:
    return f"{config.run_id}:close:{day.isoformat()}"


def _book(action: Action, state: LoanState) -> ev.Event | None:
    """Apply ``action`` to the client's running debt; None when a transfer has nothing left
    to pay (the client already caught up)."""
    if action.effect is Effect.OWES:
        state.owed += action.amount
    elif action.effect is Effect.PAYS:
        if action.amount > state.owed:
            raise SimulationError(f"{action.event['id']} collects more than is owed")
        state.owed -= action.amount
    elif action.effect is Effect.TRANSFER:
        available = state.owed - state.reserved
        amount = percent_of(available, action.percent) if action.percent else action.amount
        amount = min(amount, available)
        if amount <= ZERO:
            return None
        action.event["data"]["amount"] = format_money(amount)
        state.owed -= amount
    state.reserved += action.reserve
    if state.reserved < ZERO or state.owed < state.reserved:
        raise SimulationError(f"{action.event['id']} breaks the retry reservation")
    return action.event


def simulate(
    config: SimulationConfig,
    oracle: SupportOracle | None = None,
    *,
    cohort: Sequence[Client] | None = None,
    validate_every: int = 0,
) -> Iterator[MonthBatch]:
    """Yield the pilot's events month by month.

    The oracle is asked once per month, lazily, when the month's batch is requested: a
    caller that posts a batch and waits for the pipeline before asking for the next one
    lets support delivered in month m lower the risk of month m+1.

    ``cohort`` defaults to ``generate_cohort(config)`` (pass it to avoid building it twice).
    ``validate_every`` = n > 0 validates every n-th event against the contract (1 = all).
    """
    oracle = ConstantOracle() if oracle is None else oracle
    clients = list(generate_cohort(config) if cohort is None else cohort)
    if any(client.index != position for position, client in enumerate(clients)):
        raise ValueError("cohort indexes must be 0..n-1 in order")
    if not all(SAFE_ID.fullmatch(c.client_id) and SAFE_ID.fullmatch(c.loan_id) for c in clients):
        raise ValueError("client and loan ids must be ASCII letters, digits, '-', ':' or '.'")
    client_ids = [c.client_id for c in clients]
    states = [LoanState.open(c) for c in clients]
    pending: defaultdict[date, list[Action]] = defaultdict(list)
    validated = 0
    for month in months(config.start, config.horizon_end):
        factors = oracle.support_factors(month, client_ids)
        for factor in factors.values():
            check_factor(factor)
        _plan_month(config, month, clients, states, factors, pending)
        first_day = max(month, config.start)
        last_day = min(months_end(month), config.horizon_end)
        batch = _book_days(config, first_day, last_day, states, pending)
        if validate_every > 0:
            for event in batch:
                if validated % validate_every == 0:
                    PAYMENT_EVENT_ADAPTER.validate_python(event)
                validated += 1
        yield MonthBatch(month, first_day, last_day, batch, factors)


def _plan_month(
    config: SimulationConfig,
    month: date,
    clients: list[Client],
    states: list[LoanState],
    factors: Mapping[str, float],
    pending: defaultdict[date, list[Action]],
) -> None:
    """Plan every client's instalment of ``month`` into ``pending`` (by booking day)."""
    random_ = month_rng(config, month).random
    horizon_end = config.horizon_end
    for client, state in zip(clients, states, strict=True):
        draws = [random_() for _ in DRAW_SLOTS]  # always the full block: see behaviour
        profile = config.profiles[client.segment]
        factor = factors.get(client.client_id, 1.0)
        risk = min(1.0, profile.failure_risk * config.risk_scale * factor)
        planner = MonthPlanner(state, config, profile, draws, risk)
        for action in planner.plan(month.year, month.month):
            if action.day < month:
                raise SimulationError(f"{action.event['id']} planned in a past month")
            if action.day <= horizon_end:
                pending[action.day].append(action)


def _book_days(
    config: SimulationConfig,
    first_day: date,
    last_day: date,
    states: list[LoanState],
    pending: defaultdict[date, list[Action]],
) -> list[ev.Event]:
    """Book the planned actions of ``[first_day, last_day]`` in order, each business day
    closed by its tick."""
    batch: list[ev.Event] = []
    day = first_day
    while day <= last_day:
        # Actions sort as tuples: time of day, then client, then the loan's own sequence.
        for action in sorted(pending.pop(day, ())):
            event = _book(action, states[action.client])
            if event is not None:
                batch.append(event)
        if is_business_day(day):
            batch.append(ev.business_day_closed(tick_id(config, day), day))
        day += ONE_DAY
    return batch


def months_end(month: date) -> date:
    """Last day of the month that starts on ``month``."""
    year, number = next_month(month.year, month.month)
    return date(year, number, 1) - ONE_DAY
