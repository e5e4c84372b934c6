"""The closed vocabularies of the signal contract, free of pydantic.

The detector's pure core imports these too, so the list of signal types and buckets is written
once: a type added here is a type both the contract and the core know.
"""

from __future__ import annotations

from typing import Literal

SignalType = Literal[
    "late_payment",
    "partial_payment",
    "instalment_missed",
    "direct_debit_failed",
    "direct_debit_refunded",
    "mandate_broken",
    "collection_struggle",
    "arrears_onset",
    "arrears_escalated",
    "arrears_cured",
    "relapse",
    "default_entered",
    "default_cured",
]

Bucket = Literal["1-30", "31-60", "61-90", ">90"]
"""Days-past-due bucket used for escalation."""
