"""Exact money for the detector core: ``Decimal`` with at most two places, never float."""

from __future__ import annotations

from decimal import Context, Decimal, Inexact
from typing import Final

ZERO: Final = Decimal("0.00")
CENT: Final = Decimal("0.01")
_EXACT: Final = Context(prec=34, traps=[Inexact])


def check_money(value: object, field: str, *, positive: bool) -> None:
    """Refuse anything but a finite ``Decimal`` >= 0 (or > 0) with at most 2 places.

    The contract layer (``schemas/``) already guarantees this; the core checks again at
    its own boundary because a wrong amount would silently corrupt every later signal.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{field} must be a finite Decimal, got {type(value).__name__}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{field} must be {'> 0' if positive else '>= 0'}, got {value}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(CENT):
        raise ValueError(f"{field} has more than 2 decimal places: {value}")


def normalised(value: Decimal, field: str, *, positive: bool) -> Decimal:
    """``value`` checked (``check_money``) and held with exactly two places.

    One representation per amount: equal amounts are interchangeable objects, snapshots
    and signals print them the same way, and the ledger can share one object.
    """
    check_money(value, field, positive=positive)
    return value.quantize(CENT, context=_EXACT)


def cents(value: Decimal) -> Decimal:
    """``value`` with exactly two places, raising ``decimal.Inexact`` rather than rounding."""
    return value.quantize(CENT, context=_EXACT)
