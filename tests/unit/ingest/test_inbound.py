from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import decode_dead_letter
from services.ingest.dedupe import DedupeWindow
from services.ingest.inbound import InboundAssessment, InboundRecord, assess_records, to_item
from tests.unit.ingest.factories import event
from tests.unit.ingest.strategies import as_json, mutated_events

RECEIVED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TOPIC = "payments.inbound.v1"
DLQ = "payments.dlq.v1"


def record(
    value: bytes | None, offset: int = 0, timestamp: int | None = 1_772_445_600_000
) -> InboundRecord:
    return InboundRecord(TOPIC, 2, offset, timestamp, value)


def judge(
    *records: InboundRecord, window: DedupeWindow | None = None, max_payload: int = 4096
) -> InboundAssessment:
    return assess_records(
        records,
        window or DedupeWindow(100),
        dlq_topic=DLQ,
        received_at=RECEIVED,
        max_payload_bytes=max_payload,
    )


def test_to_item_reads_utf8_json_and_names_what_is_wrong_otherwise() -> None:
    assert to_item(0, record(b'{"a": 1}')).value == {"a": 1}
    assert to_item(0, record(None)).error == "record has no value"
    assert "not UTF-8" in (to_item(0, record(b"\xff")).error or "")
    assert "not valid JSON" in (to_item(0, record(b"{")).error or "")


def test_valid_records_are_published_and_invalid_ones_dead_lettered() -> None:
    good = event()
    values = [as_json(good), as_json(good), as_json(event(amount=1.5)), b"{", None, b"\xfe"]
    inbound = judge(*(record(v, offset=i) for i, v in enumerate(values)))
    statuses = [r.status for r in inbound.assessment.results]
    assert statuses == ["accepted", "duplicate", "rejected", "rejected", "rejected", "rejected"]
    assert len(inbound.dead_letters) == 4
    assert inbound.to_publish == [*inbound.assessment.to_publish, *inbound.dead_letters]

    letters = [decode_dead_letter(out.value) for out in inbound.dead_letters]
    assert all(
        out.topic == DLQ and out.key is None and not out.spread for out in inbound.dead_letters
    )
    assert [d.data.source_offset for d in letters] == [2, 3, 4, 5]
    assert [d.data.reason for d in letters] == [
        "schema_violation",
        "invalid_json",
        "invalid_json",
        "invalid_json",
    ]
    assert [d.data.payload_bytes() for d in letters] == [values[2], b"{", b"", b"\xfe"]
    assert letters[3].data.encoding == "base64"
    for letter in letters:
        assert letter.data.source == "kafka"
        assert (letter.data.source_topic, letter.data.source_partition) == (TOPIC, 2)
        assert letter.data.errors
        assert letter.data.received_at == RECEIVED
        assert letter.time == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # the record's timestamp
    assert [e.loc for e in letters[0].data.errors] == ["data.amount"]


def test_dead_letter_ids_are_deterministic_over_position_and_payload() -> None:
    first = judge(record(b"{", offset=7)).dead_letters[0]
    again = judge(record(b"{", offset=7)).dead_letters[0]
    elsewhere = judge(record(b"{", offset=8)).dead_letters[0]
    other_bytes = judge(record(b"[", offset=7)).dead_letters[0]
    ids = [decode_dead_letter(o.value).id for o in (first, again, elsewhere, other_bytes)]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3


def test_a_huge_payload_is_cut_and_the_letter_says_so() -> None:
    raw = b"x" * 10_000
    [out] = judge(record(raw), max_payload=2048).dead_letters
    letter = decode_dead_letter(out.value)
    assert letter.data.payload_bytes() == raw[:2048]
    assert "cut to its first 2048 of 10000 bytes" in letter.data.errors[-1].msg


def test_a_record_without_a_usable_timestamp_is_timed_at_receipt() -> None:
    for timestamp in (None, -1, 2**62):
        [out] = judge(record(b"{", timestamp=timestamp)).dead_letters
        assert decode_dead_letter(out.value).time == RECEIVED


def test_assessing_remembers_nothing() -> None:
    window = DedupeWindow(10)
    judge(record(as_json(event())), window=window)
    assert len(window) == 0


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.none() | st.binary(max_size=80) | mutated_events().map(as_json), max_size=8),
    timestamp=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_any_records_end_as_exactly_one_fate_each_and_rejected_equals_dead_letters(
    values: list[bytes | None], timestamp: int | None
) -> None:
    records = [record(v, offset=i, timestamp=timestamp) for i, v in enumerate(values)]
    inbound = judge(*records)
    results = inbound.assessment.results
    assert len(results) == len(records)
    rejected = [r for r in results if r.status == "rejected"]
    assert len(inbound.dead_letters) == len(rejected)
    assert len(inbound.assessment.to_publish) == sum(r.status == "accepted" for r in results)
    for out, result in zip(inbound.dead_letters, rejected, strict=True):
        letter = decode_dead_letter(out.value)  # every dead letter honours its contract
        assert letter.data.source_offset == result.index
        raw = records[result.index].value or b""
        assert letter.data.payload_bytes() == raw[:4096]  # judge() cuts at 4096 bytes
        assert letter.data.errors[: len(result.errors)] == result.errors
        assert len(letter.data.errors) == len(result.errors) + (len(raw) > 4096)
    for out in inbound.assessment.to_publish:
        assert json.loads(out.value)["id"]
