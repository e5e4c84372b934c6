"""What the simulated bank and its clients look like: one frozen, validated config.

Probabilities are floats (they are not money); amounts are ``Decimal``. Every knob has a
default that reproduces the pilot's published figures (see docs/simulator.md, calibration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Final, get_args

from schemas.enrolments import Segment

SEGMENTS: Final[tuple[Segment, ...]] = get_args(Segment)


class FailureKind(StrEnum):
    """What a failed monthly collection is, and how it unfolds."""

    SHORT_OF_FUNDS = "short_of_funds"
    """AM04 return 2-3 business days after collection; the bank retries once."""
    REJECTED_RETRY = "rejected_retry"
    """MS03 reject (pain.002) on the collection day; the bank retries once."""
    REFUND = "refund"
    """Collected, then refunded by the debtor (MD06) 2-8 weeks later: arrears at once."""
    ACCOUNT_CLOSED = "account_closed"
    """AC04 reject: mandate broken; the client pays by transfer (late) for 1-4 months."""
    NO_MANDATE = "no_mandate"
    """MD01 return 1-2 business days after collection: mandate broken, as above."""
    PARTIAL = "partial"
    """AM04 return without a retry; the client transfers part of the instalment in time."""


SOFT_FAILURES: Final = frozenset({FailureKind.SHORT_OF_FUNDS, FailureKind.REJECTED_RETRY})
"""Failures the bank retries within the grace period: arrears only if the retry fails too
(with the same monthly risk). All other kinds lead to arrears unless paid in time."""


@dataclass(frozen=True)
class SegmentProfile:
    """Behaviour of one segment; every probability is per client per month unless stated."""

    share: float
    """Weight of the segment in the cohort."""
    failure_risk: float
    """P(the month's collection fails) before support and ``risk_scale``."""
    failure_mix: Mapping[FailureKind, float]
    """Relative weights of the failure kinds."""
    late_payment: float
    """After a failure that is not retried: P(the client pays it by transfer 1-10 business
    days after the grace deadline)."""
    catch_up: float
    """While in arrears at the start of a month: P(a transfer of all or part of them)."""
    pause: float
    """P(a payment pause of 1-3 instalments is agreed, from the next instalment)."""
    restructure: float
    """P(the loan is restructured this month; at most once per client)."""
    interest_only: float
    """Share of the segment's loans that are interest-only."""

    def __post_init__(self) -> None:
        probabilities = {
            "share": self.share,
            "failure_risk": self.failure_risk,
            "late_payment": self.late_payment,
            "catch_up": self.catch_up,
            "pause": self.pause,
            "restructure": self.restructure,
            "interest_only": self.interest_only,
        }
        for name, value in probabilities.items():
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a probability in [0, 1]")
        weights = list(self.failure_mix.values())
        if not weights or any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("failure_mix needs non-negative weights with a positive sum")
        object.__setattr__(self, "failure_mix", MappingProxyType(dict(self.failure_mix)))


def _mix(
    short: float, reject: float, refund: float, closed: float, mandate: float, partial: float
) -> Mapping[FailureKind, float]:
    return {
        FailureKind.SHORT_OF_FUNDS: short,
        FailureKind.REJECTED_RETRY: reject,
        FailureKind.REFUND: refund,
        FailureKind.ACCOUNT_CLOSED: closed,
        FailureKind.NO_MANDATE: mandate,
        FailureKind.PARTIAL: partial,
    }


DEFAULT_PROFILES: Final[Mapping[Segment, SegmentProfile]] = MappingProxyType(
    {
        "prevention": SegmentProfile(
            share=0.15,
            failure_risk=0.07,
            failure_mix=_mix(0.55, 0.18, 0.08, 0.05, 0.04, 0.10),
            late_payment=0.70,
            catch_up=0.80,
            pause=0.003,
            restructure=0.001,
            interest_only=0.10,
        ),
        "collection_struggle": SegmentProfile(
            share=0.45,
            failure_risk=0.42,
            failure_mix=_mix(0.65, 0.25, 0.04, 0.02, 0.01, 0.03),
            late_payment=0.40,
            catch_up=0.45,
            pause=0.010,
            restructure=0.006,
            interest_only=0.15,
        ),
        "restructured": SegmentProfile(
            share=0.20,
            failure_risk=0.35,
            failure_mix=_mix(0.58, 0.25, 0.06, 0.03, 0.02, 0.06),
            late_payment=0.50,
            catch_up=0.55,
            pause=0.008,
            restructure=0.002,
            interest_only=0.10,
        ),
        "interest_only_high_risk": SegmentProfile(
            share=0.20,
            failure_risk=0.35,
            failure_mix=_mix(0.58, 0.25, 0.06, 0.03, 0.02, 0.06),
            late_payment=0.50,
            catch_up=0.55,
            pause=0.008,
            restructure=0.005,
            interest_only=1.0,
        ),
    }
)
"""Seed figures (domain.md §1): control vs treatment ever-in-arrears prevention 24% vs 7%,
collection_struggle 93% vs 28%; restructured and interest-only are set near the
struggle segment so that the whole control arm lands at 81%."""

DEFAULT_DUE_DAYS: Final[Mapping[int, float]] = MappingProxyType({1: 0.70, 15: 0.15, 24: 0.15})
"""Contractual day of the month -> share of loans. Day 24 puts an instalment on
Thu 24 Dec 2026, whose grace deadline crosses Christmas and New Year."""

DEFAULT_RISK_SCALE: Final = 1.05
"""The calibration knob: multiplies every segment's failure risk (docs/simulator.md)."""


@dataclass(frozen=True)
class SimulationConfig:
    """One simulated pilot. Same config (and oracle answers) -> the same bytes."""

    clients: int = 428
    seed: int = 0
    start: date = date(2026, 10, 1)
    """First day of the pilot: enrolment opens, ticks start."""
    enrolment_days: int = 61
    """Clients enrol on a calendar day in ``[start, start + enrolment_days)``."""
    horizon_days: int = 420
    """The simulation ends at ``start + horizon_days - 1``. 420 = 365 + 55: clients who enrol
    in the last 6 days of the enrolment period have less than a full year (censored)."""
    followup_days: int = 365
    """Length of each client's follow-up window, counted from the enrolment date."""
    risk_scale: float = DEFAULT_RISK_SCALE
    profiles: Mapping[Segment, SegmentProfile] = field(default_factory=lambda: DEFAULT_PROFILES)
    due_days: Mapping[int, float] = field(default_factory=lambda: DEFAULT_DUE_DAYS)
    balance_min: Decimal = Decimal("100000.00")
    balance_max: Decimal = Decimal("450000.00")
    max_pause_months: int = 3
    pause_repay_instalments: int = 3
    """Suspended amounts come back as this many extra ``instalment_due`` events, one on each
    regular due date after the pause."""
    max_mandate_broken_months: int = 4
    id_prefix: str = "sim"

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise ValueError("clients must be >= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        if self.enrolment_days < 1 or self.followup_days < 1:
            raise ValueError("enrolment_days and followup_days must be >= 1")
        if self.horizon_days < self.enrolment_days:
            raise ValueError("horizon_days must cover the enrolment period")
        if not (math.isfinite(self.risk_scale) and self.risk_scale >= 0):
            raise ValueError("risk_scale must be a finite number >= 0")
        if set(self.profiles) != set(SEGMENTS):
            raise ValueError(f"profiles must cover exactly the segments {SEGMENTS}")
        if sum(p.share for p in self.profiles.values()) <= 0:
            raise ValueError("segment shares must have a positive sum")
        if not self.due_days or any(not 1 <= d <= 28 for d in self.due_days):
            raise ValueError("due days must be days of the month in 1..28")
        if any(not math.isfinite(w) or w < 0 for w in self.due_days.values()) or (
            sum(self.due_days.values()) <= 0
        ):
            raise ValueError("due-day weights must be non-negative with a positive sum")
        if not Decimal("0.01") <= self.balance_min <= self.balance_max:
            raise ValueError("need 0.01 <= balance_min <= balance_max")
        if self.max_pause_months < 1 or self.pause_repay_instalments < 1:
            raise ValueError("max_pause_months and pause_repay_instalments must be >= 1")
        if self.max_mandate_broken_months < 1:
            raise ValueError("max_mandate_broken_months must be >= 1")
        if not self.id_prefix.isascii() or not self.id_prefix.isalnum():
            raise ValueError("id_prefix must be ASCII letters and digits")

    @cached_property
    def horizon_end(self) -> date:
        """The last simulated day (inclusive)."""
        return self.start + timedelta(days=self.horizon_days - 1)

    @property
    def run_id(self) -> str:
        """Prefix of every id of this run, so that two seeds never share an id."""
        return f"{self.id_prefix}{self.seed}"
