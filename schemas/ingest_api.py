"""HTTP bodies of the ingest API (``POST /v1/events``).

Each event of a batch is judged on its own, so one bad event never hides the fate of the
others: the response lists one ``IngestResult`` per submitted event, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final, Literal, Self

from pydantic import Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from schemas.base import ContractModel
from schemas.identifiers import Code, Identifier

WHOLE_EVENT: Final = "$"
"""``FieldError.loc`` of a problem with the event as a whole (not JSON, not an object)."""

Count = Annotated[int, Strict(), Field(ge=0)]
IngestStatus = Literal["accepted", "duplicate", "rejected"]


class FieldError(ContractModel):
    """One problem with one field; never contains the offending value (it may be PII)."""

    loc: Annotated[str, Strict(), Field(min_length=1, max_length=512)]
    """Dotted path into the event, e.g. ``data.amount`` or ``data.loan_ids.1``; ``$`` for
    the event as a whole. ``schemas.errors.field_errors`` builds these from pydantic."""
    msg: Annotated[str, Strict(), Field(min_length=1, max_length=1024)]


class IngestResult(ContractModel):
    """The fate of the event at ``index`` in the submitted batch."""

    index: Count
    event_id: Identifier | None = None
    """The event's ``id`` when it could be read."""
    status: IngestStatus
    errors: tuple[FieldError, ...] = ()
    """Why it was rejected; empty unless ``status`` is ``rejected``."""

    @model_validator(mode="after")
    def _errors_iff_rejected(self) -> Self:
        if (self.status == "rejected") != bool(self.errors):
            raise PydanticCustomError(
                "errors_status", "errors are given exactly when the status is rejected"
            )
        return self


class IngestResponse(ContractModel):
    """Results for a whole batch plus the counts, which must agree with the results."""

    results: tuple[IngestResult, ...]
    received: Count
    accepted: Count
    duplicate: Count
    rejected: Count

    @classmethod
    def from_results(cls, results: Sequence[IngestResult]) -> IngestResponse:
        """Build the response with counts derived from ``results`` (in batch order)."""
        statuses = [result.status for result in results]
        return cls(
            results=tuple(results),
            received=len(statuses),
            accepted=statuses.count("accepted"),
            duplicate=statuses.count("duplicate"),
            rejected=statuses.count("rejected"),
        )

    @model_validator(mode="after")
    def _counts_agree(self) -> Self:
        if [result.index for result in self.results] != list(range(len(self.results))):
            raise PydanticCustomError("results_order", "results must cover indexes 0..n-1 in order")
        statuses = [result.status for result in self.results]
        counts = (self.received, self.accepted, self.duplicate, self.rejected)
        expected = (
            len(statuses),
            statuses.count("accepted"),
            statuses.count("duplicate"),
            statuses.count("rejected"),
        )
        if counts != expected:
            raise PydanticCustomError("counts", "counts do not agree with results")
        return self


class ErrorResponse(ContractModel):
    """Body of any non-2xx response (authentication, size limits, malformed batch)."""

    error: Code
    """Machine-readable, e.g. ``unauthorized``, ``payload_too_large``, ``invalid_json``."""
    detail: Annotated[str, Strict(), Field(max_length=2048)] | None = None
    """Human-readable explanation; never echoes request content."""
