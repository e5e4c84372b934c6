"""Helpers shared by the ISO 20022 tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.ids import deterministic_id
from schemas.payments import PAYMENT_EVENT_ADAPTER, PaymentEvent

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "iso20022"


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def event_json(event: PaymentEvent) -> dict[str, Any]:
    """The event as it is published (JSON mode, every field present)."""
    dumped: dict[str, Any] = PAYMENT_EVENT_ADAPTER.dump_python(event, mode="json")
    return dumped


def iso_id(*parts: str) -> str:
    """The documented event-id recipe, spelled out in the tests."""
    return deterministic_id("iso20022", *parts)
