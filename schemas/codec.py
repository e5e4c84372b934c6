"""Bytes on the wire <-> contract models. The only (de)serialisation the services use.

One encoder for everything keeps the JSON form canonical (compact, fields in declaration
order, money as two-decimal strings, datetimes in UTC), which is what makes a replay
reproduce the topics byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, TypeVar, cast

from pydantic import BaseModel
from pydantic_core import CoreConfig, CoreSchema, SchemaSerializer, SchemaValidator, core_schema

from schemas import money, temporal
from schemas.dlq import DeadLetter
from schemas.enrolments import Enrolment
from schemas.outcomes import OUTCOME_EVENT_ADAPTER, OutcomeEvent
from schemas.payments import PAYMENT_EVENT_ADAPTER, PaymentEvent
from schemas.preferences import ContactPreference
from schemas.signals import SIGNALS_MESSAGE_ADAPTER, ArrearsSignal, SignalsMessage

Raw = bytes | bytearray | str
ModelT = TypeVar("ModelT", bound=BaseModel)


def encode(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON of ``message``; ``None`` fields are written as ``null``."""
    return message.model_dump_json(by_alias=True).encode("utf-8")


def decode(raw: Raw, model: type[ModelT]) -> ModelT:
    """Validate ``raw`` JSON as ``model``; raises ``pydantic.ValidationError``."""
    return model.model_validate_json(raw)


def decode_payment_event(raw: Raw) -> PaymentEvent:
    """A message of payments.inbound.v1 / payments.events.v1 (or one HTTP batch item)."""
    return PAYMENT_EVENT_ADAPTER.validate_json(raw)


def decode_signal(raw: Raw) -> ArrearsSignal:
    """One signal of arrears.signals.v1 (raises on a ``detector_day_closed`` marker)."""
    return ArrearsSignal.model_validate_json(raw)


def decode_signals_message(raw: Raw) -> SignalsMessage:
    """Any message of arrears.signals.v1: a signal or a ``detector_day_closed`` marker."""
    return SIGNALS_MESSAGE_ADAPTER.validate_json(raw)


def decode_enrolment(raw: Raw) -> Enrolment:
    """A message of pilot.enrollments.v1."""
    return Enrolment.model_validate_json(raw)


def decode_preference(raw: Raw) -> ContactPreference:
    """A message of pilot.preferences.v1."""
    return ContactPreference.model_validate_json(raw)


def decode_outcome(raw: Raw) -> OutcomeEvent:
    """A message of outcomes.v1."""
    return OUTCOME_EVENT_ADAPTER.validate_json(raw)


def decode_dead_letter(raw: Raw) -> DeadLetter:
    """A message of payments.dlq.v1."""
    return DeadLetter.model_validate_json(raw)


# --- payment events: native fast paths ---------------------------------------------------
# The contract's money, date and date-time types are Python-level validators and serializers
# (their error messages are part of the contract), and they dominated ingest's time. For the
# string shapes producers send, ``money.NATIVE_FAST_PATHS`` and ``temporal.NATIVE_FAST_PATHS``
# are native schemas that accept a subset of those validators' inputs with the same results.
# The fast validators below are the payment-event schema with only those nodes swapped in:
# models, ``extra="forbid"``, identifiers, IBANs, reason codes and date order are the
# contract's own schema. Whatever the fast validator refuses is validated again by
# ``PAYMENT_EVENT_ADAPTER``, which alone decides and reports errors, so acceptance and errors
# are exactly the contract's (tests/unit/schemas/test_fast_paths.py).

_NATIVE_FAST_PATHS: Final[Mapping[Callable[[Any], Any], CoreSchema]] = {
    **money.NATIVE_FAST_PATHS,
    **temporal.NATIVE_FAST_PATHS,
}
_FAST_CONFIG: Final = CoreConfig(hide_input_in_errors=True)


