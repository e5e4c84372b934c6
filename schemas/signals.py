"""arrears.signals.v1: what the arrears detector concluded about a loan on a business day."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import ConfigDict, Field, Strict, TypeAdapter, ValidationInfo, field_validator

from schemas.base import ContractModel
from schemas.envelope import Envelope
from schemas.identifiers import Identifier
from schemas.money import NonNegativeMoney
from schemas.sepa import ReasonCategory, ReasonCode, check_category, derived_optional_category
from schemas.temporal import IsoDate
from schemas.vocabulary import Bucket, SignalType

SIGNALS_DATASCHEMA: Final = "urn:nazorg:schema:arrears.signals:v1"

Dpd = Annotated[int, Strict(), Field(ge=0)]
"""Days past due (calendar days); a JSON integer, never a string or float."""


class SignalData(ContractModel):
    loan_id: Identifier
    client_id: Identifier
    business_date: IsoDate
    """The business day at whose close (or during which) the signal arose."""
    dpd: Dpd
    past_due_amount: NonNegativeMoney
    exposure: NonNegativeMoney | None = None
    cause_event_ids: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    """The payment events that caused the signal, for audit and for deterministic ids."""
    instalment_id: Identifier | None = None
    reason_code: ReasonCode | None = None
    reason_category: ReasonCategory | None = Field(default_factory=derived_optional_category)
    """Filled from ``reason_code`` when absent; a mismatch, or a category without a code,
    is rejected."""
    bucket: Bucket | None = None

    @field_validator("reason_category")
    @classmethod
    def _matches_code(
        cls, value: ReasonCategory | None, info: ValidationInfo
    ) -> ReasonCategory | None:
        check_category(value, info.data)
        return value


class ArrearsSignal(Envelope):
    """One signal; ``id`` is the deterministic signal id (``schemas.ids.deterministic_id``),
    so a replay produces the same ids and consumers can deduplicate."""

    type: SignalType
    dataschema: Literal["urn:nazorg:schema:arrears.signals:v1"] = SIGNALS_DATASCHEMA
    data: SignalData


class DayClosedData(ContractModel):
    """The detector finished ``business_date`` for the loans of one partition."""

    source_partition: Annotated[int, Strict(), Field(ge=0)]
    """The partition of payments.events.v1 (and of this topic: same key, same count)."""
    partitions: Annotated[int, Strict(), Field(ge=1)]
    """How many partitions there are: a consumer knows a day is closed everywhere only when
    every one of them has reported it."""
    business_date: IsoDate


class DayClosed(Envelope):
    """A progress marker on arrears.signals.v1, sent to ``source_partition`` after the
    signals of that day's close.

    Kafka orders a partition, so a consumer that reads this marker has read every signal of
    that partition up to ``business_date``. The intervention service closes a client's
    12-month follow-up on it: event time, never the wall clock, and no race between a late
    signal and the closing of the follow-up it belongs to.
    """

    type: Literal["detector_day_closed"]
    dataschema: Literal["urn:nazorg:schema:arrears.signals:v1"] = SIGNALS_DATASCHEMA
    data: DayClosedData


SignalsMessage = Annotated[ArrearsSignal | DayClosed, Field(discriminator="type")]
"""Any message on arrears.signals.v1."""

SIGNALS_MESSAGE_ADAPTER: Final[TypeAdapter[SignalsMessage]] = TypeAdapter(
    SignalsMessage, config=ConfigDict(hide_input_in_errors=True)
)
