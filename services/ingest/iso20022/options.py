"""Limits and policy knobs of an ISO 20022 import, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

DEFAULT_MAX_BYTES: Final = 50 * 1024 * 1024
"""A day of camt.054 for the pilot is well under 1 MB; 50 MB bounds memory (the parsed tree
takes about 15 times the file size) while leaving room for a bank's catch-up file."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How much an import may read, and the few mapping choices a bank may need changed."""

    max_bytes: int = DEFAULT_MAX_BYTES
    """Files larger than this are rejected before a single byte is parsed."""
    max_depth: int = 64
    """ISO 20022 documents nest about 15 deep; anything deeper is hostile or broken."""
    max_elements: int = 5_000_000
    """Bounds the parse of a file that is small on disk but dense in elements."""
    max_days_before_creation: int = 400
    """A booking or requested collection date more than this many days before the file was
    created is implausible (a catch-up file may reach back a year; more is a data error)."""
    max_days_after_creation: int = 60
    """...or more than this many days after it (collections are announced up to 14 days
    ahead; a booking is never in the future)."""
    max_field_errors: int = 20
    """Per entry or file, the first errors are listed; the rest are counted in one line."""
    refund_bank_transaction_codes: frozenset[str] = field(default_factory=frozenset)
    """Bank transaction codes that mark a debit as a refund even without reason MD06, as
    ``DOMN/FMLY/SUBF`` (ISO) or ``PRTRY:<code>`` (proprietary). Empty by default: Dutch banks
    book returns and refunds under the same code and tell them apart by the reason."""

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_depth < 1 or self.max_elements < 1:
            raise ValueError("ImportOptions limits must be positive")
        if self.max_days_before_creation < 0 or self.max_days_after_creation < 0:
            raise ValueError("date windows must not be negative")
        if self.max_field_errors < 1:
            raise ValueError("max_field_errors must be at least 1")


DEFAULT_OPTIONS: Final = ImportOptions()
