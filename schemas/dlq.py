"""payments.dlq.v1: inbound payloads that could not become canonical events.

The bank's other inbound messages (pilot enrolments and contact preferences) that fit no
contract land here too, so one topic holds everything refused; ``source_topic`` says where
each came from.

Nothing the bank sent is ever dropped: it lands here with the reason, so it can be fixed
and replayed. The payload is kept verbatim (as text when it is UTF-8, else base64).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Final, Literal, Self

from pydantic import Field, Strict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from schemas.base import ContractModel
from schemas.envelope import Envelope
from schemas.identifiers import Code
from schemas.ingest_api import FieldError
from schemas.temporal import UtcDatetime

DLQ_DATASCHEMA: Final = "urn:nazorg:schema:payments.dlq:v1"

PayloadEncoding = Literal["utf-8", "base64"]
IngestSource = Literal["http", "kafka", "iso20022"]
TopicName = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
]
"""A Kafka topic name (Kafka's own rules)."""


def encode_payload(raw: bytes) -> tuple[str, PayloadEncoding]:
    """Keep ``raw`` readable when it is UTF-8, and lossless (base64) when it is not."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


class DeadLetterData(ContractModel):
    payload: Annotated[str, Strict()]
    """The original message or entry, verbatim."""
    encoding: PayloadEncoding
    errors: tuple[FieldError, ...]
    source: IngestSource
    source_topic: TopicName | None = None
    source_partition: Annotated[int, Strict(), Field(ge=0)] | None = None
    source_offset: Annotated[int, Strict(), Field(ge=0)] | None = None
    reason: Code
    """Machine-readable, e.g. ``invalid_json``, ``schema_violation``."""
    received_at: UtcDatetime
    """Wall time ingest received the payload."""

    @classmethod
    def from_bytes(
        cls,
        raw: bytes,
        *,
        errors: tuple[FieldError, ...],
        source: IngestSource,
        reason: str,
        received_at: datetime,
        source_topic: str | None = None,
        source_partition: int | None = None,
        source_offset: int | None = None,
    ) -> DeadLetterData:
        """Build a record from the raw bytes, choosing the encoding."""
        payload, encoding = encode_payload(raw)
        return cls.model_validate(
            {
                "payload": payload,
                "encoding": encoding,
                "errors": errors,
                "source": source,
                "source_topic": source_topic,
                "source_partition": source_partition,
                "source_offset": source_offset,
                "reason": reason,
                "received_at": received_at,
            }
        )

    def payload_bytes(self) -> bytes:
        """The original bytes, for replay."""
        if self.encoding == "base64":
            return base64.b64decode(self.payload, validate=True)
        return self.payload.encode("utf-8")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.encoding == "base64":
            try:
                base64.b64decode(self.payload, validate=True)
            except binascii.Error:
                raise PydanticCustomError("base64", "payload is not valid base64") from None
        kafka_fields = (self.source_topic, self.source_partition, self.source_offset)
        if self.source == "kafka" and None in kafka_fields:
            raise PydanticCustomError(
                "kafka_position", "source kafka requires source_topic, partition and offset"
            )
        if self.source != "kafka" and kafka_fields != (None, None, None):
            raise PydanticCustomError(
                "kafka_position", "source_topic, partition and offset are for source kafka"
            )
        return self


class DeadLetter(Envelope):
    """Unkeyed. ``id`` is deterministic over the source position (or the payload), so a
    redelivered bad message dead-letters once."""

    type: Literal["dead_lettered"]
    dataschema: Literal["urn:nazorg:schema:payments.dlq:v1"] = DLQ_DATASCHEMA
    data: DeadLetterData
