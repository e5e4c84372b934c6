"""Bytes on the wire <-> contract models. The only (de)serialisation the services use.

One encoder for everything keeps the JSON form canonical (compact, fields in declaration
order, money as two-decimal strings, datetimes in UTC), which is what makes a replay
reproduce the topics byte for byte.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

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
