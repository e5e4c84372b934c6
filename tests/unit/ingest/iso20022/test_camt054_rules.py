"""camt.054 classification and the reasons an entry is skipped or dead-lettered."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.ingest.iso20022 import (
    ImportOptions,
    ImportResult,
    InMemoryMandateDirectory,
    import_bytes,
)
from tests.unit.ingest.iso20022.builders import camt, ntry, tx
from tests.unit.ingest.iso20022.support import fixture_path

NTRY1 = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]"
DIRECTORY = InMemoryMandateDirectory(
    [
        ("NZH-MDT-000101", "L-2026-000101", "C-000101"),
        ("NZH-MDT-000102", "L-2026-000102", "C-000102"),
    ]
)


def run(data: bytes, options: ImportOptions | None = None) -> ImportResult:
    result = import_bytes(data, DIRECTORY, options=options or ImportOptions())
    assert result.file_error is None, result.file_error
    return result


def only_error(result: ImportResult) -> tuple[str, str]:
    assert len(result.errors) == 1, result
    assert not result.events
    error = result.errors[0]
    return error.reason, error.errors[0].loc


def test_unknown_mandate_is_an_error_for_that_entry_only() -> None:
    result = run(
        camt(
            ntry(tx(mandate="NZH-MDT-999999", e2e="E2E-A"), ref="R-A"),
            ntry(tx(mandate="NZH-MDT-000102", e2e="E2E-B"), ref="R-B"),
        )
    )
    assert [e.data.loan_id for e in result.events] == ["L-2026-000102"]
    assert [(e.index, e.reason) for e in result.errors] == [(0, "mandate_unknown")]
    assert result.errors[0].errors[0].loc == f"{NTRY1}/NtryDtls/TxDtls/Refs/MndtId"
    assert "NZH-MDT-999999" not in repr(result.errors[0].errors)


@pytest.mark.parametrize(
    ("entry", "reason", "loc"),
    [
        (ntry(tx(e2e="NOTPROVIDED")), "end_to_end_id_missing", "/NtryDtls/TxDtls/Refs/EndToEndId"),
        (ntry(tx(e2e=None)), "end_to_end_id_missing", "/NtryDtls/TxDtls/Refs/EndToEndId"),
        (ntry(tx(), ref=None), "bank_reference_missing", "/AcctSvcrRef"),
        (ntry(tx(amount="99.00")), "amount_mismatch", "/NtryDtls/TxDtls/Amt"),
        (ntry(tx(direction="DBIT")), "direction_mismatch", "/NtryDtls/TxDtls/CdtDbtInd"),
        (ntry(tx(), ccy="USD"), "currency_not_eur", "/Amt"),
        (ntry(tx(), reversal="true"), "unsupported_reversal", "/RvslInd"),
        (ntry(tx(reason="AC04")), "unsupported_credit_return", "/NtryDtls/TxDtls/RtrInf"),
        (ntry(tx(), booking=None), "booking_date_missing", "/BookgDt"),
        (ntry(tx(), booking="<Dt>2024-12-31</Dt>"), "booking_date_implausible", "/BookgDt"),
        (ntry(tx(), booking="<Dt>2026-05-02</Dt>"), "booking_date_implausible", "/BookgDt"),
    ],
)
def test_credit_entry_errors(entry: str, reason: str, loc: str) -> None:
    assert only_error(run(camt(entry))) == (reason, NTRY1 + loc)


@pytest.mark.parametrize(
    ("entry", "reason", "loc"),
    [
        (
            ntry(tx(), direction="DBIT"),
            "return_reason_missing",
            "/NtryDtls/TxDtls/RtrInf",
        ),
        (
            ntry(tx(returned=True), direction="DBIT"),
            "return_reason_missing",
            "/NtryDtls/TxDtls/RtrInf/Rsn",
        ),
        (
            ntry(tx(mandate=None), direction="DBIT", reversal="true"),
            "return_reason_missing",
            "/NtryDtls/TxDtls/RtrInf/Rsn",
        ),
        (
            ntry(tx(reason_prtry="Insufficient funds"), direction="DBIT"),
            "return_reason_missing",
            "/NtryDtls/TxDtls/RtrInf/Rsn",
        ),
        (
            ntry(tx(mandate=None, reason="AM04"), direction="DBIT"),
            "mandate_id_missing",
            "/NtryDtls/TxDtls/Refs/MndtId",
        ),
    ],
)
def test_debit_entry_errors(entry: str, reason: str, loc: str) -> None:
    assert only_error(run(camt(entry))) == (reason, NTRY1 + loc)


def test_debit_without_mandate_or_return_is_skipped_not_failed() -> None:
    result = run(camt(ntry(tx(mandate=None, e2e=None), direction="DBIT", domain=None)))
    assert [(s.reason, s.location) for s in result.skipped] == [("not_a_client_payment", NTRY1)]
    fee = run(camt(ntry(direction="DBIT", domain=("ACMT", "MDOP", "CHRG"))))
    assert [s.reason for s in fee.skipped] == ["not_a_client_payment"]


def test_reversal_indicator_alone_marks_a_return() -> None:
    result = run(camt(ntry(tx(reason="AM04"), direction="DBIT", reversal="true")))
    assert [(e.type, e.data.reason_code) for e in result.events] == [
        ("direct_debit_returned", "AM04")
    ]


def test_proprietary_reason_shaped_like_a_code_is_used() -> None:
    result = run(camt(ntry(tx(reason_prtry="MS02"), direction="DBIT")))
    assert [(e.type, e.data.reason_code) for e in result.events] == [
        ("direct_debit_returned", "MS02")
    ]


def test_unknown_reason_code_is_accepted_with_category_unknown() -> None:
    result = run(camt(ntry(tx(reason="XT99"), direction="DBIT")))
    assert [(e.data.reason_code, str(e.data.reason_category)) for e in result.events] == [
        ("XT99", "unknown")
    ]


def test_malformed_reason_code_fails_the_contract() -> None:
    reason, loc = only_error(run(camt(ntry(tx(reason="am04"), direction="DBIT"))))
    assert (reason, loc) == ("contract_violation", f"{NTRY1}#event.data.reason_code")


def test_refund_by_configured_bank_transaction_code() -> None:
    entry = ntry(tx(reason="MD01"), direction="DBIT", domain=("PMNT", "IDDT", "UPDD"))
    assert [e.type for e in run(camt(entry)).events] == ["direct_debit_returned"]
    options = ImportOptions(refund_bank_transaction_codes=frozenset({"PMNT/IDDT/UPDD"}))
    assert [e.type for e in run(camt(entry), options).events] == ["direct_debit_refunded"]
    proprietary = ntry(tx(reason="MD01"), direction="DBIT", proprietary="N093")
    options = ImportOptions(refund_bank_transaction_codes=frozenset({"PRTRY:N093"}))
    assert [e.type for e in run(camt(proprietary), options).events] == ["direct_debit_refunded"]


def test_batch_booking_maps_each_transaction() -> None:
    entry = ntry(
        tx(e2e="E2E-A", mandate="NZH-MDT-000101", amount="60.00"),
        tx(e2e="E2E-B", mandate="NZH-MDT-000102", amount="40.00"),
        amount="100.00",
        ref="BATCH-1",
    )
    result = run(camt(entry))
    assert [(e.data.loan_id, e.data.amount, e.data.bank_reference) for e in result.events] == [
        ("L-2026-000101", Decimal("60.00"), "BATCH-1"),
        ("L-2026-000102", Decimal("40.00"), "BATCH-1"),
    ]
    assert len({e.id for e in result.events}) == 2
    assert result.entries == 2


def test_batch_transactions_without_own_reference_still_get_distinct_ids() -> None:
    entry = ntry(
        tx(e2e=None, mandate=None, amount="60.00", ustrd=["L-2026-000101"]),
        tx(e2e=None, mandate=None, amount="60.00", ustrd=["L-2026-000101"]),
        amount="120.00",
        domain=("PMNT", "RCDT", "ESCT"),
    )
    result = run(camt(entry))
    assert [e.type for e in result.events] == ["payment_received", "payment_received"]
    assert len({e.id for e in result.events}) == 2


@pytest.mark.parametrize(
    ("amounts", "total", "reason"),
    [
        (("60.00", "40.01"), "100.00", "batch_total_mismatch"),
        (("60.00", None), "100.00", "batch_amount_missing"),
    ],
)
def test_a_batch_that_does_not_add_up_fails_whole(
    amounts: tuple[str | None, str | None], total: str, reason: str
) -> None:
    entry = ntry(
        tx(e2e="E2E-A", amount=amounts[0]), tx(e2e="E2E-B", amount=amounts[1]), amount=total
    )
    result = run(camt(entry))
    assert not result.events
    assert [(e.index, e.reason) for e in result.errors] == [(0, reason), (1, reason)]
    assert [e.location for e in result.errors] == [
        f"{NTRY1}/NtryDtls[1]/TxDtls[1]",
        f"{NTRY1}/NtryDtls[1]/TxDtls[2]",
    ]


def test_pending_and_informational_entries_are_skipped_per_transaction() -> None:
    entry = ntry(
        tx(e2e="A", amount="1.00"), tx(e2e="B", amount="1.00"), amount="2.00", status="PDNG"
    )
    result = run(camt(entry, ntry(tx(), status="INFO")))
    assert [(s.index, s.reason) for s in result.skipped] == [
        (0, "not_booked"),
        (1, "not_booked"),
        (2, "not_booked"),
    ]


def test_booking_date_time_is_read_as_the_amsterdam_day() -> None:
    result = run(camt(ntry(tx(), booking="<DtTm>2026-03-02T23:30:00Z</DtTm>")))
    assert [str(e.data.booking_date) for e in result.events] == ["2026-03-03"]
    naive = run(camt(ntry(tx(), booking="<DtTm>2026-03-02T23:30:00</DtTm>")))
    assert [str(e.data.booking_date) for e in naive.events] == ["2026-03-02"]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (ntry(tx(), amount="0.00"), "data.amount"),
        (ntry(tx(), amount="100.005"), "data.amount"),
        (ntry(tx(iban="NL00ABNA0518362947")), "data.debtor_iban"),
        (ntry(tx(e2e="E2E 1")), "data.end_to_end_id"),
    ],
)
def test_contract_rejects_what_the_xsd_allows(entry: str, field: str) -> None:
    result = run(camt(entry))
    reason, loc = only_error(result)
    assert (reason, loc) == ("contract_violation", f"{NTRY1}#event.{field}")
    assert "NL00ABNA0518362947" not in repr(result.errors[0].errors)


class TestManualTransfers:
    def transfer(self, **kwargs: object) -> ImportResult:
        detail = tx(e2e=None, mandate=None, **kwargs)  # type: ignore[arg-type]
        return run(camt(ntry(detail, domain=("PMNT", "RCDT", "ESCT"))))

    def test_structured_reference(self) -> None:
        result = self.transfer(strd_ref="L-2026-000102")
        assert [(e.type, e.data.loan_id) for e in result.events] == [
            ("payment_received", "L-2026-000102")
        ]

    def test_free_text_word_case_insensitive(self) -> None:
        result = self.transfer(ustrd=["termijn april (l-2026-000101)."])
        assert [e.data.loan_id for e in result.events] == ["L-2026-000101"]

    def test_unknown_structured_reference_falls_back_to_free_text(self) -> None:
        result = self.transfer(strd_ref="1234567890123456", ustrd=["L-2026-000102"])
        assert [e.data.loan_id for e in result.events] == ["L-2026-000102"]

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({}, "loan_reference_unresolved"),
            ({"ustrd": ["L-2026-0001011"]}, "loan_reference_unresolved"),
            ({"ustrd": ["L-2026-000101 en L-2026-000102"]}, "loan_reference_ambiguous"),
        ],
    )
    def test_not_exactly_one_loan(self, kwargs: dict[str, object], reason: str) -> None:
        assert only_error(self.transfer(**kwargs)) == (reason, f"{NTRY1}/NtryDtls/TxDtls/RmtInf")

    def test_entry_without_details(self) -> None:
        result = run(camt(ntry(domain=("PMNT", "RCDT", "ESCT"))))
        assert only_error(result) == (
            "loan_reference_unresolved",
            f"{NTRY1}/NtryDtls/TxDtls/RmtInf",
        )


def test_the_same_booking_twice_in_a_file_is_imported_once() -> None:
    entry = ntry(tx())
    result = run(camt(entry, entry))
    assert len(result.events) == 1
    assert [(s.index, s.reason) for s in result.skipped] == [(1, "duplicate_in_file")]


def test_same_identity_with_different_content_is_a_conflict() -> None:
    result = run(camt(ntry(tx(), amount="100.00"), ntry(tx(), amount="100.01")))
    assert len(result.events) == 1
    assert [(e.index, e.reason) for e in result.errors] == [(1, "conflicting_duplicate")]


def test_reimporting_a_file_yields_the_same_event_ids() -> None:
    data = fixture_path("camt054_collections.xml").read_bytes()
    first = import_bytes(data, DIRECTORY, name="a.xml")
    second = import_bytes(data, DIRECTORY, name="b.xml")
    assert [e.id for e in first.events] == [e.id for e in second.events]
    assert first.events == second.events
