from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.codec import decode_payment_event
from schemas.ingest_api import IngestResponse
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.ingest.batch import Item
from services.ingest.dedupe import DedupeWindow
from services.ingest.intake import assess, dedupe_keys, readable_id, routing_key
from tests.unit.ingest.factories import EVENT_TYPES, LOAN_EVENT_TYPES, event


def items(*values: Any) -> list[Item]:
    return [Item(index=i, value=v) for i, v in enumerate(values)]


def test_valid_events_are_accepted_in_canonical_form_keyed_by_loan() -> None:
    sent = [event(t) for t in LOAN_EVENT_TYPES]
    assessment = assess(items(*sent), DedupeWindow(100))
    assert [r.status for r in assessment.results] == ["accepted"] * len(sent)
    assert [r.event_id for r in assessment.results] == [e["id"] for e in sent]
    for original, outgoing in zip(sent, assessment.to_publish, strict=True):
        assert outgoing.key == original["data"]["loan_id"].encode()
        canonical = PAYMENT_EVENT_ADAPTER.validate_python(original)
        assert decode_payment_event(outgoing.value) == canonical
        assert outgoing.topic is None  # the publisher's events topic
    assert assessment.accepted_types == list(LOAN_EVENT_TYPES)


def test_the_end_of_day_tick_has_no_key_so_it_goes_to_every_partition() -> None:
    [outgoing] = assess(items(event("business_day_closed")), DedupeWindow(10)).to_publish
    assert outgoing.key is None
    assert outgoing.spread


def test_routing_key_is_the_loan_id_or_none() -> None:
    loan = PAYMENT_EVENT_ADAPTER.validate_python(event("payment_received", loan_id="L-7"))
    assert routing_key(loan) == b"L-7"
    tick = PAYMENT_EVENT_ADAPTER.validate_python(event("business_day_closed"))
    assert routing_key(tick) is None


def test_dedupe_keys_are_the_id_plus_end_to_end_and_bank_reference_where_both_exist() -> None:
    collected = PAYMENT_EVENT_ADAPTER.validate_python(
        event("direct_debit_collected", end_to_end_id="E", bank_reference="B")
    )
    assert dedupe_keys(collected) == (f"id:{collected.id}", "ref:direct_debit_collected:E:B")
    rejected = event("direct_debit_rejected")
    rejected["data"].pop("bank_reference", None)
    assert dedupe_keys(PAYMENT_EVENT_ADAPTER.validate_python(rejected)) == (f"id:{rejected['id']}",)
    transfer = PAYMENT_EVENT_ADAPTER.validate_python(event("payment_received"))
    assert len(dedupe_keys(transfer)) == 1  # no end-to-end id


def test_fates_invalid_json_schema_violation_duplicate_accepted() -> None:
    window = DedupeWindow(100)
    seen_before = event()
    window.remember([f"id:{seen_before['id']}"])
    fresh = event("payment_received")
    batch = [
        Item(0, error="line is not valid JSON"),
        Item(1, event(amount=1.5)),
        Item(2, seen_before),
        Item(3, fresh),
        Item(4, fresh),
    ]
    assessment = assess(batch, window)
    assert [r.status for r in assessment.results] == [
        "rejected",
        "rejected",
        "duplicate",
        "accepted",
        "duplicate",
    ]
    assert assessment.rejections == ["invalid_json", "money_type"]
    assert [v.event_type for v in assessment.verdicts] == [
        "unknown",
        "instalment_due",
        "instalment_due",
        "payment_received",
        "payment_received",
    ]
    assert assessment.keys == [f"id:{fresh['id']}"]
    assert len(assessment.to_publish) == 1
    assert assessment.results[0].errors[0].loc == "$"
    assert [e.loc for e in assessment.results[1].errors] == ["data.amount"]
    IngestResponse.from_results(assessment.results)  # the answer's own checks hold


def test_assess_does_not_remember_anything() -> None:
    window = DedupeWindow(100)
    sent = event()
    assess(items(sent), window)
    assert len(window) == 0
    assert assess(items(sent), window).results[0].status == "accepted"


def test_a_same_reference_under_another_id_is_a_duplicate_within_a_batch() -> None:
    first = event("direct_debit_returned")
    second = event(
        "direct_debit_returned",
        end_to_end_id=first["data"]["end_to_end_id"],
        bank_reference=first["data"]["bank_reference"],
    )
    statuses = [r.status for r in assess(items(first, second), DedupeWindow(10)).results]
    assert statuses == ["accepted", "duplicate"]


def test_the_same_reference_on_another_event_type_is_not_a_duplicate() -> None:
    collected = event("direct_debit_collected")
    returned = event(
        "direct_debit_returned",
        end_to_end_id=collected["data"]["end_to_end_id"],
        bank_reference=collected["data"]["bank_reference"],
    )
    statuses = [r.status for r in assess(items(collected, returned), DedupeWindow(10)).results]
    assert statuses == ["accepted", "accepted"]


def test_an_unknown_reason_code_is_accepted_and_flagged() -> None:
    unknown = event("direct_debit_rejected", reason_code="ZZ01")
    unknown["data"].pop("reason_category")
    known = event("direct_debit_rejected")
    verdicts = assess(items(unknown, known), DedupeWindow(10)).verdicts
    assert [v.result.status for v in verdicts] == ["accepted", "accepted"]
    assert [v.unknown_reason_code for v in verdicts] == [True, False]
    outgoing = verdicts[0].outgoing
    assert outgoing is not None
    assert json.loads(outgoing.value)["data"]["reason_category"] == "unknown"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"id": "evt-1"}, "evt-1"),
        ({"id": "has space"}, None),
        ({"id": ""}, None),
        ({"id": "x" * 129}, None),
        ({"id": 7}, None),
        ({"id": "é"}, None),
        ([1], None),
        ("evt-1", None),
    ],
)
def test_a_rejected_items_id_is_reported_only_when_it_is_a_valid_identifier(
    value: Any, expected: str | None
) -> None:
    assert readable_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"id": "a b", "type": "x" * 5000},
        {"type": "instalment_due", "data": {"k" * 2000: 1}},
        {f"extra{i}": i for i in range(500)},
        {"id": "\udc80", "type": "\ud800"},
    ],
)
def test_pathological_items_get_a_bounded_rejection_not_an_exception(value: Any) -> None:
    [result] = assess(items(value), DedupeWindow(10)).results
    assert result.status == "rejected"
    assert 1 <= len(result.errors) <= 21
    assert all(len(e.loc) <= 512 and len(e.msg) <= 1024 for e in result.errors)


def test_every_type_has_a_verdict_label_from_a_bounded_set() -> None:
    labels = {
        v.event_type
        for v in assess(items(*[event(t) for t in EVENT_TYPES]), DedupeWindow(20)).verdicts
    }
    assert labels == set(EVENT_TYPES)
    odd = assess(items({"type": "free text"}, {"type": 3}, [1]), DedupeWindow(1)).verdicts
    assert {v.event_type for v in odd} == {"unknown"}
