"""The fast paths of money, dates, date-times and payment events change nothing but speed.

Each fast path accepts a subset of what the contract accepts and returns exactly what the
contract returns for it; everything else goes the contract's own way. The reference
implementations below are verbatim copies of the validators as they were before the fast
paths were added, so "the same" here means the same as before, not the same as the new code.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticCustomError, SchemaSerializer, SchemaValidator

from schemas import codec, money, temporal
from schemas.codec import (
    decode_payment_event_array,
    encode,
    encode_payment_event,
    validate_payment_event,
)
from schemas.payments import PAYMENT_EVENT_ADAPTER
from tests.unit.ingest.factories import EVENT_TYPES, event
from tests.unit.ingest.strategies import mutated_events, valid_events
from tests.unit.schemas.examples import PAYMENT_EVENTS

# --- the validators as they were (reference implementations) ----------------------------

CENT: Final = Decimal("0.01")
_SYNTAX: Final = re.compile(r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$")


def _reference_to_decimal(value: object) -> Decimal:
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
        if value.adjusted() >= 13:
            raise PydanticCustomError("money_format", "has more than 13 integer digits")
        return value
    raise PydanticCustomError("money_type", 'must be a JSON string such as "1234.50"')


def reference_non_negative_money(value: object) -> Decimal:
    return _reference_to_decimal(value).quantize(CENT) + Decimal("0.00")


def reference_positive_money(value: object) -> Decimal:
    amount = reference_non_negative_money(value)
    if amount == 0:
        raise PydanticCustomError("money_positive", "must be greater than 0")
    return amount


_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE: Final = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<tz>Z|[+-]\d{2}:\d{2})?"
)


def reference_iso_date(value: object) -> date:
    if isinstance(value, datetime):
        raise PydanticCustomError("date_type", "must be a date, not a datetime")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise PydanticCustomError("date_format", "must be an ISO date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_value", "is not a valid calendar date") from None


def reference_utc_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        match = _DATETIME_RE.fullmatch(value)
        if match is None:
            raise PydanticCustomError(
                "datetime_format",
                "must be an RFC 3339 date-time string, e.g. 2026-01-31T23:59:59Z",
            )
        if match["tz"] is None:
            raise PydanticCustomError(
                "timezone_aware", "must be timezone-aware, e.g. 2026-01-31T23:59:59Z"
            )
        frac = f".{match['frac'][:6]:0<6}" if match["frac"] else ""
        tz = "+00:00" if match["tz"] == "Z" else match["tz"]
        try:
            parsed = datetime.fromisoformat(f"{match['base']}{frac}{tz}")
        except ValueError:
            raise PydanticCustomError("datetime_value", "is not a valid date-time") from None
    else:
        raise PydanticCustomError(
            "datetime_format", "must be an RFC 3339 date-time string, e.g. 2026-01-31T23:59:59Z"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_aware", "must be timezone-aware, e.g. 2026-01-31T23:59:59Z"
        )
    return parsed.astimezone(UTC)


# --- inputs ---------------------------------------------------------------------------

_digits = st.text(alphabet="0123456789", min_size=0, max_size=15)
money_like = st.one_of(
    st.builds(lambda a, b: f"{a}.{b}", _digits, _digits),
    _digits,
    st.text(alphabet="0123456789.-+eE ,\u0661", max_size=18),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
)
date_like = st.one_of(
    st.dates().map(date.isoformat),
    st.builds(
        lambda y, m, d: f"{y}-{m}-{d}",
        st.text(alphabet="0123456789", min_size=3, max_size=5),
        st.text(alphabet="0123456789", min_size=1, max_size=3),
        st.text(alphabet="0123456789", min_size=1, max_size=3),
    ),
    st.text(alphabet="0123456789-T:Z\u0660\u0661", max_size=12),
    st.dates(),
    st.datetimes(),
    st.integers(),
)
_offsets = st.sampled_from(["Z", "+00:00", "-00:00", "+01:00", "-05:30", "+14:00", "+24:00", ""])
_fractions = st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=0, max_size=10))
datetime_like = st.one_of(
    st.builds(
        lambda d, h, mi, s, f, tz: f"{d}T{h:02d}:{mi:02d}:{s:02d}{'.' + f if f else ''}{tz}",
        st.dates().map(date.isoformat),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        _fractions,
        _offsets,
    ),
    st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat),
    st.text(alphabet="0123456789-T:Z.+ ", max_size=32),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.integers(),
)


def _outcome(parse: Callable[[object], Any], value: object) -> tuple[str, Any]:
    """What a validator makes of ``value``: its result (with the exact representation that
    matters for the canonical JSON), the error it raises, or the exception it crashes with."""
    try:
        result = parse(value)
    except PydanticCustomError as exc:
        return "error", (exc.type, exc.message())
    except Exception as exc:  # a crash is an outcome to compare, too
        return "crash", type(exc).__name__
    if isinstance(result, Decimal):
        return "ok", result.as_tuple()
    if isinstance(result, datetime):
        return "ok", (result, result.tzinfo is UTC, result.utcoffset())
    return "ok", (type(result), result)


# --- the validators: same outcome as before for every input -----------------------------


@given(money_like)
@example("0.00")
@example("0.01")
@example("1.5")
@example("100")
@example("01.00")
@example("9999999999999.99")
@example("10000000000000.00")
def test_money_validators_decide_and_normalise_exactly_as_before(value: object) -> None:
    for new, old in (
        (money.parse_positive_money, reference_positive_money),
        (money.parse_non_negative_money, reference_non_negative_money),
    ):
        before = _outcome(old, value)
        if before == ("crash", "InvalidOperation"):  # the one change: a rejection now
            assert _outcome(new, value) == ("error", ("money_format", TOO_MANY_DIGITS))
        else:
            assert _outcome(new, value) == before


TOO_MANY_DIGITS: Final = "has more than 13 integer digits"
OUT_OF_RANGE: Final = "is out of range in UTC"


def test_amounts_too_large_for_cents_are_rejected_where_they_crashed_before() -> None:
    huge = Decimal("1E+30")
    with pytest.raises(ArithmeticError):
        reference_positive_money(huge)
    for parse in (money.parse_positive_money, money.parse_non_negative_money):
        assert _outcome(parse, huge) == ("error", ("money_format", TOO_MANY_DIGITS))


@given(date_like)
@example("2024-02-29")
@example("2026-02-29")
@example("0000-01-01")
@example("2026-13-01")
@example("\u0661\u0662\u0663\u0664-01-01")
def test_date_validator_decides_exactly_as_before(value: object) -> None:
    assert _outcome(temporal.parse_iso_date, value) == _outcome(reference_iso_date, value)


@given(datetime_like)
@example("2026-03-02T09:30:00Z")
@example("2026-03-02T09:30:00.5Z")
@example("2026-03-02T09:30:00.123456789Z")
@example("2026-03-02T24:00:00Z")
@example("2026-02-30T00:00:00+00:00")
@example("2026-03-02T09:30:00-00:00")
@example("2026-03-02T09:30:00")
@example("2026-03-02 09:30:00Z")
def test_datetime_validator_decides_exactly_as_before(value: object) -> None:
    before = _outcome(reference_utc_datetime, value)
    if before == ("crash", "OverflowError"):  # the one change: a rejection now
        assert _outcome(temporal.parse_utc_datetime, value) == (
            "error",
            ("datetime_value", OUT_OF_RANGE),
        )
    else:
        assert _outcome(temporal.parse_utc_datetime, value) == before


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_instants_outside_the_utc_calendar_are_rejected_where_they_crashed_before(
    value: str,
) -> None:
    with pytest.raises(OverflowError):
        reference_utc_datetime(value)
    assert _outcome(temporal.parse_utc_datetime, value) == (
        "error",
        ("datetime_value", OUT_OF_RANGE),
    )
    with pytest.raises(ValidationError) as info:
        validate_payment_event({**event(), "time": value})
    assert info.value.errors()[0]["type"] == "datetime_value"


# --- the native schemas: a subset, the same results, the same JSON ----------------------


def _native_checks(
    native: Any, reference: Callable[[object], Any], write: Callable[[Any], str]
) -> Callable[[object], None]:
    validator = SchemaValidator(native)
    serializer = SchemaSerializer(native)

    def check(value: object) -> None:
        try:
            fast = validator.validate_python(value)
        except Exception:  # refused (or raised): the contract's validator decides
            return
        expected = _outcome(reference, value)
        assert expected[0] == "ok", (value, expected)
        assert _outcome(lambda _: fast, value) == expected
        assert serializer.to_json(fast) == json.dumps(write(fast)).encode()
        assert validator.validate_json(json.dumps(value)) == fast

    return check


_POSITIVE = _native_checks(
    money.NATIVE_FAST_PATHS[money.parse_positive_money],
    reference_positive_money,
    money.format_money,
)
_NON_NEGATIVE = _native_checks(
    money.NATIVE_FAST_PATHS[money.parse_non_negative_money],
    reference_non_negative_money,
    money.format_money,
)
_DATE = _native_checks(
    temporal.NATIVE_FAST_PATHS[temporal.parse_iso_date], reference_iso_date, date.isoformat
)
_DATETIME = _native_checks(
    temporal.NATIVE_FAST_PATHS[temporal.parse_utc_datetime],
    reference_utc_datetime,
    temporal.format_utc_datetime,
)


@given(money_like)
@example("0.00")
@example("0.01")
@example("1234.56")
@example("9999999999999.99")
def test_native_money_accepts_a_subset_with_the_same_value_and_json(value: object) -> None:
    _POSITIVE(value)
    _NON_NEGATIVE(value)


@given(date_like)
@example("0001-01-01")
@example("9999-12-31")
@example("0000-01-01")
@example("2026-02-29")
def test_native_date_accepts_a_subset_with_the_same_value_and_json(value: object) -> None:
    _DATE(value)


@given(datetime_like)
@example("2026-03-02T09:30:00Z")
@example("2026-03-02T09:30:00.000120+00:00")
@example("0001-01-01T00:00:00Z")
@example("2026-03-02T24:00:00Z")
def test_native_datetime_accepts_a_subset_with_the_same_value_and_json(value: object) -> None:
    _DATETIME(value)


def test_the_canonical_shapes_do_take_the_native_paths() -> None:
    for native, value in (
        (money.NATIVE_FAST_PATHS[money.parse_positive_money], "1234.56"),
        (money.NATIVE_FAST_PATHS[money.parse_non_negative_money], "0.00"),
        (temporal.NATIVE_FAST_PATHS[temporal.parse_iso_date], "2027-01-04"),
        (temporal.NATIVE_FAST_PATHS[temporal.parse_utc_datetime], "2027-01-04T09:00:00Z"),
    ):
        SchemaValidator(native).validate_python(value)


# --- payment events --------------------------------------------------------------------


def _errors(exc: ValidationError) -> list[Any]:
    return exc.errors(include_url=False)


def _same_as_the_contract(value: Any) -> None:
    """``validate_payment_event`` and the fast encoders against the contract's adapter."""
    try:
        expected = PAYMENT_EVENT_ADAPTER.validate_python(value)
    except ValidationError as exc:
        contract = _errors(exc)
    else:
        contract = None
    if contract is not None:
        with pytest.raises(ValidationError) as fast:
            validate_payment_event(value)
        assert _errors(fast.value) == contract
        return
    got = validate_payment_event(value)
    assert type(got) is type(expected)
    assert got == expected
    assert got.model_fields_set == expected.model_fields_set
    assert got.time.tzinfo is UTC
    assert encode_payment_event(got) == encode(expected)
    assert encode_payment_event(expected) == encode(expected)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_payment_events_are_judged_exactly_as_by_the_contract(value: Any) -> None:
    _same_as_the_contract(value)


