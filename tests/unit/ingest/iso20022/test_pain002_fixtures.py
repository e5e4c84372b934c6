"""Every pain.002 sample file maps to exactly these canonical events, field by field."""

from __future__ import annotations

from typing import Any

from services.ingest.iso20022 import ImportResult, SkippedEntry
from tests.unit.ingest.iso20022.support import event_json, iso_id

PAIN = "bank/iso20022/pain.002"


def rejected(event_id: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": PAIN,
        "type": "direct_debit_rejected",
        "time": time,
        "dataschema": "urn:nazorg:schema:payments.events:v1",
        "datacontenttype": "application/json",
        "producedtime": None,
        "subject": None,
        "data": data,
    }


def test_rejects_md01_am04_and_an_accepted_transaction(imported: dict[str, ImportResult]) -> None:
    result = imported["pain002_rejects.xml"]
    assert result.message == "pain.002.001.10"
    assert result.message_id == "RABO-P002-20260227-000003"
    assert [event_json(e) for e in result.events] == [
        rejected(
            # One collection attempt = end-to-end id + requested collection date.
            iso_id("pain.002", "direct_debit_rejected", "NZH-2026-03-000105", "2026-03-02"),
            "2026-03-01T23:00:00Z",  # the requested collection date, 00:00 Amsterdam
            {
                "loan_id": "L-2026-000105",
                "client_id": "C-000105",
                "end_to_end_id": "NZH-2026-03-000105",
                "mandate_id": "NZH-MDT-000105",
                "bank_reference": "RABO20260227R0000771",
                "booking_date": "2026-03-02",
                "amount": "1312.06",
                "currency": "EUR",
                "reason_code": "MD01",
                "reason_category": "mandate_broken",
            },
        ),
        rejected(
            iso_id("pain.002", "direct_debit_rejected", "NZH-2026-03-000107", "2026-03-02"),
            "2026-03-01T23:00:00Z",
            {
                "loan_id": "L-2026-000107",
                "client_id": "C-000107",
                "end_to_end_id": "NZH-2026-03-000107",
                "mandate_id": "NZH-MDT-000107",
                "bank_reference": None,
                "booking_date": "2026-03-02",
                "amount": "998.10",
                "currency": "EUR",
                "reason_code": "AM04",
                "reason_category": "retryable",
            },
        ),
    ]
    assert result.skipped == (
        SkippedEntry(
            2, "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts[3]", "status_accp"
        ),
    )
    assert result.counts() == {"entries": 3, "events": 2, "skipped": 1, "errors": 0}


def test_older_pain002_001_03_with_inherited_status_and_reason(
    imported: dict[str, ImportResult],
) -> None:
    result = imported["pain002_v03_rejects.xml"]
    assert result.message == "pain.002.001.03"
    assert [event_json(e) for e in result.events] == [
        rejected(
            iso_id("pain.002", "direct_debit_rejected", "NZH-2026-04-000105", "2026-04-01"),
            "2026-03-31T22:00:00Z",
            {
                "loan_id": "L-2026-000105",
                "client_id": "C-000105",
                "end_to_end_id": "NZH-2026-04-000105",
                "mandate_id": "NZH-MDT-000105",
                "bank_reference": None,
                "booking_date": "2026-04-01",
                "amount": "1312.06",
                "currency": "EUR",
                "reason_code": "MS02",  # the block's status and reason, inherited
                "reason_category": "retryable",
            },
        ),
        rejected(
            iso_id("pain.002", "direct_debit_rejected", "NZH-2026-04-000107", "2026-04-01"),
            "2026-03-31T22:00:00Z",
            {
                "loan_id": "L-2026-000107",
                "client_id": "C-000107",
                "end_to_end_id": "NZH-2026-04-000107",
                "mandate_id": "NZH-MDT-000107",
                "bank_reference": None,
                "booking_date": "2026-04-01",
                "amount": "998.10",
                "currency": "EUR",
                "reason_code": "MS02",
                "reason_category": "retryable",
            },
        ),
        rejected(
            iso_id("pain.002", "direct_debit_rejected", "NZH-2026-04-000108", "2026-04-01"),
            "2026-03-31T22:00:00Z",
            {
                "loan_id": "L-2026-000108",
                "client_id": "C-000108",
                "end_to_end_id": "NZH-2026-04-000108",
                "mandate_id": "NZH-MDT-000108",
                "bank_reference": "ABNA0331R0077120",
                "booking_date": "2026-04-01",
                "amount": "1402.88",
                "currency": "EUR",
                "reason_code": "AG01",  # given as Prtry, shaped like a code
                "reason_category": "mandate_broken",
            },
        ),
    ]
    assert result.counts() == {"entries": 3, "events": 3, "skipped": 0, "errors": 0}
