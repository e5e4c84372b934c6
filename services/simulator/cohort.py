"""The cohort: who the clients are, drawn once from the seed before anything happens."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache
from typing import Final

from schemas.enrolments import Segment
from services.simulator.business_days import on_or_after
from services.simulator.config import SEGMENTS, SimulationConfig

CENT: Final = Decimal("0.01")
MONEY_CONTEXT: Final = Context(prec=34, rounding=ROUND_HALF_EVEN)
"""Explicit context for every multiplication and division of money, so results never
depend on the caller's thread context. (Sums and differences of amounts in cents are
exact in any context with the default precision.)"""


@dataclass(frozen=True, slots=True)
class Client:
    """One client with one mortgage loan (v1: one loan part per client)."""

    index: int
    client_id: str
    loan_id: str
    segment: Segment
    enrolment_date: date
    followup_end: date
    """Last day of follow-up: enrolment + followup_days, or the horizon's end if earlier."""
    censored: bool
    """True when the horizon ended the follow-up before the full period."""
    due_day: int
    balance: Decimal
    """Outstanding balance at enrolment (the exposure)."""
    annual_rate: Decimal
    term_months: int
    """Remaining term at enrolment."""
    interest_only: bool

    @property
    def followup_days(self) -> int:
        return (self.followup_end - self.enrolment_date).days


@lru_cache(maxsize=4096)
def due_date(due_day: int, year: int, month: int) -> date:
    """The instalment's due date in a month: the contractual day, moved to the next TARGET2
    business day when it is not one (the bank's "following" convention), so that the
    collection and the due date coincide and a weekend is never a late payment."""
    return on_or_after(date(year, month, due_day))


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return MONEY_CONTEXT.divide(annual_rate, Decimal(12))


def annuity(balance: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The fixed monthly payment that repays ``balance`` in ``months`` months."""
    rate = monthly_rate(annual_rate)
    if rate == 0:
        return MONEY_CONTEXT.divide(balance, Decimal(months)).quantize(CENT, context=MONEY_CONTEXT)
    factor = MONEY_CONTEXT.power(MONEY_CONTEXT.add(Decimal(1), rate), -months)
    payment = MONEY_CONTEXT.divide(
        MONEY_CONTEXT.multiply(balance, rate), MONEY_CONTEXT.subtract(Decimal(1), factor)
    )
    return payment.quantize(CENT, context=MONEY_CONTEXT)


def percent_of(amount: Decimal, percent: int) -> Decimal:
    """``percent``% of ``amount``, rounded down to the cent (a client never pays more)."""
    share = MONEY_CONTEXT.divide(MONEY_CONTEXT.multiply(amount, Decimal(percent)), Decimal(100))
    return share.quantize(CENT, rounding=ROUND_DOWN, context=MONEY_CONTEXT)


def split(total: Decimal, parts: int) -> list[Decimal]:
    """``total`` in ``parts`` amounts: equal shares rounded down, the last one takes the
    remaining cents; zero parts are dropped."""
    base = MONEY_CONTEXT.divide(total, Decimal(parts)).quantize(
        CENT, rounding=ROUND_DOWN, context=MONEY_CONTEXT
    )
    return [p for p in [base] * (parts - 1) + [total - base * (parts - 1)] if p > 0]


def interest(balance: Decimal, rate: Decimal) -> Decimal:
    """One month's interest on ``balance`` at the monthly ``rate``, to the cent."""
    return MONEY_CONTEXT.multiply(balance, rate).quantize(CENT, context=MONEY_CONTEXT)


def _segment_counts(config: SimulationConfig) -> dict[Segment, int]:
    """Exact counts per segment by largest remainder: a small cohort has the intended mix
    instead of a noisy one, which keeps the calibration stable at 268 clients."""
    total = sum(config.profiles[s].share for s in SEGMENTS)
    quotas = {s: config.clients * config.profiles[s].share / total for s in SEGMENTS}
    counts = {s: int(q) for s, q in quotas.items()}
    by_remainder = sorted(SEGMENTS, key=lambda s: (counts[s] - quotas[s], SEGMENTS.index(s)))
    for segment in by_remainder[: config.clients - sum(counts.values())]:
        counts[segment] += 1
    return counts


def _weighted(rng: random.Random, weights: dict[int, float]) -> int:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def generate_cohort(config: SimulationConfig) -> list[Client]:
    """The clients of a run, in index order; deterministic in ``config`` alone."""
    rng = random.Random(f"nazorg-simulator/{config.seed}/cohort")
    segments: list[Segment] = [s for s, n in _segment_counts(config).items() for _ in range(n)]
    rng.shuffle(segments)
    width = max(6, len(str(config.clients)))
    cents_min = int(config.balance_min / CENT)
    cents_max = int(config.balance_max / CENT)
    due_weights = dict(config.due_days)
    clients: list[Client] = []
    for index, segment in enumerate(segments):
        profile = config.profiles[segment]
        enrolment = config.start + timedelta(days=rng.randrange(config.enrolment_days))
        full_end = enrolment + timedelta(days=config.followup_days)
        followup_end = min(full_end, config.horizon_end)
        clients.append(
            Client(
                index=index,
                client_id=f"{config.run_id}-C{index:0{width}d}",
                loan_id=f"{config.run_id}-L{index:0{width}d}",
                segment=segment,
                enrolment_date=enrolment,
                followup_end=followup_end,
                censored=followup_end < full_end,
                due_day=_weighted(rng, due_weights),
                balance=Decimal(rng.randint(cents_min, cents_max)) * CENT,
                annual_rate=Decimal(rng.randint(290, 490)) / Decimal(10000),
                term_months=rng.randint(180, 348),
                interest_only=rng.random() < profile.interest_only,
            )
        )
    return clients
