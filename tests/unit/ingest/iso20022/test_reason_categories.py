"""The category the detector acts on, for every reason code in the sample files."""

from __future__ import annotations

import pytest

from services.ingest.iso20022 import ImportResult

EXPECTED = {
    "AM04": "retryable",
    "MS03": "retryable",
    "MS02": "retryable",
    "MD06": "retryable",
    "AC04": "mandate_broken",
    "AC06": "mandate_broken",
    "AG01": "mandate_broken",
    "MD01": "mandate_broken",
}


@pytest.mark.parametrize(("code", "category"), sorted(EXPECTED.items()))
def test_category_of_each_sample_code(
    imported: dict[str, ImportResult], code: str, category: str
) -> None:
    seen = [
        getattr(event.data, "reason_category", None)
        for result in imported.values()
        for event in result.events
        if getattr(event.data, "reason_code", None) == code
    ]
    assert seen, f"no sample event carries {code}"
    assert {str(c) for c in seen} == {category}


def test_md06_is_a_refund_and_the_others_are_returns_or_rejects(
    imported: dict[str, ImportResult],
) -> None:
    types = {
        getattr(event.data, "reason_code", None): event.type
        for result in imported.values()
        for event in result.events
        if event.type != "direct_debit_collected"
    }
    assert types["MD06"] == "direct_debit_refunded"
    assert types["AM04"] in {"direct_debit_returned", "direct_debit_rejected"}
    assert types["AC04"] == "direct_debit_returned"
    assert types["MD01"] == "direct_debit_rejected"
