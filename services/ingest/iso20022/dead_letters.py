"""``DeadLetter`` records (payments.dlq.v1) for what an import could not turn into events.

Built with ingest's own ``dead_letter`` so that every input path shares one id recipe and
one payload limit. An entry error carries the entry's own XML as payload, so it can be fixed
and replayed on its own; the same bad entry (in the same or a re-sent file) gets the same id
and is dead-lettered once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from schemas.dlq import DeadLetter
from schemas.ingest_api import FieldError
from services.ingest.iso20022.result import EntryError, ImportResult
from services.ingest.iso20022.safe_xml import UnsafeXmlError, read_bounded

SOURCE: Final = "iso20022"


def entry_dead_letter(
    error: EntryError, *, received_at: datetime, max_payload_bytes: int | None = None
) -> DeadLetter:
    """The DLQ record for one entry that could not be imported."""
    from services.ingest.deadletter import dead_letter  # pulls in kafka-python: only here

    return dead_letter(
        error.payload,
        errors=error.errors or (FieldError(loc=error.location, msg=error.reason),),
        reason=error.reason,
        source=SOURCE,
        received_at=received_at,
        max_payload_bytes=max_payload_bytes,
    )


def file_dead_letter(
    result: ImportResult,
    payload: bytes,
    *,
    received_at: datetime,
    max_payload_bytes: int | None = None,
) -> DeadLetter:
    """The DLQ record for a refused file; ``payload`` is usually ``file_payload(result, …)``."""
    from services.ingest.deadletter import dead_letter  # pulls in kafka-python: only here

    if result.file_error is None:
        raise ValueError("the file was not rejected")
    return dead_letter(
        payload,
        errors=result.file_error.errors,
        reason=result.file_error.reason,
        source=SOURCE,
        received_at=received_at,
        max_payload_bytes=max_payload_bytes,
    )


def file_payload(result: ImportResult, max_bytes: int) -> bytes:
    """What a refused file's dead letter carries: the file itself when it is a regular file of
    at most ``max_bytes`` (read with the same bounds as an import), otherwise a one-line
    reference by name and SHA-256, and the caller keeps the file in quarantine."""
    try:
        return read_bounded(result.name, max_bytes)
    except UnsafeXmlError as exc:
        return (
            f"iso20022 file not attached ({exc.reason}): name={result.name} sha256={result.sha256}"
        ).encode()
