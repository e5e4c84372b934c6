"""The detector's day-closed marker shares arrears.signals.v1 with the signals."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from schemas.codec import decode_signal, decode_signals_message, encode
from schemas.signals import DayClosed
from schemas.topics import partition_key
from services.arrears_detector.shell_translate import day_closed_marker

MARKER = day_closed_marker(2, 4, "2026-03-31", "2026-03-31T18:00:00Z")


def test_the_marker_round_trips_and_is_told_apart_from_signals() -> None:
    decoded = decode_signals_message(encode(MARKER))
    assert isinstance(decoded, DayClosed)
    assert decoded == MARKER
    assert encode(decoded) == encode(MARKER)
    with pytest.raises(ValidationError):
        decode_signal(encode(MARKER))


def test_marker_ids_are_deterministic_per_partition_and_day() -> None:
    assert day_closed_marker(2, 4, "2026-03-31", "2026-03-31T20:00:00Z").id == MARKER.id
    assert day_closed_marker(3, 4, "2026-03-31", "2026-03-31T18:00:00Z").id != MARKER.id
    assert day_closed_marker(2, 4, "2026-04-01", "2026-04-01T18:00:00Z").id != MARKER.id


def test_the_marker_has_no_key_because_it_is_sent_to_its_partition() -> None:
    assert partition_key(MARKER) is None


@pytest.mark.parametrize(
    ("field", "value"), [("source_partition", -1), ("partitions", 0), ("partitions", "4")]
)
def test_marker_fields_are_checked(field: str, value: object) -> None:
    body = json.loads(encode(MARKER))
    body["data"][field] = value
    with pytest.raises(ValidationError) as excinfo:
        decode_signals_message(json.dumps(body))
    assert excinfo.value.errors()[0]["loc"][-1] == field


def test_a_signal_type_on_marker_data_is_refused() -> None:
    body = json.loads(encode(MARKER))
    body["type"] = "arrears_onset"
    with pytest.raises(ValidationError):
        decode_signals_message(json.dumps(body))  # the type picks the signal model
