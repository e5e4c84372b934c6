"""payments.events.v1: canonical payment events, the event store of nazorg.

The same models validate what the bank sends (payments.inbound.v1, HTTP, ISO 20022
imports); ingest then republishes them in canonical form, where every defaulted field
(``reason_category``, envelope constants) is filled in.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final, Literal

import schwifty
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from schemas.base import ContractModel
from schemas.envelope import Envelope
from schemas.identifiers import Identifier
from schemas.money import Currency, NonNegativeMoney, PositiveMoney
from schemas.sepa import ReasonCategory, ReasonCode, check_category, derived_category
from schemas.temporal import IsoDate

PAYMENTS_DATASCHEMA: Final = "urn:nazorg:schema:payments.events:v1"


def _check_iban(value: str) -> str:
    try:
        return schwifty.IBAN(value).compact
    except ValueError as exc:  # schwifty's errors never echo the full IBAN
        raise PydanticCustomError(
            "iban_invalid", "is not a valid IBAN: {reason}", {"reason": str(exc)}
        ) from None


Iban = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"),
    AfterValidator(_check_iban),
]
"""An IBAN in compact uppercase form, checked (country, length, checksum) with schwifty."""


# --- payloads -------------------------------------------------------------------------


class LoanEventData(ContractModel):
    """Every loan-level payment event names the loan (the Kafka key) and its client."""

    loan_id: Identifier
    client_id: Identifier


class InstalmentComponents(ContractModel):
    """Breakdown of an instalment. Not checked against ``amount``: a bank may have
    components we do not model, and dropping an instalment over its breakdown would hide
    arrears."""

    principal: NonNegativeMoney
    interest: NonNegativeMoney
    fees: NonNegativeMoney


class InstalmentDueData(LoanEventData):
    instalment_id: Identifier
    due_date: IsoDate
    amount: PositiveMoney
    currency: Currency
    components: InstalmentComponents | None = None
    outstanding_balance: NonNegativeMoney
    """The loan's exposure; the 1% default-materiality test uses the latest value."""


class DirectDebitCollectedData(LoanEventData):
    instalment_id: Identifier | None = None
    end_to_end_id: Identifier
    mandate_id: Identifier
    bank_reference: Identifier
    booking_date: IsoDate
    amount: PositiveMoney
    currency: Currency
    debtor_iban: Iban | None = None


class DirectDebitFailureData(LoanEventData):
    """What every failed direct debit carries: the collection it concerns and why it failed."""

    end_to_end_id: Identifier
    mandate_id: Identifier
    bank_reference: Identifier | None = None
    booking_date: IsoDate
    amount: PositiveMoney
    currency: Currency
    reason_code: ReasonCode
    reason_category: ReasonCategory = Field(default_factory=derived_category)
    """Filled from ``reason_code`` when absent; a mismatch is rejected."""

    @field_validator("reason_category")
    @classmethod
    def _matches_code(cls, value: ReasonCategory, info: ValidationInfo) -> ReasonCategory:
        check_category(value, info.data)
        return value


class DirectDebitRejectedData(DirectDebitFailureData):
    """pain.002 RJCT: the debit failed before settlement, money never moved."""


class DirectDebitReversalData(DirectDebitFailureData):
    """A settled collection undone later; ``end_to_end_id`` names the collection."""

    bank_reference: Identifier


class DirectDebitReturnedData(DirectDebitReversalData):
    """R-transaction by the debtor's bank after settlement (up to 5 business days)."""


class DirectDebitRefundedData(DirectDebitReversalData):
    """Refund requested by the debtor (e.g. MD06); reopens the instalment from its
    original due date."""


class PaymentReceivedData(LoanEventData):
    """A manual transfer by the client."""

    bank_reference: Identifier
    end_to_end_id: Identifier | None = None
    booking_date: IsoDate
    amount: PositiveMoney
    currency: Currency


class PaymentPauseAgreedData(LoanEventData):
    """Instalments due in ``[start_date, end_date]`` are suspended while the pause lasts."""

    pause_id: Identifier
    start_date: IsoDate
    end_date: IsoDate

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and value < start:
            raise PydanticCustomError("date_order", "must not be before start_date")
        return value


class PaymentPauseEndedData(LoanEventData):
    pause_id: Identifier
    end_date: IsoDate


class LoanRestructuredData(LoanEventData):
    restructure_id: Identifier
    effective_date: IsoDate
    outstanding_balance: PositiveMoney
    distressed: Annotated[bool, Strict()]
    """A distressed restructuring extends the default probation to one year."""


class BusinessDayClosedData(ContractModel):
    """End-of-day tick that drives the event-time clock. Not about one loan: it is
    published to every partition, without a key."""

    business_date: IsoDate
    calendar: Literal["TARGET2"]


# --- envelopes ------------------------------------------------------------------------


class PaymentEnvelope(Envelope):
    dataschema: Literal["urn:nazorg:schema:payments.events:v1"] = PAYMENTS_DATASCHEMA


class InstalmentDue(PaymentEnvelope):
    type: Literal["instalment_due"]
    data: InstalmentDueData


class DirectDebitCollected(PaymentEnvelope):
    type: Literal["direct_debit_collected"]
    data: DirectDebitCollectedData


class DirectDebitRejected(PaymentEnvelope):
    type: Literal["direct_debit_rejected"]
    data: DirectDebitRejectedData


class DirectDebitReturned(PaymentEnvelope):
    type: Literal["direct_debit_returned"]
    data: DirectDebitReturnedData


class DirectDebitRefunded(PaymentEnvelope):
    type: Literal["direct_debit_refunded"]
    data: DirectDebitRefundedData


class PaymentReceived(PaymentEnvelope):
    type: Literal["payment_received"]
    data: PaymentReceivedData


class PaymentPauseAgreed(PaymentEnvelope):
    type: Literal["payment_pause_agreed"]
    data: PaymentPauseAgreedData


class PaymentPauseEnded(PaymentEnvelope):
    type: Literal["payment_pause_ended"]
    data: PaymentPauseEndedData


class LoanRestructured(PaymentEnvelope):
    type: Literal["loan_restructured"]
    data: LoanRestructuredData


class BusinessDayClosed(PaymentEnvelope):
    type: Literal["business_day_closed"]
    data: BusinessDayClosedData


LoanPaymentEvent = (
    InstalmentDue
    | DirectDebitCollected
    | DirectDebitRejected
    | DirectDebitReturned
    | DirectDebitRefunded
    | PaymentReceived
    | PaymentPauseAgreed
    | PaymentPauseEnded
    | LoanRestructured
)
"""Every payment event that belongs to one loan (all but ``business_day_closed``)."""

PaymentEvent = Annotated[LoanPaymentEvent | BusinessDayClosed, Field(discriminator="type")]
"""Any message on payments.events.v1, discriminated by ``type``."""

PaymentEventType = Literal[
    "instalment_due",
    "direct_debit_collected",
    "direct_debit_rejected",
    "direct_debit_returned",
    "direct_debit_refunded",
    "payment_received",
    "payment_pause_agreed",
    "payment_pause_ended",
    "loan_restructured",
    "business_day_closed",
]

PAYMENT_EVENT_ADAPTER: Final[TypeAdapter[PaymentEvent]] = TypeAdapter(
    PaymentEvent, config=ConfigDict(hide_input_in_errors=True)
)
"""Validates any payment event; the union itself needs ``hide_input_in_errors`` too."""