@st.composite
def events_in_other_shapes(draw: st.DrawFn) -> Any:
    """Valid events whose amounts, dates and times are not in the canonical shapes (or are):
    these must leave the fast path and still come out the same."""
    value = draw(valid_events())
    data = value["data"]
    value["time"] = draw(datetime_like.filter(lambda v: isinstance(v, str)))
    for name in ("amount", "outstanding_balance"):
        if name in data:
            data[name] = draw(
                st.sampled_from(["1", "1.5", "0.5", "100.00", "0.00", "12.30", "0", "1.505"])
            )
    for name in ("due_date", "booking_date", "business_date", "effective_date"):
        if name in data:
            data[name] = draw(date_like.filter(lambda v: isinstance(v, str)))
    if draw(st.booleans()):
        value["producedtime"] = draw(datetime_like.filter(lambda v: isinstance(v, str)))
    return value


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(events_in_other_shapes())
def test_events_outside_the_canonical_shapes_are_judged_and_encoded_the_same(value: Any) -> None:
    _same_as_the_contract(value)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_takes_the_fast_path_and_encodes_the_same(event_type: str) -> None:
    value = event(event_type)
    fast = codec._FAST_EVENT.validate_python(value)
    assert fast == PAYMENT_EVENT_ADAPTER.validate_python(value)
    assert encode_payment_event(fast) == encode(fast)
    assert type(fast).model_dump_json is type(fast).__mro__[-2].model_dump_json  # not overridden


