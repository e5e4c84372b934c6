"""``import_files``: ISO 20022 files to canonical events, per-entry errors and counts.

Parsing and mapping only; publishing is the caller's (``result.events`` with
``services.ingest.publisher.Publisher``, ``result.errors`` to the DLQ). Policy for a file with
one bad entry (docs/iso20022.md): the bad entry is dead-lettered and the others are imported;
only a file that cannot be trusted as a whole (unsafe, malformed, wrong message, invalid
outside its entries) is rejected entirely.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from xml.etree import ElementTree

from schemas.ingest_api import FieldError
from schemas.payments import PaymentEvent
from services.ingest.iso20022 import camt054, pain002
from services.ingest.iso20022.canonical import to_event
from services.ingest.iso20022.decoding import Document, DocumentError, decode
from services.ingest.iso20022.mandates import MandateDirectory
from services.ingest.iso20022.options import DEFAULT_OPTIONS, ImportOptions
from services.ingest.iso20022.outcomes import INTERNAL_ERROR, Draft, Failure, Skip, Unit, fail
from services.ingest.iso20022.result import (
    EntryError,
    FileError,
    ImportResult,
    SkippedEntry,
)
from services.ingest.iso20022.safe_xml import UnsafeXmlError, parse, read_bounded

log = logging.getLogger(__name__)


def import_files(
    paths: Iterable[str | os.PathLike[str]],
    directory: MandateDirectory,
    *,
    options: ImportOptions = DEFAULT_OPTIONS,
) -> list[ImportResult]:
    """One result per path, in order; a rejected file never stops the others."""
    return [import_file(path, directory, options=options) for path in paths]


def import_file(
    path: str | os.PathLike[str],
    directory: MandateDirectory,
    *,
    options: ImportOptions = DEFAULT_OPTIONS,
) -> ImportResult:
    """Read ``path`` (bounded, regular files only) and import it."""
    name = os.fspath(path)
    try:
        data = read_bounded(path, options.max_bytes)
    except UnsafeXmlError as exc:
        return _rejected(name, None, None, exc.reason, (FieldError(loc="$", msg=exc.message),))
    return import_bytes(data, directory, name=name, options=options)


def import_bytes(
    data: bytes,
    directory: MandateDirectory,
    *,
    name: str = "<bytes>",
    options: ImportOptions = DEFAULT_OPTIONS,
) -> ImportResult:
    """Import a file already in memory (the same checks, except the file-type check)."""
    sha256 = hashlib.sha256(data).hexdigest()
    message: str | None = None
    try:
        root = parse(
            data,
            max_bytes=options.max_bytes,
            max_depth=options.max_depth,
            max_elements=options.max_elements,
        )
        document = decode(root, max_field_errors=options.max_field_errors)
        message = document.spec.name
        units = _map(document, directory, options)
    except UnsafeXmlError as exc:
        return _rejected(name, sha256, message, exc.reason, (FieldError(loc="$", msg=exc.message),))
    except DocumentError as exc:
        return _rejected(name, sha256, message, exc.reason, exc.errors)
    except Exception:
        log.exception("iso20022 import failed unexpectedly", extra={"file": name})
        return _rejected(
            name, sha256, message, INTERNAL_ERROR, (FieldError(loc="$", msg="unexpected error"),)
        )
    result = _collect(name, sha256, document, units)
    _log_summary(result)
    return result


def _map(document: Document, directory: MandateDirectory, options: ImportOptions) -> list[Unit]:
    if document.spec.kind == "camt.054":
        return camt054.map_document(document, directory, options)
    return pain002.map_document(document, directory, options)


def _collect(name: str, sha256: str, document: Document, units: list[Unit]) -> ImportResult:
    events: list[PaymentEvent] = []
    skipped: list[SkippedEntry] = []
    errors: list[EntryError] = []
    seen: dict[str, PaymentEvent] = {}
    for index, unit in enumerate(units):
        outcome = _settle(unit, document.spec.kind, seen)
        if isinstance(outcome, Skip):
            skipped.append(SkippedEntry(index, unit.location, outcome.reason))
        elif isinstance(outcome, Failure):
            payload = _payload(unit.element)
            errors.append(EntryError(index, unit.location, outcome.reason, outcome.errors, payload))
        else:
            events.append(outcome)
    return ImportResult(
        name=name,
        sha256=sha256,
        message=document.spec.name,
        message_id=document.header_text("GrpHdr", "MsgId"),
        entries=len(units),
        events=tuple(events),
        skipped=tuple(skipped),
        errors=tuple(errors),
    )


def _settle(unit: Unit, kind: str, seen: dict[str, PaymentEvent]) -> PaymentEvent | Skip | Failure:
    """The unit's event after contract validation, or why there is none.

    The same booking twice in one file is imported once; the same id with different content
    is a conflict an operator must look at.
    """
    if not isinstance(unit.outcome, Draft):
        return unit.outcome
    event = to_event(unit.outcome, kind, unit.location)
    if isinstance(event, Failure):
        return event
    first = seen.setdefault(event.id, event)
    if first is event:
        return event
    if first == event:
        return Skip("duplicate_in_file")
    return fail(
        "conflicting_duplicate",
        unit.location,
        "same event id as an earlier entry with different content",
    )


def _payload(element: ElementTree.Element) -> bytes:
    """The entry's XML for the DLQ: self-contained (it declares its namespace) and with the
    original content; only namespace prefixes may differ from the file."""
    return ElementTree.tostring(element, encoding="unicode").rstrip().encode()


def _rejected(
    name: str,
    sha256: str | None,
    message: str | None,
    reason: str,
    errors: tuple[FieldError, ...],
) -> ImportResult:
    log.warning(
        "iso20022 file rejected",
        extra={"file": name, "sha256": sha256, "message_definition": message, "reason": reason},
    )
    return ImportResult(
        name=name,
        sha256=sha256,
        message=message,
        message_id=None,
        entries=0,
        file_error=FileError(reason, errors),
    )


def _log_summary(result: ImportResult) -> None:
    for skip in result.skipped:
        log.debug(
            "iso20022 entry skipped",
            extra={"file": result.name, "location": skip.location, "reason": skip.reason},
        )
    for error in result.errors:
        log.info(
            "iso20022 entry dead-lettered",
            extra={"file": result.name, "location": error.location, "reason": error.reason},
        )
    log.info(
        "iso20022 file imported",
        extra={
            "file": result.name,
            "sha256": result.sha256,
            "message_definition": result.message,
            **result.counts(),
            "reasons": result.reasons(),
        },
    )
