"""A detector whose consumer group has committed offsets beyond what its tables hold as applied.

Faust can commit offsets of events the agent never planned (decision 0007), and a worker killed
before it stored anything of a partition leaves its successor only that commit. The successor
must apply each partition from the first event not applied (the log's start when nothing is
stored), not from the commit: here a fresh worker meets a group committed halfway through every
partition and must still end with every signal and ledger of the replay.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from schemas.codec import decode_signals_message
from services.arrears_detector.shell_replay import replay
from services.common.kafka import publish_canonical, read_topic
from services.common.processes import ServiceProcess
from services.common.settings import DetectorSettings
from services.simulator import SimulationConfig, simulate
from tests.integration.detector.workers import (
    detector_env,
    detector_settings,
    detector_worker,
    ledger_table,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _commit_halfway(settings: DetectorSettings, group: str) -> dict[int, int]:
    """Commit, for ``group``, the middle offset of every events partition; returns them."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    try:
        tps = [
            TopicPartition(settings.topic_payment_events, p)
            for p in range(settings.topic_partitions)
        ]
        ends: dict[int, int] = {}
        for record in read_topic(settings, settings.topic_payment_events):
            ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
        halfway = {tp.partition: ends.get(tp.partition, 0) // 2 for tp in tps}
        consumer.commit({tp: OffsetAndMetadata(halfway[tp.partition], "", -1) for tp in tps})
        committed = {tp.partition: consumer.committed(tp) for tp in tps}
        assert committed == halfway, "the broker did not keep the commits the test relies on"
        return halfway
    finally:
        consumer.close()


def _rewinds(worker: ServiceProcess) -> float:
    """``nazorg_detector_rewinds_total`` of a running worker (its web server serves both)."""
    metrics_url = worker.ready_url.replace("/readyz", "/metrics")
    with urllib.request.urlopen(metrics_url, timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("nazorg_detector_rewinds_total")
    )


def test_a_group_committed_ahead_of_the_tables_is_applied_from_the_log_start(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = detector_settings(kafka_bootstrap, "ahead")
    months = [batch.events for batch in simulate(SimulationConfig(clients=30, seed=11))][:4]
    sent = publish_canonical(settings, [event for month in months for event in month])
    halfway = _commit_halfway(settings, settings.detector_app_id)
    assert all(offset > 0 for offset in halfway.values())

    worker = detector_worker("detector", detector_env(settings), tmp_path)
    reference = replay(settings)
    assert reference.events == sent
    expected_ids = {decode_signals_message(s).id for s in reference.signals}
    assert expected_ids

    try:
        worker.start().wait_ready(90)
        streamed: set[str] = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert worker.alive(), worker.log_tail()
            streamed = {
                decode_signals_message(r.value).id
                for r in read_topic(settings, settings.topic_signals)
            }
            if streamed >= expected_ids and ledger_table(settings) == reference.ledgers:
                break
            time.sleep(1)
        assert not expected_ids - streamed, f"{len(expected_ids - streamed)} signals lost"
        assert streamed == expected_ids
        assert ledger_table(settings) == reference.ledgers
        # It got there by going back, once per partition, not because nothing was committed.
        assert _rewinds(worker) >= settings.topic_partitions
    finally:
        worker.stop()
