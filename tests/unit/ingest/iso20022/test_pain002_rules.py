"""pain.002 statuses, inheritance of status and reason, and the errors of a reject."""

from __future__ import annotations

import pytest

from services.ingest.iso20022 import ImportResult, InMemoryMandateDirectory, import_bytes
from tests.unit.ingest.iso20022.builders import block, pain, status

BLOCK1 = "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]"
TX1 = f"{BLOCK1}/TxInfAndSts[1]"
DIRECTORY = InMemoryMandateDirectory([("NZH-MDT-000101", "L-2026-000101", "C-000101")])


def run(data: bytes) -> ImportResult:
    result = import_bytes(data, DIRECTORY)
    assert result.file_error is None, result.file_error
    return result


def reasons(result: ImportResult) -> list[tuple[int, str]]:
    return sorted(
        [(e.index, e.reason) for e in result.errors] + [(s.index, s.reason) for s in result.skipped]
    )


@pytest.mark.parametrize("code", ["ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PDNG", "RCVD", "CANC"])
def test_statuses_other_than_reject_are_skipped(code: str) -> None:
    result = run(pain(block(status(tx_status=code, reason=None))))
    assert not result.events
    assert not result.errors
    assert [(s.location, s.reason) for s in result.skipped] == [(TX1, f"status_{code.lower()}")]


def test_transaction_inherits_a_rejected_block_and_its_reason() -> None:
    result = run(pain(block(status(tx_status=None, reason=None), status="RJCT", reason="AC01")))
    assert [(e.type, e.data.reason_code) for e in result.events] == [
        ("direct_debit_rejected", "AC01")
    ]


def test_transaction_inherits_a_rejected_group_through_a_silent_block() -> None:
    result = run(
        pain(block(status(tx_status=None, reason=None)), group_status="RJCT", group_reason="MD07")
    )
    assert [e.data.reason_code for e in result.events] == ["MD07"]


def test_reason_of_a_partially_accepted_block_is_not_inherited() -> None:
    result = run(pain(block(status(reason=None), status="PART", reason="AM04")))
    assert reasons(result) == [(0, "reason_code_missing")]


@pytest.mark.parametrize(
    ("group", "block_status", "tx_status", "reason"),
    [
        ("PART", None, None, "status_ambiguous"),
        (None, None, None, "status_missing"),
        (None, None, "BLCK", "status_unknown"),
    ],
)
def test_undetermined_status_is_an_error(
    group: str | None, block_status: str | None, tx_status: str | None, reason: str
) -> None:
    result = run(pain(block(status(tx_status=tx_status), status=block_status), group_status=group))
    assert reasons(result) == [(0, reason)]


@pytest.mark.parametrize(
    ("transaction", "reason", "loc"),
    [
        (status(reason=None), "reason_code_missing", "/StsRsnInf"),
        (status(reason=None, reason_prtry="Refused"), "reason_code_missing", "/StsRsnInf"),
        (status(e2e="NOTPROVIDED"), "end_to_end_id_missing", "/OrgnlEndToEndId"),
        (status(e2e=None), "end_to_end_id_missing", "/OrgnlEndToEndId"),
        (status(original=False), "original_transaction_missing", "/OrgnlTxRef"),
        (status(ccy="USD"), "currency_not_eur", "/OrgnlTxRef/Amt/InstdAmt"),
        (status(collection_date=None), "collection_date_missing", "/OrgnlTxRef/ReqdColltnDt"),
        (
            status(collection_date="2026-06-01"),
            "collection_date_implausible",
            "/OrgnlTxRef/ReqdColltnDt",
        ),
        (status(mandate=None), "mandate_id_missing", "/OrgnlTxRef/MndtRltdInf/MndtId"),
        (status(mandate="NZH-MDT-999"), "mandate_unknown", "/OrgnlTxRef/MndtRltdInf/MndtId"),
    ],
)
def test_reject_errors(transaction: str, reason: str, loc: str) -> None:
    result = run(pain(block(transaction)))
    assert not result.events
    assert [(e.reason, e.errors[0].loc) for e in result.errors] == [(reason, TX1 + loc)]


def test_rejected_group_without_transactions_is_one_error() -> None:
    result = run(pain(group_status="RJCT", group_reason="FF01"))
    assert result.entries == 1
    assert [(e.location, e.reason) for e in result.errors] == [
        ("/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts", "group_rejected")
    ]


def test_rejected_block_without_transactions_is_one_error() -> None:
    result = run(pain(block(status="RJCT", reason="AM04"), block(status(), status="PART")))
    assert [(e.index, e.location, e.reason) for e in result.errors] == [
        (0, BLOCK1, "payment_information_rejected")
    ]
    assert len(result.events) == 1
    assert result.entries == 2


def test_accepted_block_without_transactions_has_no_entries() -> None:
    result = run(pain(block(status="ACCP")))
    assert result.counts() == {"entries": 0, "events": 0, "skipped": 0, "errors": 0}


def test_a_report_on_credit_transfers_is_rejected_as_a_file() -> None:
    result = import_bytes(pain(block(status()), original="pain.001.001.09"), DIRECTORY)
    assert result.file_error is not None
    assert result.file_error.reason == "not_a_direct_debit_report"
    assert result.entries == 0
    assert not result.events


def test_the_same_collection_reported_twice_has_one_id() -> None:
    """A re-sent report may carry new status ids; the reject is the same event."""
    first = run(pain(block(status(acct_ref="A-1"))))
    second = run(pain(block(status(acct_ref="A-2"))))
    assert first.events[0].id == second.events[0].id
