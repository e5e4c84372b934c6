"""Which loans of a partition need a given day close: an index of next deadlines.

Derived state: rebuilt from the ledger table when a partition is (re)assigned, then kept up to
date as events are applied, so a tick touches only the loans whose deadline has come instead of
every loan of the partition.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import date


class DeadlineIndex:
    """loan id → next deadline, queryable by "every loan due on or before D"."""

    def __init__(self) -> None:
        self._by_loan: dict[str, date] = {}
        self._by_date: dict[date, set[str]] = {}
        self._dates: list[date] = []

    def __len__(self) -> int:
        return len(self._by_loan)

    def set(self, loan_id: str, deadline: date | None) -> None:
        """Move a loan to its new deadline (None: no close can change it)."""
        old = self._by_loan.pop(loan_id, None)
        if old is not None:
            loans = self._by_date[old]
            loans.discard(loan_id)
            if not loans:
                del self._by_date[old]
                self._dates.pop(bisect.bisect_left(self._dates, old))
        if deadline is None:
            return
        self._by_loan[loan_id] = deadline
        if deadline not in self._by_date:
            self._by_date[deadline] = set()
            bisect.insort(self._dates, deadline)
        self._by_date[deadline].add(loan_id)

    def due(self, business_date: date) -> list[str]:
        """Loans whose deadline is on or before the date, in a deterministic order."""
        end = bisect.bisect_right(self._dates, business_date)
        return sorted(loan for d in self._dates[:end] for loan in self._by_date[d])

    def rebuild(self, entries: Iterable[tuple[str, date | None]]) -> None:
        self._by_loan.clear()
        self._by_date.clear()
        self._dates.clear()
        for loan_id, deadline in entries:
            self.set(loan_id, deadline)
