"""ISO 20022 import: camt.054 and pain.002 files to canonical payment events.

``import_files(paths, directory)`` parses (safely) and maps; it never publishes. Each
``ImportResult`` holds validated events, skipped entries and per-entry errors whose counts
always add up. See docs/iso20022.md for the mapping, the policy for bad entries and the
security measures.
"""

from services.ingest.iso20022.dead_letters import (
    entry_dead_letter,
    file_dead_letter,
    file_payload,
)
from services.ingest.iso20022.importer import import_bytes, import_file, import_files
from services.ingest.iso20022.mandates import (
    CsvMandateDirectory,
    DirectoryError,
    InMemoryMandateDirectory,
    LoanRef,
    MandateDirectory,
)
from services.ingest.iso20022.options import DEFAULT_OPTIONS, ImportOptions
from services.ingest.iso20022.result import EntryError, FileError, ImportResult, SkippedEntry

__all__ = [
    "DEFAULT_OPTIONS",
    "CsvMandateDirectory",
    "DirectoryError",
    "EntryError",
    "FileError",
    "ImportOptions",
    "ImportResult",
    "InMemoryMandateDirectory",
    "LoanRef",
    "MandateDirectory",
    "SkippedEntry",
    "entry_dead_letter",
    "file_dead_letter",
    "file_payload",
    "import_bytes",
    "import_file",
    "import_files",
]
