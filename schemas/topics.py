"""Topic names, message keys and the registry of every exported contract.

Names end in the contract version. A breaking change gets a new model and a new name
(``payments.events.v2``) next to the old one; a published name never changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, TypeAdapter

from schemas.actions import ActionDecision, SofieActionResponse
from schemas.dlq import DeadLetter
from schemas.enrolments import Enrolment
from schemas.envelope import Envelope
from schemas.ingest_api import ErrorResponse, IngestResponse
from schemas.outcomes import OUTCOME_EVENT_ADAPTER, OutcomeEnvelope
from schemas.payments import PAYMENT_EVENT_ADAPTER, BusinessDayClosed, LoanEventData
from schemas.preferences import ContactPreference
from schemas.signals import SIGNALS_MESSAGE_ADAPTER, ArrearsSignal, DayClosed
from schemas.sofie_api import EngagementCallback, SofieDeliveryRequest

PAYMENTS_INBOUND: Final = "payments.inbound.v1"
PAYMENT_EVENTS: Final = "payments.events.v1"
PAYMENTS_DLQ: Final = "payments.dlq.v1"
ARREARS_SIGNALS: Final = "arrears.signals.v1"
PILOT_ENROLMENTS: Final = "pilot.enrollments.v1"
PILOT_PREFERENCES: Final = "pilot.preferences.v1"
OUTCOMES: Final = "outcomes.v1"

TOPICS: Final = (
    PAYMENTS_INBOUND,
    PAYMENT_EVENTS,
    PAYMENTS_DLQ,
    ARREARS_SIGNALS,
    PILOT_ENROLMENTS,
    PILOT_PREFERENCES,
    OUTCOMES,
)
"""Every Kafka topic of nazorg."""

SchemaMode = Literal["validation", "serialization"]


@dataclass(frozen=True)
class Contract:
    """One exported contract.

    ``mode`` picks the JSON Schema flavour: ``validation`` for what we *accept* from
    others (defaulted fields may be omitted), ``serialization`` for what we *emit*
    (every field present).
    """

    name: str
    adapter: TypeAdapter[Any]
    mode: SchemaMode
    description: str


def _contract(name: str, tp: Any, mode: SchemaMode, description: str) -> Contract:
    adapter = tp if isinstance(tp, TypeAdapter) else TypeAdapter(tp)
    return Contract(name=name, adapter=adapter, mode=mode, description=description)


CONTRACTS: Final = MappingProxyType(
    {
        contract.name: contract
        for contract in (
            _contract(
                PAYMENTS_INBOUND,
                PAYMENT_EVENT_ADAPTER,
                "validation",
                "A payment event as the bank may send it (Kafka, HTTP batch item).",
            ),
            _contract(
                PAYMENT_EVENTS,
                PAYMENT_EVENT_ADAPTER,
                "serialization",
                "A canonical payment event. Key: data.loan_id; business_day_closed: no key, "
                "sent to every partition.",
            ),
            _contract(
                PAYMENTS_DLQ,
                DeadLetter,
                "serialization",
                "An inbound payload that could not be ingested. No key.",
            ),
            _contract(
                ARREARS_SIGNALS,
                SIGNALS_MESSAGE_ADAPTER,
                "serialization",
                "An arrears signal (key: data.loan_id), or a detector_day_closed progress "
                "marker (no key, sent to data.source_partition).",
            ),
            _contract(
                PILOT_ENROLMENTS,
                Enrolment,
                "validation",
                "A client enrolled in the pilot. Key: data.client_id.",
            ),
            _contract(
                PILOT_PREFERENCES,
                ContactPreference,
                "validation",
                "A client's consent (or opt-out) for one Sofie channel. Key: data.client_id.",
            ),
            _contract(
                OUTCOMES,
                OUTCOME_EVENT_ADAPTER,
                "serialization",
                "A pseudonymised pilot outcome. Key: subject.",
            ),
            _contract(
                "intervention.action_decision.v1",
                ActionDecision,
                "serialization",
                "A playbook decision as recorded by the intervention service (not a topic).",
            ),
            _contract(
                "http.ingest.response.v1",
                IngestResponse,
                "serialization",
                "Response body of POST /v1/events.",
            ),
            _contract(
                "http.error.v1",
                ErrorResponse,
                "serialization",
                "Body of any non-2xx response of our HTTP APIs.",
            ),
            _contract(
                "http.sofie.action_request.v1",
                SofieDeliveryRequest,
                "serialization",
                "Request body we send to the Sofie action API.",
            ),
            _contract(
                "http.sofie.action_response.v1",
                SofieActionResponse,
                "validation",
                "Response body we accept from the Sofie action API (unknown fields ignored).",
            ),
            _contract(
                "http.sofie.engagement_callback.v1",
                EngagementCallback,
                "validation",
                "Body of Sofie's engagement callback to our webhook.",
            ),
        )
    }
)
"""Every exported contract by name; ``schemas.export`` writes one JSON Schema per entry."""


def partition_key(message: BaseModel) -> bytes | None:
    """The Kafka key of a message: the loan for payments and signals, the client for
    enrolments, the pseudonym for outcomes; ``None`` for ticks and dead letters.

    ``business_day_closed`` has no key because it must reach every partition: the
    producer sends one copy to each partition explicitly.
    """
    if isinstance(message, BusinessDayClosed | DeadLetter | DayClosed):
        return None
    if isinstance(message, ArrearsSignal):
        return message.data.loan_id.encode("utf-8")
    if isinstance(message, Envelope) and isinstance(message.data, LoanEventData):
        return message.data.loan_id.encode("utf-8")
    if isinstance(message, Enrolment | ContactPreference):
        return message.data.client_id.encode("utf-8")
    if isinstance(message, OutcomeEnvelope):
        return message.subject.encode("utf-8")
    raise TypeError(f"{type(message).__name__} is not a message of a keyed topic")
