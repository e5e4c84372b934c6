"""DLQ records for dead-lettered entries and rejected files validate and replay."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.codec import decode_dead_letter, encode
from services.ingest.iso20022 import (
    ImportResult,
    entry_dead_letter,
    file_dead_letter,
    file_payload,
    import_file,
)
from services.ingest.iso20022.mandates import MandateDirectory
from tests.unit.ingest.iso20022.support import fixture_path

RECEIVED = datetime(2026, 4, 1, 18, 30, tzinfo=UTC)


def test_entry_dead_letter(imported: dict[str, ImportResult]) -> None:
    error = imported["camt054_one_bad_entry.xml"].errors[0]
    letter = entry_dead_letter(error, received_at=RECEIVED)
    assert letter.type == "dead_lettered"
    assert letter.source == "nazorg/ingest"
    assert letter.data.source == "iso20022"
    assert letter.data.reason == "schema_violation"
    assert letter.data.encoding == "utf-8"
    assert letter.data.payload_bytes() == error.payload
    assert [(e.loc, e.msg) for e in letter.data.errors] == [
        (
            "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/Amt",
            "value is not a valid xs:decimal",
        )
    ]
    assert decode_dead_letter(encode(letter)) == letter  # it survives the wire
    again = entry_dead_letter(error, received_at=datetime(2026, 4, 2, tzinfo=UTC))
    assert again.id == letter.id  # the same bad entry dead-letters once


def test_entry_dead_letter_respects_the_payload_limit(imported: dict[str, ImportResult]) -> None:
    error = imported["camt054_one_bad_entry.xml"].errors[0]
    letter = entry_dead_letter(error, received_at=RECEIVED, max_payload_bytes=100)
    assert letter.data.payload_bytes() == error.payload[:100]
    assert letter.data.errors[-1].msg.startswith("payload cut to its first 100 of ")


def test_file_dead_letter(directory: MandateDirectory) -> None:
    path = fixture_path("attack_billion_laughs.xml")
    result = import_file(path, directory)
    letter = file_dead_letter(result, path.read_bytes(), received_at=RECEIVED)
    assert letter.data.reason == "dtd_forbidden"
    assert letter.data.payload_bytes() == path.read_bytes()
    assert decode_dead_letter(encode(letter)) == letter


def test_file_payload_attaches_small_regular_files_only(
    directory: MandateDirectory, tmp_path: Path
) -> None:
    path = fixture_path("attack_xxe_file.xml")
    result = import_file(path, directory)
    assert file_payload(result, 10_000) == path.read_bytes()
    reference = file_payload(result, 100)
    assert reference.startswith(b"iso20022 file not attached (file_too_large): name=")
    assert result.sha256 is not None
    assert result.sha256.encode() in reference
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    piped = import_file(fifo, directory)
    assert file_payload(piped, 10_000).startswith(b"iso20022 file not attached (not_a_regular")


def test_file_dead_letter_needs_a_rejected_file(imported: dict[str, ImportResult]) -> None:
    with pytest.raises(ValueError, match="not rejected"):
        file_dead_letter(imported["camt054_returns.xml"], b"", received_at=RECEIVED)
