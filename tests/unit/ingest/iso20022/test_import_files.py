"""``import_files``: one result per file, whole-file rejections, and clean logs."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from services.ingest.iso20022 import ImportOptions, ImportResult, import_bytes, import_files
from services.ingest.iso20022.mandates import MandateDirectory
from tests.unit.ingest.iso20022.builders import CAMT08, camt, ntry, tx
from tests.unit.ingest.iso20022.support import FIXTURES, fixture_path


def test_one_result_per_path_in_order(directory: MandateDirectory, tmp_path: Path) -> None:
    paths = [
        fixture_path("camt054_returns.xml"),
        tmp_path / "missing.xml",
        fixture_path("attack_billion_laughs.xml"),
        fixture_path("pain002_rejects.xml"),
    ]
    results = import_files(paths, directory)
    assert [r.name for r in results] == [str(p) for p in paths]
    assert [r.file_error.reason if r.file_error else None for r in results] == [
        None,
        "file_unreadable",
        "dtd_forbidden",
        None,
    ]
    assert results[0].sha256 == hashlib.sha256(paths[0].read_bytes()).hexdigest()
    assert results[1].sha256 is None
    assert [len(r.events) for r in results] == [3, 0, 0, 2]


@pytest.mark.parametrize(
    ("data", "reason", "loc"),
    [
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>',
            "unsupported_message",
            "/Document",
        ),
        (b"<Document/>", "unsupported_message", "/Document"),
        (
            f'<BkToCstmrDbtCdtNtfctn xmlns="{CAMT08}"/>'.encode(),
            "unsupported_message",
            "/Document",
        ),
        (
            camt(ntry(tx())).replace(b"<MsgId>MSG-1</MsgId>", b""),
            "schema_violation",
            "/Document/BkToCstmrDbtCdtNtfctn/GrpHdr",
        ),
        (
            # An entry before the account: the frame is wrong, not the entry.
            camt(ntry(tx()))
            .replace(b"<Acct><Id><IBAN>NL80RABO0301875419</IBAN></Id></Acct>", b"")
            .replace(
                b"</Ntfctn>", b"<Acct><Id><IBAN>NL80RABO0301875419</IBAN></Id></Acct></Ntfctn>"
            ),
            "schema_violation",
            "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn",
        ),
        (
            camt(ntry(tx()), created="2026-03-02T24:00:00"),
            "creation_date_unsupported",
            "/Document/BkToCstmrDbtCdtNtfctn/GrpHdr/CreDtTm",
        ),
    ],
)
def test_files_that_cannot_be_trusted_as_a_whole(
    directory: MandateDirectory, data: bytes, reason: str, loc: str
) -> None:
    result = import_bytes(data, directory)
    assert result.file_error is not None
    assert (result.file_error.reason, result.file_error.errors[0].loc) == (reason, loc)
    assert result.entries == 0
    assert not result.events


def test_entry_errors_are_capped(directory: MandateDirectory) -> None:
    bad = ntry(tx()).replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts><Cd>BOOK</Cd></Sts>" + "<X/>" * 30)
    result = import_bytes(camt(bad), directory, options=ImportOptions(max_field_errors=3))
    assert len(result.errors) == 1
    messages = [e.msg for e in result.errors[0].errors]
    assert len(messages) == 4
    assert messages[-1].startswith("and ")


SENSITIVE = [
    # IBANs, names, amounts, identifiers of clients and loans in the samples
    "NL37ABNA0518362947",
    "NL14INGB0006843215",
    "NL84SNSB0917464028",
    "NL79TRIO0390571832",
    "NL84ASNB0707215689",
    "NL38KNAB0255839146",
    "NL62BUNQ2049317755",
    "de Vries",
    "Jansen",
    "1187.43",
    "1.043,55",
    "L-2026-0001",
    "C-0001",
    "NZH-MDT",
    "NZH-2026-0",
    "RABO2026",
]


def test_logs_carry_no_client_data(
    directory: MandateDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.ingest.iso20022")
    results: list[ImportResult] = import_files(sorted(FIXTURES.glob("*.xml")), directory)
    assert sum(len(r.events) for r in results) > 0
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(str(v) for v in vars(record).values())
        for secret in SENSITIVE:
            assert secret not in text, (secret, record.getMessage())


def test_error_messages_carry_no_file_content(directory: MandateDirectory) -> None:
    results = import_files(sorted(FIXTURES.glob("*.xml")), directory)
    for result in results:
        details = [*(result.file_error.errors if result.file_error else ())]
        for error in result.errors:
            details.extend(error.errors)
        for detail in details:
            for secret in SENSITIVE:
                assert secret not in detail.msg
