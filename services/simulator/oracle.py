"""The risk hook: who received support, asked once per simulated month.

``failure probability = base_risk(segment) x risk_scale x support_factor(client, month)``.
The default oracle says 1.0 for everyone. The demo plugs in one that asks the dev Sofie
server which clients actually received support (and returns e.g. 0.3 for them), so that a
broken intervention pipeline visibly raises the treatment arm's arrears rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol


class SupportOracle(Protocol):
    """Answers, before a month is simulated, how support changes each client's risk."""

    def support_factors(self, month: date, client_ids: Sequence[str]) -> Mapping[str, float]:
        """Factors for ``month`` (its first day); a client left out gets 1.0.

        Called exactly once per month, in month order, after the caller has consumed the
        previous month's events: an oracle may look at what the pipeline did with them.
        """
        ...


class ConstantOracle:
    """The same factor for every client (1.0: no support effect)."""

    def __init__(self, factor: float = 1.0) -> None:
        check_factor(factor)
        self.factor = factor

    def support_factors(self, month: date, client_ids: Sequence[str]) -> Mapping[str, float]:
        return dict.fromkeys(client_ids, self.factor)


class StaticOracle:
    """Fixed factors per client, the same every month (e.g. 0.3 for the treatment arm)."""

    def __init__(self, factors: Mapping[str, float]) -> None:
        for factor in factors.values():
            check_factor(factor)
        self.factors = dict(factors)

    def support_factors(self, month: date, client_ids: Sequence[str]) -> Mapping[str, float]:
        return self.factors


def check_factor(factor: float) -> None:
    """A factor is a finite number >= 0 (above 1 raises the risk; the result is capped at 1)."""
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        raise TypeError("a support factor must be a number")
    if not math.isfinite(factor) or factor < 0:
        raise ValueError("a support factor must be a finite number >= 0")
