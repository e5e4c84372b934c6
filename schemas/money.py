"""Money: exact decimals that travel as JSON strings.

A JSON number is parsed as a binary float by most consumers, and ``0.1 + 0.2`` is not
``0.3``. Amounts are therefore accepted only as strings (``"1234.50"``) or, from our own
Python code, as ``Decimal``; ints, floats and bools are rejected with a message that says
why. Every amount is normalised to exactly two decimal places so that equal amounts have
one JSON form (``"100"`` and ``"100.00"`` both become ``"100.00"``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

Currency = Literal["EUR"]
"""The only currency of the pilot; SEPA Core direct debits are in euro."""

CENT: Final = Decimal("0.01")
MAX_INTEGER_DIGITS: Final = 13
"""Up to 9,999,999,999,999.99: fits SQL ``NUMERIC(15, 2)`` and bounds the work per value."""

NON_NEGATIVE_PATTERN: Final = r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$"
POSITIVE_PATTERN: Final = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,12}(\.[0-9]{1,2})?)$"
_SYNTAX: Final = re.compile(NON_NEGATIVE_PATTERN)


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise PydanticCustomError("money_type", 'must be a JSON string such as "1234.50"')
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "money_type",
            'must be a JSON string such as "1234.50", not a number: floats are never money',
        )
    if isinstance(value, str):
        if not _SYNTAX.fullmatch(value):
            raise PydanticCustomError(
                "money_format",
                "must be a decimal string with at most 2 decimal places and no sign, "
                'e.g. "1234.50"',
            )
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value < 0 or value != value.quantize(CENT):
            raise PydanticCustomError(
                "money_format", "must be a finite, non-negative amount with at most 2 decimals"
            )
        if value.adjusted() >= MAX_INTEGER_DIGITS:
            raise PydanticCustomError("money_format", "has more than 13 integer digits")
        return value
    raise PydanticCustomError("money_type", 'must be a JSON string such as "1234.50"')


def _canonical(value: Decimal) -> Decimal:
    # ``+ 0`` also turns a negative zero (Decimal("-0")) into a plain zero.
    return value.quantize(CENT) + Decimal("0.00")


def parse_non_negative_money(value: object) -> Decimal:
    """Validate an amount that may be zero (balances, past-due amounts, components)."""
    return _canonical(_to_decimal(value))


def parse_positive_money(value: object) -> Decimal:
    """Validate an amount that must be above zero (instalments, payments)."""
    amount = _canonical(_to_decimal(value))
    if amount == 0:
        raise PydanticCustomError("money_positive", "must be greater than 0")
    return amount


def format_money(value: Decimal) -> str:
    """Canonical JSON form: plain notation, exactly two decimals."""
    return format(value.quantize(CENT), "f")


def _money_schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description, "examples": ["1234.50"]}
    )


_AS_JSON_STRING: Final = PlainSerializer(format_money, return_type=str, when_used="json")

PositiveMoney = Annotated[
    Decimal,
    PlainValidator(parse_positive_money),
    _AS_JSON_STRING,
    _money_schema(POSITIVE_PATTERN, "EUR amount > 0 as a decimal string"),
]
"""An amount > 0 with at most 2 decimals, a JSON string on the wire."""

NonNegativeMoney = Annotated[
    Decimal,
    PlainValidator(parse_non_negative_money),
    _AS_JSON_STRING,
    _money_schema(NON_NEGATIVE_PATTERN, "EUR amount >= 0 as a decimal string"),
]
"""An amount >= 0 with at most 2 decimals, a JSON string on the wire."""
