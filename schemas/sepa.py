"""SEPA direct-debit reason codes and the category the detector acts on.

The category decides behaviour (retry the collection, or stop re-presenting because the
mandate is broken), so it is derived from the code in exactly one place: here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import Strict, StringConstraints
from pydantic_core import PydanticCustomError

ReasonCode = Annotated[
    str, Strict(), StringConstraints(min_length=4, max_length=4, pattern=r"^[A-Z0-9]{4}$")
]
"""An ISO 20022 external status/return reason code, e.g. ``AM04`` (uppercase, 4 chars)."""


class ReasonCategory(StrEnum):
    """What a failed collection means for the loan."""

    RETRYABLE = "retryable"
    """Funds or refusal: the debit may succeed when presented again."""
    MANDATE_BROKEN = "mandate_broken"
    """Stop re-presenting: the client must pay another way."""
    UNKNOWN = "unknown"
    """A well-formed code we hold no rule for."""


RETRYABLE_CODES: Final = frozenset({"AM04", "MS03", "AG07", "MS02", "MD06"})
MANDATE_BROKEN_CODES: Final = frozenset({"AC01", "AC04", "AC06", "AG01", "MD01", "MD07"})
_WELL_FORMED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def category_for(code: str) -> ReasonCategory:
    """Return the category of a reason code; raise ``ValueError`` on a malformed code.

    A malformed code is rejected rather than mapped to ``unknown``: it signals a parser
    bug upstream, not a new code from the bank.
    """
    if len(code) != 4 or not set(code) <= _WELL_FORMED:
        raise ValueError("a reason code is 4 uppercase letters or digits, e.g. AM04")
    if code in RETRYABLE_CODES:
        return ReasonCategory.RETRYABLE
    if code in MANDATE_BROKEN_CODES:
        return ReasonCategory.MANDATE_BROKEN
    return ReasonCategory.UNKNOWN


def derived_category(data: dict[str, Any]) -> ReasonCategory:
    """``default_factory`` for a required ``reason_category``: derive it from ``reason_code``.

    pydantic calls it only when ``reason_code`` validated, so the code is well-formed.
    """
    return category_for(data["reason_code"])


def derived_optional_category(data: dict[str, Any]) -> ReasonCategory | None:
    """``default_factory`` for an optional ``reason_category`` next to an optional code."""
    code = data["reason_code"]
    return None if code is None else category_for(code)


def check_category(category: ReasonCategory | None, data: dict[str, Any]) -> None:
    """Reject a ``reason_category`` that disagrees with ``reason_code``.

    A producer that sends both must agree with our mapping, otherwise two services could
    act differently on the same failure.
    """
    if "reason_code" not in data:  # reason_code failed validation: reported there
        return
    code = data["reason_code"]
    if code is None:
        if category is not None:
            raise PydanticCustomError(
                "reason_category_without_code", "reason_category requires a reason_code"
            )
        return
    expected = category_for(code)
    if category != expected:
        raise PydanticCustomError(
            "reason_category_mismatch",
            "does not match reason_code {code}: expected {expected}",
            {"code": code, "expected": expected.value},
        )
