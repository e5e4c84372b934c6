"""ActionStore: exact dedupe by idempotency key, paging by seq, counters."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from schemas.sofie_api import SofieDeliveryRequest
from services.sofie_dev.store import ActionStore, Counters, fingerprint

AT = datetime(2026, 3, 1, 8, tzinfo=UTC)


def request(key: str = "act-1", **overrides: object) -> SofieDeliveryRequest:
    values: dict[str, object] = {
        "idempotency_key": key,
        "client_ref": "client-1",
        "channel": "app",
        "action": "nudge",
        "payload": {"a": 1, "b": [1, 2]},
    }
    values.update(overrides)
    return SofieDeliveryRequest.model_validate(values)


def test_the_first_request_is_accepted_and_a_repeat_is_a_duplicate_of_it() -> None:
    store = ActionStore()
    first = store.submit(request(), AT)
    again = store.submit(request(), AT + timedelta(seconds=5))
    assert first.outcome == "accepted"
    assert again.outcome == "duplicate"
    assert again.action.sofie_action_id == first.action.sofie_action_id
    assert again.action.received_at == AT
    assert again.action.requests == 2
    assert len(store) == 1


def test_the_same_key_with_another_body_is_a_conflict_and_changes_nothing() -> None:
    store = ActionStore()
    first = store.submit(request(), AT)
    conflict = store.submit(request(action="other"), AT)
    assert conflict.outcome == "conflict"
    assert conflict.action.action == "nudge"
    assert conflict.action.sofie_action_id == first.action.sofie_action_id
    assert store.received()[0].requests == 2


def test_same_body_means_same_validated_values_not_same_bytes() -> None:
    a = request(payload={"a": 1, "b": 2}, deliver_after="2026-03-01T09:00:00+01:00")
    b = request(payload={"b": 2, "a": 1}, deliver_after="2026-03-01T08:00:00Z")
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(request(payload={"a": 1, "b": 3}))
    assert fingerprint(request()) != fingerprint(request(deliver_after="2026-03-01T08:00:00Z"))


def test_received_pages_by_seq_and_seq_survives_a_reset() -> None:
    store = ActionStore()
    for n in range(5):
        store.submit(request(f"k{n}"), AT)
    assert [a.seq for a in store.received()] == [1, 2, 3, 4, 5]
    assert [a.idempotency_key for a in store.received(since=2, limit=2)] == ["k2", "k3"]
    assert store.received(since=5) == []
    store.reset()
    assert store.received() == []
    store.submit(request("after"), AT)
    assert [a.seq for a in store.received(since=5)] == [6]
    assert [a.seq for a in store.received()] == [6]


def test_concurrent_submits_of_one_key_create_exactly_one_action() -> None:
    store = ActionStore()
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit() -> None:
        start.wait()
        outcome = store.submit(request(), AT).outcome
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(outcomes) == ["accepted"] + ["duplicate"] * 19
    assert [a.requests for a in store.received()] == [20]


def test_counters_reset_but_keep_callbacks_in_flight() -> None:
    counters = Counters()
    counters.add("requests", 3)
    counters.add("callbacks_pending", 2)
    assert counters.snapshot().requests == 3
    counters.reset()
    snapshot = counters.snapshot()
    assert snapshot.requests == 0
    assert snapshot.callbacks_pending == 2