def test_the_fast_path_calls_no_python_validator_or_serializer() -> None:
    """If pydantic ever reuses the classes' own validators again, the fast path still gives
    the contract's answers, only slowly: this test says so."""
    values = [event(event_type) for event_type in EVENT_TYPES]
    watched = {
        money.parse_positive_money.__code__,
        money.parse_non_negative_money.__code__,
        money.format_money.__code__,
        temporal.parse_iso_date.__code__,
        temporal.parse_utc_datetime.__code__,
        temporal.format_utc_datetime.__code__,
    }
    called: list[str] = []

    def profile(frame: Any, what: str, arg: Any) -> None:
        if what == "call" and frame.f_code in watched:
            called.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        fast = [codec._FAST_EVENT.validate_python(v) for v in values]
        decode_payment_event_array(json.dumps(values))
        for e in fast:
            encode_payment_event(e)
    finally:
        sys.setprofile(None)
    assert called == []


def test_building_the_fast_path_left_the_contract_classes_complete() -> None:
    for model in codec._model_classes(codec._FAST_EVENT_SCHEMA):
        assert model.__pydantic_complete__
        assert "__pydantic_validator__" in vars(model)


# --- whole arrays ----------------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_events() | events_in_other_shapes(), max_size=4))
def test_a_whole_array_is_read_as_json_reads_it_or_not_at_all(values: list[Any]) -> None:
    raw = json.dumps(values).encode()
    fast = decode_payment_event_array(raw)
    if fast is None:
        return
    elements = json.loads(raw)
    assert len(fast) == len(elements)
    for got, element in zip(fast, elements, strict=True):
        expected = PAYMENT_EVENT_ADAPTER.validate_python(element)
        assert got == expected
        assert encode_payment_event(got) == encode(expected)