def with_native_fast_paths(schema: Any) -> Any:
    """A copy of a core schema in which every ``function-plain`` validator that has a native
    fast path is replaced by it (the input is not modified)."""
    if isinstance(schema, list):
        return [with_native_fast_paths(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "function-plain":
        native = _NATIVE_FAST_PATHS.get(schema["function"]["function"])
        if native is not None:
            return native
    return {key: with_native_fast_paths(value) for key, value in schema.items()}


def _model_classes(schema: Any) -> set[type[BaseModel]]:
    if isinstance(schema, list):
        return {cls for item in schema for cls in _model_classes(item)}
    if not isinstance(schema, dict):
        return set()
    found = {schema["cls"]} if schema.get("type") == "model" else set()
    return found.union(*(_model_classes(value) for value in schema.values()))


@contextmanager
def _built_from_schema(classes: set[type[BaseModel]]) -> Iterator[None]:
    """pydantic-core builds a ``model`` node of a complete class as that class's own validator
    (and serializer), ignoring the schema it is given. Marking the classes incomplete while
    building, as ``BaseModel.model_rebuild(force=True)`` does, makes it use the schema. Done
    once, at import; should pydantic stop honouring it, the fast path is merely not faster
    (tests/unit/schemas/test_fast_paths.py would say so)."""
    complete = {cls: cls.__pydantic_complete__ for cls in classes}
    for cls in classes:
        cls.__pydantic_complete__ = False
    try:
        yield
    finally:
        for cls, was in complete.items():
            cls.__pydantic_complete__ = was


_FAST_EVENT_SCHEMA: Final = with_native_fast_paths(PAYMENT_EVENT_ADAPTER.core_schema)
with _built_from_schema(_model_classes(_FAST_EVENT_SCHEMA)):
    _FAST_EVENT: Final = SchemaValidator(_FAST_EVENT_SCHEMA, _FAST_CONFIG)
    _FAST_EVENT_ARRAY: Final = SchemaValidator(
        core_schema.list_schema(_FAST_EVENT_SCHEMA), _FAST_CONFIG
    )
    _FAST_SERIALIZERS: Final[dict[type, SchemaSerializer]] = {
        choice["cls"]: SchemaSerializer(choice, _FAST_CONFIG)
        for choice in _FAST_EVENT_SCHEMA["choices"].values()
    }


def validate_payment_event(value: object) -> PaymentEvent:
    """``PAYMENT_EVENT_ADAPTER.validate_python(value)``: the same event or the same error,
    without Python-level validators when amounts, dates and times are strings in the usual
    shapes."""
    try:
        return cast(PaymentEvent, _FAST_EVENT.validate_python(value))
    except Exception:  # refused (or a C call raised, e.g. OverflowError): the contract decides
        return PAYMENT_EVENT_ADAPTER.validate_python(value)


def decode_payment_event_array(raw: Raw) -> list[PaymentEvent] | None:
    """The events of a JSON array whose elements are all valid events in the usual shapes,
    read and validated in one native pass; ``None`` for anything else (then read the array
    and validate each element on its own).

    Each event equals ``PAYMENT_EVENT_ADAPTER.validate_python`` of its element as ``json``
    reads it: a valid payment event holds no numbers and only ASCII strings, so the two JSON
    readers cannot read one differently.
    """
    try:
        return cast(list[PaymentEvent], _FAST_EVENT_ARRAY.validate_json(raw))
    except Exception:  # refused, for whatever reason: each element is judged on its own
        return None


def encode_payment_event(event: PaymentEvent) -> bytes:
    """``encode(event)``, byte for byte, for a validated payment event, written by native
    serializers only (``encode`` calls three Python-level ones and copies the JSON twice)."""
    serializer = _FAST_SERIALIZERS.get(type(event))
    if serializer is None:  # not one of the contract's classes: nothing to speed up
        return encode(event)
    return serializer.to_json(event, by_alias=True)
