"""Domain events of the detector core: the canonical payments.events.v1 payloads as plain data.

Fields follow docs/briefs/contract-fields.md, plus ``event_id`` (the envelope ``id``). The
Faust shell translates validated contract models into these; the core never sees JSON,
pydantic or Kafka. Construction re-checks types and money so that a test or a shell bug
cannot smuggle a float or a datetime into the ledger, and holds every amount with exactly
two decimal places (as the contracts do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Final, Literal

from services.arrears_detector.money import normalised

Currency = Literal["EUR"]
ReasonCategory = Literal["retryable", "mandate_broken", "unknown"]
REASON_CATEGORIES: Final = frozenset({"retryable", "mandate_broken", "unknown"})


class _Checked:
    """Validation shared by every event, driven by the field lists each class declares."""

    __slots__ = ()
    _ids: ClassVar[tuple[str, ...]] = ("event_id", "loan_id", "client_id")
    _optional_ids: ClassVar[tuple[str, ...]] = ()
    _dates: ClassVar[tuple[str, ...]] = ()
    _positive: ClassVar[tuple[str, ...]] = ()
    _non_negative: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._ids:
            _check_id(getattr(self, name), name)
        for name in self._optional_ids:
            if getattr(self, name) is not None:
                _check_id(getattr(self, name), name)
        for name in self._dates:
            # datetime is a subclass of date: refuse it, event time in the core is a date.
            if type(getattr(self, name)) is not date:
                raise TypeError(
                    f"{name} must be a datetime.date, got {type(getattr(self, name)).__name__}"
                )
        for names, positive in ((self._positive, True), (self._non_negative, False)):
            for name in names:  # frozen: store the normalised amount through object
                object.__setattr__(
                    self, name, normalised(getattr(self, name), name, positive=positive)
                )
        currency = getattr(self, "currency", "EUR")
        if currency != "EUR":
            raise ValueError(f"currency must be EUR, got {currency!r}")
        code = getattr(self, "reason_code", None)
        if code is not None and (not isinstance(code, str) or len(code) != 4):
            raise ValueError("reason_code must be a 4-character ISO 20022 code")
        if getattr(self, "reason_category", "unknown") not in REASON_CATEGORIES:
            raise ValueError(f"reason_category must be one of {sorted(REASON_CATEGORIES)}")


def slot_setters(cls: type[Any]) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of a slotted dataclass, in field order.

    For hot paths that build a frozen record they have already checked: ``object.__new__``
    plus these store the fields without the frozen ``__setattr__`` and without
    ``__post_init__``, several times faster than the generated ``__init__``. Only for an
    object nobody else holds yet; the result must equal what ``cls(...)`` would build.
    """
    slots = {name: k.__dict__[name] for k in reversed(cls.__mro__) for name in k.__dict__}
    return tuple(slots[f.name].__set__ for f in fields(cls))


def _check_id(value: object, field: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise ValueError(f"{field} must be a string of 1..128 characters")


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalmentComponents(_Checked):
    _ids = ()
    _non_negative = ("principal", "interest", "fees")
    principal: Decimal
    interest: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InstalmentDue(_Checked):
    _ids = (*_Checked._ids, "instalment_id")
    _dates = ("due_date",)
    _positive = ("amount",)
    _non_negative = ("outstanding_balance",)
    event_id: str
    loan_id: str
    client_id: str
    instalment_id: str
    due_date: date
    amount: Decimal
    currency: Currency
    outstanding_balance: Decimal
    """The loan's exposure; the 1% materiality test uses the latest value."""
    components: InstalmentComponents | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectDebitCollected(_Checked):
    _ids = (*_Checked._ids, "end_to_end_id", "mandate_id", "bank_reference")
    _optional_ids = ("instalment_id",)
    _dates = ("booking_date",)
    _positive = ("amount",)
    event_id: str
    loan_id: str
    client_id: str
    end_to_end_id: str
    mandate_id: str
    bank_reference: str
    booking_date: date
    amount: Decimal
    currency: Currency
    instalment_id: str | None = None
    debtor_iban: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectDebitRejected(_Checked):
    """pain.002 RJCT: the debit failed before settlement; no money moved."""

    _ids = (*_Checked._ids, "end_to_end_id", "mandate_id")
    _optional_ids = ("bank_reference",)
    _dates = ("booking_date",)
    _positive = ("amount",)
    event_id: str
    loan_id: str
    client_id: str
    end_to_end_id: str
    mandate_id: str
    booking_date: date
    amount: Decimal
    currency: Currency
    reason_code: str
    reason_category: ReasonCategory
    bank_reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Reversal(_Checked):
    """A settled collection undone later; ``end_to_end_id`` names that collection."""

    _ids = (*_Checked._ids, "end_to_end_id", "mandate_id", "bank_reference")
    _dates = ("booking_date",)
    _positive = ("amount",)
    event_id: str
    loan_id: str
    client_id: str
    end_to_end_id: str
    mandate_id: str
    bank_reference: str
    booking_date: date
    amount: Decimal
    currency: Currency
    reason_code: str
    reason_category: ReasonCategory


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectDebitReturned(_Reversal):
    """R-transaction by the debtor's bank after settlement (up to 5 business days)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectDebitRefunded(_Reversal):
    """Refund requested by the debtor (MD06 up to 8 weeks, 13 months if unauthorised)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentReceived(_Checked):
    """A manual transfer by the client."""

    _ids = (*_Checked._ids, "bank_reference")
    _optional_ids = ("end_to_end_id",)
    _dates = ("booking_date",)
    _positive = ("amount",)
    event_id: str
    loan_id: str
    client_id: str
    bank_reference: str
    booking_date: date
    amount: Decimal
    currency: Currency
    end_to_end_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentPauseAgreed(_Checked):
    """Instalments due in ``[start_date, end_date]`` are suspended (see the ADR)."""

    _ids = (*_Checked._ids, "pause_id")
    _dates = ("start_date", "end_date")
    event_id: str
    loan_id: str
    client_id: str
    pause_id: str
    start_date: date
    end_date: date

    def __post_init__(self) -> None:
        super(PaymentPauseAgreed, self).__post_init__()  # explicit: slots=True rebuilds the class
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentPauseEnded(_Checked):
    _ids = (*_Checked._ids, "pause_id")
    _dates = ("end_date",)
    event_id: str
    loan_id: str
    client_id: str
    pause_id: str
    end_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanRestructured(_Checked):
    _ids = (*_Checked._ids, "restructure_id")
    _dates = ("effective_date",)
    _positive = ("outstanding_balance",)
    event_id: str
    loan_id: str
    client_id: str
    restructure_id: str
    effective_date: date
    outstanding_balance: Decimal
    distressed: bool

    def __post_init__(self) -> None:
        super(LoanRestructured, self).__post_init__()  # explicit: slots=True rebuilds the class
        if not isinstance(self.distressed, bool):
            raise TypeError("distressed must be a bool")


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessDayClosed(_Checked):
    """End-of-day tick of one partition: drives the event-time clock. No loan."""

    _ids = ("event_id",)
    _dates = ("business_date",)
    event_id: str
    business_date: date
    calendar: Literal["TARGET2"] = "TARGET2"

    def __post_init__(self) -> None:
        super(BusinessDayClosed, self).__post_init__()  # explicit: slots=True rebuilds the class
        if self.calendar != "TARGET2":
            raise ValueError("calendar must be TARGET2")


LoanEvent = (
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
"""Events about one loan (keyed by ``loan_id``)."""

DomainEvent = LoanEvent | BusinessDayClosed
"""Everything on payments.events.v1, as the core sees it."""