def test_what_the_whole_array_path_refuses_is_left_to_the_item_path() -> None:
    good = event()
    text = json.dumps([good])
    assert decode_payment_event_array(text.encode()) is not None
    refused = [
        b"\xef\xbb\xbf" + text.encode(),  # a BOM: not JSON for json.loads either
        (text + " x").encode(),
        json.dumps([good, {**good, "type": "nope"}]).encode(),  # one bad element
        json.dumps(good).encode(),  # not an array
        text.encode().replace(b'"EUR"', b'"\\u20ac"'),
        text.encode().replace(b'"EUR"', b'"\\ud800"'),
        b"",
    ]
    for raw in refused:
        assert decode_payment_event_array(raw) is None


def test_a_repeated_key_means_the_last_value_as_for_json() -> None:
    good = json.dumps(event())
    for raw in (
        '[{"id": "first-id", ' + good[1:] + "]",  # the event's own id comes last
        "[" + good[:-1] + ', "id": "last-id"}]',
        "[" + good[:-1] + ', "id": "not an id"}]',
    ):
        [read] = json.loads(raw)
        fast = decode_payment_event_array(raw.encode())
        if fast is None:
            with pytest.raises(ValidationError):
                PAYMENT_EVENT_ADAPTER.validate_python(read)
        else:
            assert fast == [PAYMENT_EVENT_ADAPTER.validate_python(read)]


def test_example_events_are_unchanged() -> None:
    for name, value in PAYMENT_EVENTS.items():
        assert encode_payment_event(validate_payment_event(value)) == encode(
            PAYMENT_EVENT_ADAPTER.validate_python(value)
        ), name
