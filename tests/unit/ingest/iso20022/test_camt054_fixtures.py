"""Every camt.054 sample file maps to exactly these canonical events, field by field."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from services.ingest.iso20022 import EntryError, ImportResult, SkippedEntry
from tests.unit.ingest.iso20022.support import event_json, iso_id

NTFCTN = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]"
CAMT = "bank/iso20022/camt.054"


def envelope(event_id: str, event_type: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": CAMT,
        "type": event_type,
        "time": time,
        "dataschema": "urn:nazorg:schema:payments.events:v1",
        "datacontenttype": "application/json",
        "producedtime": None,
        "subject": None,
        "data": data,
    }


def test_collections(imported: dict[str, ImportResult]) -> None:
    result = imported["camt054_collections.xml"]
    assert result.file_error is None
    assert result.message == "camt.054.001.08"
    assert result.message_id == "RABO-C054-20260302-000017"
    assert [event_json(e) for e in result.events] == [
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_collected",
                "NZH-2026-03-000101",
                "RABO20260302C0000141",
                "",
            ),
            "direct_debit_collected",
            "2026-03-01T23:00:00Z",  # 2 March 00:00 in Amsterdam (CET, +01:00)
            {
                "loan_id": "L-2026-000101",
                "client_id": "C-000101",
                "instalment_id": None,
                "end_to_end_id": "NZH-2026-03-000101",
                "mandate_id": "NZH-MDT-000101",
                "bank_reference": "RABO20260302C0000141",
                "booking_date": "2026-03-02",
                "amount": "1187.43",
                "currency": "EUR",
                "debtor_iban": "NL37ABNA0518362947",
            },
        ),
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_collected",
                "NZH-2026-03-000102",
                "RABO20260302C0000142-1",
                "",
            ),
            "direct_debit_collected",
            "2026-03-01T23:00:00Z",
            {
                "loan_id": "L-2026-000102",
                "client_id": "C-000102",
                "instalment_id": None,
                "end_to_end_id": "NZH-2026-03-000102",
                "mandate_id": "NZH-MDT-000102",
                "bank_reference": "RABO20260302C0000142-1",
                "booking_date": "2026-03-02",
                "amount": "1043.55",
                "currency": "EUR",
                "debtor_iban": "NL14INGB0006843215",
            },
        ),
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_collected",
                "NZH-2026-03-000103",
                "RABO20260302C0000142-2",
                "",
            ),
            "direct_debit_collected",
            "2026-03-01T23:00:00Z",
            {
                "loan_id": "L-2026-000103",
                "client_id": "C-000103",
                "instalment_id": None,
                "end_to_end_id": "NZH-2026-03-000103",
                "mandate_id": "NZH-MDT-000103",
                "bank_reference": "RABO20260302C0000142-2",
                "booking_date": "2026-03-02",
                "amount": "1183.42",
                "currency": "EUR",
                "debtor_iban": "NL84SNSB0917464028",
            },
        ),
        envelope(
            # Only NtryRef: unique within its notification, so qualified by Ntfctn/Id.
            iso_id(
                "camt.054",
                "direct_debit_collected",
                "NZH-2026-03-000104",
                "RABO-NTF-20260302-000017:000003",
                "",
            ),
            "direct_debit_collected",
            "2026-03-01T23:00:00Z",
            {
                "loan_id": "L-2026-000104",
                "client_id": "C-000104",
                "instalment_id": None,
                "end_to_end_id": "NZH-2026-03-000104",
                "mandate_id": "NZH-MDT-000104",
                "bank_reference": "RABO-NTF-20260302-000017:000003",
                "booking_date": "2026-03-02",
                "amount": "956.10",
                "currency": "EUR",
                "debtor_iban": "NL79TRIO0390571832",
            },
        ),
    ]
    assert result.skipped == (SkippedEntry(4, f"{NTFCTN}/Ntry[4]", "not_booked"),)
    assert result.errors == ()
    assert result.counts() == {"entries": 5, "events": 4, "skipped": 1, "errors": 0}


def test_returns_am04_ms03_ac04(imported: dict[str, ImportResult]) -> None:
    result = imported["camt054_returns.xml"]
    common = {"booking_date": "2026-03-05", "currency": "EUR"}
    assert [event_json(e) for e in result.events] == [
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_returned",
                "NZH-2026-03-000101",
                "RABO20260305D0000311",
                "",
            ),
            "direct_debit_returned",
            "2026-03-04T23:00:00Z",
            {
                "loan_id": "L-2026-000101",
                "client_id": "C-000101",
                "end_to_end_id": "NZH-2026-03-000101",
                "mandate_id": "NZH-MDT-000101",
                "bank_reference": "RABO20260305D0000311",
                "booking_date": "2026-03-05",
                "amount": "1187.43",
                "currency": "EUR",
                "reason_code": "AM04",
                "reason_category": "retryable",
            },
        ),
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_returned",
                "NZH-2026-03-000102",
                "RABO20260305D0000312",
                "",
            ),
            "direct_debit_returned",
            "2026-03-04T23:00:00Z",
            {
                "loan_id": "L-2026-000102",
                "client_id": "C-000102",
                "end_to_end_id": "NZH-2026-03-000102",
                "mandate_id": "NZH-MDT-000102",
                "bank_reference": "RABO20260305D0000312",
                **common,
                "amount": "1043.55",
                "reason_code": "MS03",
                "reason_category": "retryable",
            },
        ),
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_returned",
                "NZH-2026-03-000103",
                "RABO20260305D0000313",
                "",
            ),
            "direct_debit_returned",
            "2026-03-04T23:00:00Z",
            {
                "loan_id": "L-2026-000103",
                "client_id": "C-000103",
                "end_to_end_id": "NZH-2026-03-000103",
                "mandate_id": "NZH-MDT-000103",
                "bank_reference": "RABO20260305D0000313",
                **common,
                "amount": "1183.42",
                "reason_code": "AC04",
                "reason_category": "mandate_broken",
            },
        ),
    ]
    assert result.counts() == {"entries": 3, "events": 3, "skipped": 0, "errors": 0}


def test_refund_md06(imported: dict[str, ImportResult]) -> None:
    result = imported["camt054_refund.xml"]
    assert [event_json(e) for e in result.events] == [
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_refunded",
                "NZH-2026-03-000104",
                "RABO20260414D0000027",
                "",
            ),
            "direct_debit_refunded",
            "2026-04-13T22:00:00Z",  # 14 April 00:00 in Amsterdam (CEST, +02:00)
            {
                "loan_id": "L-2026-000104",
                "client_id": "C-000104",
                "end_to_end_id": "NZH-2026-03-000104",
                "mandate_id": "NZH-MDT-000104",
                "bank_reference": "RABO20260414D0000027",
                "booking_date": "2026-04-14",
                "amount": "956.10",
                "currency": "EUR",
                "reason_code": "MD06",
                "reason_category": "retryable",
            },
        )
    ]
    assert result.counts() == {"entries": 1, "events": 1, "skipped": 0, "errors": 0}


def test_manual_transfers(imported: dict[str, ImportResult]) -> None:
    result = imported["camt054_transfers.xml"]
    assert [event_json(e) for e in result.events] == [
        envelope(
            # NOTPROVIDED is no end-to-end id: the id rests on the bank reference alone.
            iso_id("camt.054", "payment_received", "", "RABO20260309C0000402", ""),
            "payment_received",
            "2026-03-08T23:00:00Z",
            {
                "loan_id": "L-2026-000106",  # from "lening l-2026-000106." in Ustrd
                "client_id": "C-000106",
                "bank_reference": "RABO20260309C0000402",
                "end_to_end_id": None,
                "booking_date": "2026-03-09",
                "amount": "1250.00",
                "currency": "EUR",
            },
        ),
        envelope(
            iso_id(
                "camt.054", "payment_received", "ABNA-20260309-7F3C2E91", "RABO20260309C0000403", ""
            ),
            "payment_received",
            "2026-03-08T23:00:00Z",
            {
                "loan_id": "L-2026-000101",  # from Strd/CdtrRefInf/Ref
                "client_id": "C-000101",
                "bank_reference": "RABO20260309C0000403",
                "end_to_end_id": "ABNA-20260309-7F3C2E91",
                "booking_date": "2026-03-09",
                "amount": "1187.43",
                "currency": "EUR",
            },
        ),
    ]
    assert result.skipped == (SkippedEntry(2, f"{NTFCTN}/Ntry[3]", "not_a_client_payment"),)
    assert result.counts() == {"entries": 3, "events": 2, "skipped": 1, "errors": 0}


def test_one_bad_entry_is_dead_lettered_and_the_rest_imported(
    imported: dict[str, ImportResult],
) -> None:
    result = imported["camt054_one_bad_entry.xml"]
    assert result.file_error is None
    assert [event_json(e) for e in result.events] == [
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_collected",
                "NZH-2026-04-000101",
                "RABO20260401C0000188",
                "",
            ),
            "direct_debit_collected",
            "2026-03-31T22:00:00Z",
            {
                "loan_id": "L-2026-000101",
                "client_id": "C-000101",
                "instalment_id": None,
                "end_to_end_id": "NZH-2026-04-000101",
                "mandate_id": "NZH-MDT-000101",
                "bank_reference": "RABO20260401C0000188",
                "booking_date": "2026-04-01",
                "amount": "1187.43",  # TxDtls has no amount: the entry's
                "currency": "EUR",
                "debtor_iban": "NL37ABNA0518362947",
            },
        ),
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_collected",
                "NZH-2026-04-000103",
                "RABO20260401C0000190",
                "",
            ),
            "direct_debit_collected",
            "2026-03-31T22:00:00Z",
            {
                "loan_id": "L-2026-000103",
                "client_id": "C-000103",
                "instalment_id": None,
                "end_to_end_id": "NZH-2026-04-000103",
                "mandate_id": "NZH-MDT-000103",
                "bank_reference": "RABO20260401C0000190",
                "booking_date": "2026-04-01",
                "amount": "1183.42",
                "currency": "EUR",
                "debtor_iban": None,
            },
        ),
    ]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.index, error.location, error.reason) == (
        1,
        f"{NTFCTN}/Ntry[2]",
        "schema_violation",
    )
    assert [(e.loc, e.msg) for e in error.errors] == [
        (f"{NTFCTN}/Ntry[2]/Amt", "value is not a valid xs:decimal")
    ]
    # The DLQ gets the entry itself: self-contained XML with the original content.
    payload = ElementTree.fromstring(error.payload)
    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"}
    assert payload.tag == "{urn:iso:std:iso:20022:tech:xsd:camt.054.001.08}Ntry"
    assert payload.findtext("c:Amt", namespaces=ns) == "1.043,55"
    assert payload.findtext(".//c:EndToEndId", namespaces=ns) == "NZH-2026-04-000102"
    assert "1.043,55" not in repr(error)  # never in messages or the repr
    assert result.counts() == {"entries": 3, "events": 2, "skipped": 0, "errors": 1}


def test_older_camt054_001_02(imported: dict[str, ImportResult]) -> None:
    result = imported["camt054_v02_returns.xml"]
    assert result.message == "camt.054.001.02"
    assert [event_json(e) for e in result.events] == [
        envelope(
            iso_id(
                "camt.054", "direct_debit_returned", "NZH-2026-04-000101", "INGB0406R00000155", ""
            ),
            "direct_debit_returned",
            "2026-04-05T22:00:00Z",
            {
                "loan_id": "L-2026-000101",
                "client_id": "C-000101",
                "end_to_end_id": "NZH-2026-04-000101",
                "mandate_id": "NZH-MDT-000101",
                "bank_reference": "INGB0406R00000155",
                "booking_date": "2026-04-06",
                "amount": "1187.43",  # from AmtDtls/TxAmt/Amt
                "currency": "EUR",
                "reason_code": "AM04",
                "reason_category": "retryable",
            },
        ),
        envelope(
            iso_id(
                "camt.054",
                "direct_debit_returned",
                "NZH-2026-04-000103",
                "INGB-NTF-20260406-0007:0002",
                "",
            ),
            "direct_debit_returned",
            "2026-04-05T22:00:00Z",
            {
                "loan_id": "L-2026-000103",
                "client_id": "C-000103",
                "end_to_end_id": "NZH-2026-04-000103",
                "mandate_id": "NZH-MDT-000103",
                "bank_reference": "INGB-NTF-20260406-0007:0002",
                "booking_date": "2026-04-06",
                "amount": "1183.42",
                "currency": "EUR",
                "reason_code": "AC06",
                "reason_category": "mandate_broken",
            },
        ),
    ]


def test_error_and_skip_records_are_typed(imported: dict[str, ImportResult]) -> None:
    for result in imported.values():
        assert all(isinstance(e, EntryError) for e in result.errors)
        assert all(isinstance(s, SkippedEntry) for s in result.skipped)
        counts = result.counts()
        assert counts["entries"] == counts["events"] + counts["skipped"] + counts["errors"]
