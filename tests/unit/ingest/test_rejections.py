from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.ingest.rejections import (
    MAX_ERRORS,
    claimed_type,
    clip,
    event_errors,
    rejection_reason,
)
from tests.unit.ingest.factories import event


def failure(value: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        PAYMENT_EVENT_ADAPTER.validate_python(value)
    return info.value


def test_paths_are_relative_to_the_event_without_the_union_tag() -> None:
    errors = event_errors(failure(event(amount=1.5, currency="USD")))
    assert [e.loc for e in errors] == ["data.amount", "data.currency"]
    assert all(e.msg for e in errors)


def test_a_missing_or_unknown_type_is_reported_at_type_without_echoing_it() -> None:
    [unknown] = event_errors(failure(event() | {"type": "secret-client-name"}))
    assert unknown.loc == "type"
    assert "secret-client-name" not in unknown.msg
    assert "instalment_due" in unknown.msg
    [missing] = event_errors(failure({"id": "x"}))
    assert missing.loc == "type"


def test_a_non_object_is_an_error_of_the_whole_event() -> None:
    assert [e.loc for e in event_errors(failure([1, 2]))] == ["$"]


def test_consequential_errors_are_left_out() -> None:
    # reason_category's default cannot be derived from an invalid reason_code: one error only
    returned = event("direct_debit_returned", reason_code="bad")
    returned["data"].pop("reason_category", None)
    assert [e.loc for e in event_errors(failure(returned))] == ["data.reason_code"]


def test_long_paths_and_messages_are_clipped_to_the_contract() -> None:
    long_name: dict[str, Any] = {"k" * 3000: 1}
    [error] = event_errors(failure(event("payment_pause_ended", **long_name)))
    assert len(error.loc) == 512
    assert error.loc.startswith("data.kkk")
    assert error.loc.endswith("…")


def test_at_most_max_errors_plus_a_summary() -> None:
    extras: dict[str, Any] = {f"extra_{i}": i for i in range(100)}
    errors = event_errors(failure(event("instalment_due", **extras)))
    assert len(errors) == MAX_ERRORS + 1
    assert errors[-1].loc == "$"
    assert errors[-1].msg == "and 80 more errors"


def test_the_reason_is_the_first_error_type() -> None:
    assert rejection_reason(failure(event(amount=3))) == "money_type"
    assert rejection_reason(failure({"type": "nope"})) == "union_tag_invalid"


def test_claimed_type_is_bounded() -> None:
    assert claimed_type({"type": "payment_received"}) == "payment_received"
    assert claimed_type({"type": "anything else"}) == "unknown"
    assert claimed_type({"type": ["payment_received"]}) == "unknown"
    assert claimed_type("payment_received") == "unknown"


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
