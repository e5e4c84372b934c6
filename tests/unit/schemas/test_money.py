from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas.money import (
    NON_NEGATIVE_PATTERN,
    POSITIVE_PATTERN,
    NonNegativeMoney,
    PositiveMoney,
)

POSITIVE = TypeAdapter(PositiveMoney)
NON_NEGATIVE = TypeAdapter(NonNegativeMoney)


@st.composite
def amount_strings(draw: st.DrawFn) -> str:
    """Any decimal > 0 with at most 2 places (and at most 13 integer digits), as a string."""
    whole = draw(st.integers(min_value=0, max_value=10**13 - 1))
    fraction = draw(st.text(alphabet="0123456789", max_size=2))
    text = f"{whole}.{fraction}" if fraction else str(whole)
    assume(Decimal(text) > 0)
    return text


@given(amount_strings())
def test_positive_amount_strings_round_trip_exactly(text: str) -> None:
    parsed = POSITIVE.validate_json(f'"{text}"')
    assert parsed == Decimal(text)  # no float ever touched it
    dumped = POSITIVE.dump_json(parsed)
    assert dumped == f'"{Decimal(text).quantize(Decimal("0.01"))}"'.encode()
    assert POSITIVE.validate_json(dumped) == parsed
    assert POSITIVE.dump_json(POSITIVE.validate_json(dumped)) == dumped


@given(st.text(alphabet="0123456789.-+eE ", max_size=18))
def test_exported_pattern_agrees_with_the_validator(text: str) -> None:
    for adapter, pattern in ((POSITIVE, POSITIVE_PATTERN), (NON_NEGATIVE, NON_NEGATIVE_PATTERN)):
        try:
            adapter.validate_python(text)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == bool(re.fullmatch(pattern, text)), text


@pytest.mark.parametrize("raw", ["1.5", "1000", "true", "null"])
def test_json_numbers_and_other_types_are_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        POSITIVE.validate_json(raw)
    assert info.value.errors()[0]["type"] == "money_type"


def test_a_float_is_rejected_with_a_message_that_says_why() -> None:
    with pytest.raises(ValidationError) as info:
        POSITIVE.validate_python(1000.0)
    assert "floats are never money" in info.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    "text", ["1.555", "-1.00", "+1", "1e3", " 1", "1,00", "01.00", "1.", ".5", "NaN", ""]
)
def test_malformed_strings_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        NON_NEGATIVE.validate_python(text)
    assert info.value.errors()[0]["type"] == "money_format"


def test_zero_is_allowed_only_where_non_negative() -> None:
    assert NON_NEGATIVE.validate_json('"0"') == Decimal("0.00")
    with pytest.raises(ValidationError, match="greater than 0"):
        POSITIVE.validate_json('"0.00"')


def test_more_than_13_integer_digits_are_rejected() -> None:
    assert POSITIVE.validate_python("9999999999999.99") == Decimal("9999999999999.99")
    with pytest.raises(ValidationError):
        POSITIVE.validate_python("10000000000000")
    with pytest.raises(ValidationError):
        POSITIVE.validate_python(Decimal("1E+13"))


def test_decimals_from_python_code_are_checked_and_normalised() -> None:
    assert NON_NEGATIVE.dump_json(Decimal("1E+2")) == b'"100.00"'
    assert NON_NEGATIVE.dump_json(NON_NEGATIVE.validate_python(Decimal("-0"))) == b'"0.00"'
    assert POSITIVE.validate_python(Decimal("12.300")) == Decimal("12.30")
    for bad in (Decimal("1.005"), Decimal("-1"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValidationError):
            POSITIVE.validate_python(bad)


def test_python_dump_keeps_decimal_for_arithmetic() -> None:
    value = POSITIVE.validate_python("10.5")
    assert isinstance(POSITIVE.dump_python(value), Decimal)
