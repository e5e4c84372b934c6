"""What importing one file produced: canonical events, skipped entries and errors.

Every entry of a file ends up in exactly one of ``events``, ``skipped`` or ``errors``, so
``entries == len(events) + len(skipped) + len(errors)`` always holds (checked on
construction). A file that cannot be trusted as a whole has a ``file_error`` and no entries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.ingest_api import FieldError
from schemas.payments import PaymentEvent


@dataclass(frozen=True, slots=True)
class EntryError:
    """One entry that could not become a canonical event; it goes to the DLQ alone.

    ``errors`` never contain a value from the file (no IBAN, amount or name): they name the
    element and the rule. ``payload`` is the entry's XML, verbatim, for the DLQ only.
    """

    index: int
    location: str
    """XPath-like position in the file, e.g.
    ``/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]``."""
    reason: str
    """Machine-readable code, e.g. ``schema_violation`` or ``mandate_unknown``."""
    errors: tuple[FieldError, ...]
    payload: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """An entry that correctly produces no event (an accepted status, a pending booking)."""

    index: int
    location: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileError:
    """Why a whole file was rejected; nothing from it is imported."""

    reason: str
    errors: tuple[FieldError, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The outcome of importing one file. ``events`` are validated canonical events."""

    name: str
    """The path (or name) the file was imported from."""
    sha256: str | None
    """Hex digest of the file's bytes (``None`` if it could not be read)."""
    message: str | None
    """The message definition, e.g. ``camt.054.001.08``, when it was recognised."""
    message_id: str | None
    """``GrpHdr/MsgId`` when the file passed validation."""
    entries: int
    events: tuple[PaymentEvent, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    errors: tuple[EntryError, ...] = ()
    file_error: FileError | None = None

    def __post_init__(self) -> None:
        if self.entries != len(self.events) + len(self.skipped) + len(self.errors):
            raise ValueError("entries must equal events + skipped + errors")
        if self.file_error is not None and self.entries:
            raise ValueError("a rejected file has no entries")
        indexes = sorted([e.index for e in self.errors] + [s.index for s in self.skipped])
        if len(set(indexes)) != len(indexes) or any(i < 0 or i >= self.entries for i in indexes):
            raise ValueError("skipped and error indexes must be distinct entry indexes")

    @property
    def rejected(self) -> bool:
        """True when the file as a whole was refused."""
        return self.file_error is not None

    def counts(self) -> dict[str, int]:
        """The numbers an operator reads first; they always add up."""
        return {
            "entries": self.entries,
            "events": len(self.events),
            "skipped": len(self.skipped),
            "errors": len(self.errors),
        }

    def reasons(self) -> dict[str, int]:
        """Skipped and error entries by reason code (for logs and metrics: no identifiers)."""
        counted = Counter(s.reason for s in self.skipped)
        counted.update(e.reason for e in self.errors)
        if self.file_error is not None:
            counted[self.file_error.reason] += 1
        return dict(sorted(counted.items()))
