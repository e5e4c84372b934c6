"""The Sofie API bodies in schemas/sofie_api.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest
from pydantic import ValidationError

from schemas.outcomes import EngagementData
from schemas.sofie_api import (
    EngagementCallback,
    EngagementKind,
    FaultConfig,
    SofieDeliveryRequest,
    SofieError,
)


def request(**overrides: object) -> SofieDeliveryRequest:
    values: dict[str, object] = {
        "idempotency_key": "act-1",
        "client_ref": "client-1",
        "channel": "email",
        "action": "nudge_before_due",
        "payload": {"due_date": "2026-03-01"},
    }
    values.update(overrides)
    return SofieDeliveryRequest.model_validate(values)


def test_engagement_kinds_match_the_outcome_contract() -> None:
    assert get_args(EngagementKind) == get_args(EngagementData.model_fields["kind"].annotation)


def test_deliver_after_is_optional_and_normalised_to_utc() -> None:
    assert request().deliver_after is None
    shifted = request(deliver_after="2026-03-01T09:00:00+01:00")
    assert shifted.deliver_after == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert '"deliver_after":"2026-03-01T08:00:00Z"' in shifted.model_dump_json()


@pytest.mark.parametrize("value", ["2026-03-01T09:00:00", "1767225600", "tomorrow"])
def test_deliver_after_must_be_an_aware_rfc3339_instant(value: str) -> None:
    with pytest.raises(ValidationError, match="deliver_after"):
        request(deliver_after=value)


def test_the_delivery_request_refuses_unknown_fields_and_the_bank_channel() -> None:
    with pytest.raises(ValidationError, match="extra"):
        request(priority="high")
    with pytest.raises(ValidationError, match="channel"):
        request(channel="bank_process")


def test_a_latency_fault_needs_a_delay_and_remaining_is_positive() -> None:
    with pytest.raises(ValidationError, match="latency_s"):
        FaultConfig(mode="latency")
    with pytest.raises(ValidationError, match="remaining"):
        FaultConfig(mode="refuse", remaining=0)
    assert FaultConfig(mode="latency", latency_s=0.5).remaining is None


def test_an_engagement_callback_round_trips_in_canonical_form() -> None:
    callback = EngagementCallback(
        callback_id="cb-1",
        idempotency_key="act-1",
        sofie_action_id="sfa-1",
        client_ref="client-1",
        channel="workshop",
        kind="attended",
        occurred_at=datetime(2026, 3, 1, 8, tzinfo=UTC),
    )
    raw = callback.model_dump_json()
    assert '"occurred_at":"2026-03-01T08:00:00Z"' in raw
    assert EngagementCallback.model_validate_json(raw) == callback


def test_error_bodies_are_bounded() -> None:
    with pytest.raises(ValidationError, match="detail"):
        SofieError(error="x", detail="y" * 2049)
    with pytest.raises(ValidationError, match="error"):
        SofieError(error="free text with spaces")
