"""One batch travels the whole way: HTTP → ingest → detector → intervention → outcomes + SQL.

The three services run as their own processes against the real broker and PostgreSQL.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from schemas.codec import decode_outcome, decode_signals_message
from schemas.outcomes import SignalObserved
from schemas.signals import DayClosed
from services.arrears_detector.shell_partition import ledgers_only, offset_key
from services.arrears_detector.shell_replay import replay
from services.common.db import make_engine
from services.common.kafka import read_topic
from services.common.settings import CommonSettings, DetectorSettings
from services.common.stack import LocalStack
from services.intervention.pseudonym import pseudonymise
from services.intervention.repository import InterventionRepository
from services.sample_events import EXPECTED_SIGNALS, all_events, as_json_array

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def post(stack: LocalStack, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{stack.ingest_url}/v1/events",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.api_token}"},
        timeout=30,
    )


def outcomes_on_topic(settings: CommonSettings) -> dict[str, SignalObserved]:
    found: dict[str, SignalObserved] = {}
    for record in read_topic(settings, settings.topic_outcomes):
        outcome = decode_outcome(record.value)
        assert isinstance(outcome, SignalObserved)
        found[outcome.id] = outcome
    return found


def wait_for(settings: CommonSettings, count: int, timeout_s: float) -> dict[str, SignalObserved]:
    deadline = time.monotonic() + timeout_s
    found: dict[str, SignalObserved] = {}
    while time.monotonic() < deadline and len(found) < count:
        found = outcomes_on_topic(settings)
        time.sleep(0.5)
    return found


def test_sample_histories_reach_the_outcome_topic_and_sql(
    local_stack: LocalStack, stack_settings: CommonSettings
) -> None:
    answer = post(local_stack, as_json_array(all_events()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(all_events())

    outcomes = wait_for(stack_settings, len(EXPECTED_SIGNALS), timeout_s=90)
    time.sleep(3)  # anything beyond the expected outcomes would show up by now
    outcomes = outcomes_on_topic(stack_settings)

    subject_of = {
        pseudonymise(client, local_stack.study_key): client for client, _ in EXPECTED_SIGNALS
    }
    observed = {(subject_of[o.subject], o.data.signal_type) for o in outcomes.values()}
    assert observed == EXPECTED_SIGNALS

    raw = b"".join(r.value for r in read_topic(stack_settings, stack_settings.topic_outcomes))
    for client, _ in EXPECTED_SIGNALS:
        assert client.encode() not in raw, "a raw client id leaked onto the outcome topic"

    engine = make_engine(local_stack.database_url, local_stack.database_schema)
    try:
        rows = InterventionRepository(engine).outcomes()
    finally:
        engine.dispose()
    assert {row.id for row in rows} == set(outcomes)
    assert all(row.type == "signal_observed" for row in rows)


def test_a_replayed_batch_is_reported_duplicate_and_changes_nothing(
    local_stack: LocalStack, stack_settings: CommonSettings
) -> None:
    body = as_json_array(all_events())
    assert post(local_stack, body).json()["accepted"] == len(all_events())
    first = wait_for(stack_settings, len(EXPECTED_SIGNALS), timeout_s=90)
    assert len(first) == len(EXPECTED_SIGNALS)

    again = post(local_stack, body).json()
    assert again["duplicate"] == len(all_events())
    assert again["accepted"] == 0
    time.sleep(3)
    assert set(outcomes_on_topic(stack_settings)) == set(first)


def test_replay_without_faust_equals_the_streaming_run(
    local_stack: LocalStack, stack_settings: CommonSettings
) -> None:
    assert post(local_stack, as_json_array(all_events())).status_code == 200
    wait_for(stack_settings, len(EXPECTED_SIGNALS), timeout_s=90)
    streamed = {
        decode_signals_message(r.value).id: r.value
        for r in read_topic(stack_settings, stack_settings.topic_signals)
    }
    markers = [
        m for m in map(decode_signals_message, streamed.values()) if isinstance(m, DayClosed)
    ]
    assert len(streamed) - len(markers) == len(EXPECTED_SIGNALS)
    # Every partition reports the close of every business day it saw a tick for.
    partitions = {m.data.source_partition for m in markers}
    assert partitions == set(range(stack_settings.topic_partitions))

    settings = DetectorSettings.model_validate(stack_settings.model_dump())
    result = replay(settings)
    assert result.errors == 0
    assert result.events == len(read_topic(stack_settings, stack_settings.topic_payment_events))
    assert {decode_signals_message(s).id: s for s in result.signals} == streamed

    changelog = f"{local_stack.namespace}-arrears-detector-ledgers-changelog"
    table: dict[str, object] = {}
    for record in read_topic(stack_settings, changelog):
        table[json.loads(record.key)] = json.loads(record.value)
    assert ledgers_only(table) == result.ledgers
    # Every partition's next offset, beside its ledgers: one past its last event.
    ends: dict[int, int] = {}
    for record in read_topic(stack_settings, stack_settings.topic_payment_events):
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    assert {p: table.get(offset_key(p)) for p in ends} == ends
