"""pilot.enrollments.v1: a client enters the pilot (before randomisation)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from schemas.base import ContractModel
from schemas.envelope import Envelope
from schemas.identifiers import Identifier
from schemas.temporal import IsoDate

ENROLMENTS_DATASCHEMA: Final = "urn:nazorg:schema:pilot.enrollments:v1"

Segment = Literal["prevention", "collection_struggle", "restructured", "interest_only_high_risk"]
"""Fixed at enrolment; randomisation is stratified by segment."""


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("duplicate_items", "must not contain duplicates")
    return values


class EnrolmentData(ContractModel):
    client_id: Identifier
    loan_ids: Annotated[tuple[Identifier, ...], Field(min_length=1), AfterValidator(_unique)]
    """The client's mortgage loans in the pilot; their signals count for this client."""
    segment: Segment
    enrolment_date: IsoDate


class Enrolment(Envelope):
    """Keyed by ``client_id``; the intervention service assigns the arm on receipt."""

    type: Literal["client_enrolled"]
    dataschema: Literal["urn:nazorg:schema:pilot.enrollments:v1"] = ENROLMENTS_DATASCHEMA
    data: EnrolmentData
