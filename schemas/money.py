"""Money: exact decimals that travel as JSON strings.

A JSON number is parsed as a binary float by most consumers, and ``0.1 + 0.2`` is not
``0.3``. Amounts are therefore accepted only as strings (``"1234.50"``) or, from our own
Python code, as ``Decimal``; ints, floats and bools are rejected with a message that says
why. Every amount is normalised to exactly two decimal places so that equal amounts have
one JSON form (``"100"`` and ``"100.00"`` both become ``"100.00"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from operator import methodcaller
from typing import Annotated, Any, Final, Literal

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

Currency = Literal["EUR"]
"""The only currency of the pilot; SEPA Core direct debits are in euro."""

CENT: Final = Decimal("0.01")
MAX_INTEGER_DIGITS: Final = 13
"""Up to 9,999,999,999,999.99: fits SQL ``NUMERIC(15, 2)`` and bounds the work per value."""

NON_NEGATIVE_PATTERN: Final = r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$"
POSITIVE_PATTERN: Final = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,12}(\.[0-9]{1,2})?)$"
_SYNTAX: Final = re.compile(NON_NEGATIVE_PATTERN)

# The canonical form itself (exactly two decimals, no superfluous zero), which is what
# producers send nearly always. For such a string ``Decimal(text)`` already is the value the
# full path returns (same digits, exponent -2), so the validators return it straight away;
# every other input takes the full path below, which alone raises. These match a subset of
# POSITIVE_PATTERN / NON_NEGATIVE_PATTERN (tests/unit/schemas/test_fast_paths.py).
CANONICAL_POSITIVE_PATTERN: Final = r"^(0\.(0[1-9]|[1-9][0-9])|[1-9][0-9]{0,12}\.[0-9]{2})$"
CANONICAL_NON_NEGATIVE_PATTERN: Final = r"^(0|[1-9][0-9]{0,12})\.[0-9]{2}$"
_CANONICAL_POSITIVE: Final = re.compile(CANONICAL_POSITIVE_PATTERN)
_CANONICAL_NON_NEGATIVE: Final = re.compile(CANONICAL_NON_NEGATIVE_PATTERN)


def _in_cents(value: Decimal) -> Decimal:
    try:
        return value.quantize(CENT)
    except InvalidOperation:  # more digits than the context holds: far above 13 integer digits
        raise PydanticCustomError("money_format", "has more than 13 integer digits") from None


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
        if not value.is_finite() or value < 0 or value != _in_cents(value):
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
    if type(value) is str and _CANONICAL_NON_NEGATIVE.fullmatch(value):
        return Decimal(value)
    return _canonical(_to_decimal(value))


def parse_positive_money(value: object) -> Decimal:
    """Validate an amount that must be above zero (instalments, payments)."""
    if type(value) is str and _CANONICAL_POSITIVE.fullmatch(value):
        return Decimal(value)
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


# --- native fast paths (schemas.codec) --------------------------------------------------
# The same rules for strings, without a Python-level function: the contract's own pattern,
# ``Decimal(text)`` built natively, then ``quantize(CENT)`` called through the C
# ``operator.methodcaller``. For an unsigned string that is exactly ``_canonical(Decimal(text))``
# (adding ``0.00`` changes nothing but a negative zero), and the native decimal serializer
# writes it as ``str(value)``, which is ``format_money(value)`` for every value with exponent
# -2. Other inputs (numbers, ``Decimal`` objects, malformed strings, zero where it must be
# positive) are refused here and judged by the validators above through ``schemas.codec``'s
# fallback, so neither acceptance nor any error message changes.


def _native_money(pattern: str) -> CoreSchema:
    return core_schema.chain_schema(
        [
            core_schema.str_schema(strict=True, pattern=pattern),
            core_schema.decimal_schema(),
            core_schema.no_info_plain_validator_function(methodcaller("quantize", CENT)),
            core_schema.decimal_schema(strict=True),  # passes it on; the native serializer
        ]
    )


NATIVE_FAST_PATHS: Final[Mapping[Callable[[Any], Any], CoreSchema]] = {
    parse_positive_money: _native_money(POSITIVE_PATTERN),
    parse_non_negative_money: _native_money(NON_NEGATIVE_PATTERN),
}
"""Validator → a native schema accepting a subset of its inputs, with the same results."""
