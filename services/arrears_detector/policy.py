"""The configurable values of domain.md §2-3, in one frozen object.

Defaults are the documented ones. The policy is not stored in the ledger: a replay must
use the policy of the run it wants to reproduce (the shell reads it from settings).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from services.arrears_detector.money import check_money
from services.arrears_detector.signals import Bucket

BUCKET_LABELS: Final[tuple[Bucket, ...]] = ("1-30", "31-60", "61-90", ">90")


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionPolicy:
    grace_business_days: int = 5
    """Operational arrears are assessed at the close of the n-th TARGET2 day after due."""
    tolerance: Decimal = Decimal("0.00")
    """An instalment counts as unpaid only when its unpaid amount exceeds this."""
    bucket_floors: tuple[int, ...] = (1, 31, 61, 91)
    """Lowest DPD of each escalation bucket; labels are ``BUCKET_LABELS``."""
    materiality_amount: Decimal = Decimal("100.00")
    """Default materiality: past due must be above this amount ..."""
    materiality_ratio: Decimal = Decimal("0.01")
    """... and above this share of the exposure (both)."""
    default_after_days: int = 90
    """Default when the material condition held for *more than* this many days."""
    default_probation_months: int = 3
    distressed_probation_months: int = 12
    relapse_window_months: int = 12
    struggle_threshold: int = 2
    """Rejects, returns and refunds that make a collection struggle ..."""
    struggle_window_months: int = 6
    """... within this rolling window of calendar months."""
    collection_memory_days: int = 70
    """How long a collection remembers which instalments it paid, so that a return or
    refund reopens them from their original due date. 70 days covers the 8-week MD06
    refund right plus slack; later (unauthorised, 13-month) refunds reopen a synthetic
    instalment due on the refund date (see docs/decisions/0101-detector-rules.md)."""

    def __post_init__(self) -> None:
        if self.grace_business_days < 0:
            raise ValueError("grace_business_days must be >= 0")
        check_money(self.tolerance, "tolerance", positive=False)
        check_money(self.materiality_amount, "materiality_amount", positive=False)
        if not isinstance(self.materiality_ratio, Decimal) or not 0 <= self.materiality_ratio < 1:
            raise ValueError("materiality_ratio must be a Decimal in [0, 1)")
        floors = self.bucket_floors
        if len(floors) != len(BUCKET_LABELS) or list(floors) != sorted(set(floors)):
            raise ValueError("bucket_floors must be 4 strictly increasing day counts")
        if floors[0] != 1:
            raise ValueError("the first bucket must start at 1 DPD")
        for name in (
            "default_after_days",
            "default_probation_months",
            "distressed_probation_months",
            "relapse_window_months",
            "struggle_threshold",
            "struggle_window_months",
            "collection_memory_days",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    def bucket_index(self, dpd: int) -> int:
        """Index into ``BUCKET_LABELS``; a loan in arrears with 0 DPD sits in the first."""
        floors = self.bucket_floors  # strictly increasing, from 1: the last floor <= dpd
        return bisect_right(floors, dpd) - 1 if dpd >= floors[0] else 0


DEFAULT_POLICY: Final = DetectionPolicy()
