from __future__ import annotations

import pytest

from schemas.sepa import ReasonCategory, category_for


@pytest.mark.parametrize("code", ["AM04", "MS03", "AG07", "MS02", "MD06"])
def test_retryable_codes(code: str) -> None:
    assert category_for(code) is ReasonCategory.RETRYABLE


@pytest.mark.parametrize("code", ["AC01", "AC04", "AC06", "AG01", "MD01", "MD07"])
def test_mandate_broken_codes(code: str) -> None:
    assert category_for(code) is ReasonCategory.MANDATE_BROKEN


@pytest.mark.parametrize("code", ["AM05", "SL01", "FF01", "NARR"])
def test_other_well_formed_codes_are_unknown(code: str) -> None:
    assert category_for(code) is ReasonCategory.UNKNOWN


@pytest.mark.parametrize("code", ["am04", "AM0", "AM045", "", "AM-4"])
def test_malformed_codes_raise(code: str) -> None:
    with pytest.raises(ValueError, match="4 uppercase"):
        category_for(code)


def test_categories_serialise_as_their_contract_names() -> None:
    assert [c.value for c in ReasonCategory] == ["retryable", "mandate_broken", "unknown"]
