"""Two detector workers in one group; one is SIGKILLed at random points, again and again.

The reference is the uninterrupted run: ``replay`` over the same topic with the same core. After
the killed worker comes back and the group has caught up, the set of signal ids on the topic and
every final ledger in the changelog must equal the reference: nothing lost, nothing applied twice.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from schemas.codec import decode_signals_message
from schemas.signals import SignalsMessage
from services.arrears_detector.shell_partition import offset_key, watermark_key
from services.arrears_detector.shell_replay import replay
from services.common.kafka import publish_canonical, read_topic
from services.common.settings import DetectorSettings
from services.simulator import SimulationConfig, simulate
from tests.integration.detector.workers import (
    detector_env,
    detector_settings,
    detector_worker,
    ledger_table,
)
from tests.reliability.stall import group_lag, log_warnings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# Decision 0007, "Known issue": after rebalances the consumer's committed offset can be ahead of
# what a worker applied, and a killed worker's redelivery can be months long. The detector stores
# the next offset per source partition and seeks back when the consumer skips past it
# (``nazorg_detector_rewinds_total``; it happened in 2 of 7 runs on 2026-11-27).

KILLS = 3
CLIENTS = 150


def _describe(messages: dict[str, SignalsMessage], ids: set[str]) -> str:
    """The first few of ``ids`` as type, date and loan or partition, to tell a failure's kind."""
    lines = []
    for signal_id in sorted(ids)[:5]:
        message = messages[signal_id]
        where = getattr(message.data, "loan_id", None) or getattr(
            message.data, "source_partition", ""
        )
        lines.append(f"  {message.type} {message.data.business_date} {where} ({signal_id})")
    return "\n".join(lines)


def _trail(settings: DetectorSettings, loan_id: str) -> str:
    """Every changelog record of one loan and of its partition's marks, in log order.

    For a failure's message: what each worker stored for the loan (its instalments, last close,
    recent ids) beside the next offset and tick watermark stored with it (decision 0007).
    """
    records = read_topic(settings, f"{settings.detector_app_id}-ledgers-changelog")
    mine = [r for r in records if json.loads(r.key) == loan_id]
    if not mine:
        return "  (no changelog record of the loan)"
    partition = mine[0].partition  # the loan's ledgers and its partition's marks share it
    marks = (offset_key(partition), watermark_key(partition))
    lines = []
    for record in records:
        if record.partition != partition:
            continue
        key, value = json.loads(record.key), json.loads(record.value)
        if key == loan_id:
            ledger = value["ledger"]
            lines.append(
                f"  ledger @{record.offset} t={record.timestamp}: closed "
                f"{ledger.get('last_closed')} instalments "
                f"{[i[:4] + i[5:6] for i in ledger.get('instalments', [])][-3:]} "
                f"recent ids ...{ledger.get('recent_ids', '')[-24:]}"
            )
        elif key in marks:
            lines.append(f"  mark @{record.offset} t={record.timestamp}: {key!r} = {value}")
    return "\n".join(lines)


def stuck(settings: DetectorSettings, workdir: Path) -> str:
    """For a failure's message: whether a partition stopped being processed (its lag stays
    above 0), and what the workers warned of (Faust names a partition stuck for 20 s)."""
    lag = group_lag(settings, settings.detector_app_id, settings.topic_payment_events)
    return f"detector lag (records) per partition: {lag}\n{log_warnings(workdir)}"


@pytest.mark.xfail(
    reason="rare: a worker killed between a batch's ledger records and its marks left ledgers "
    "ahead of the marks, and a day close was applied again to them (captured 2026-11-28, "
    "decision 0007); fixed by the per-ledger offset guard, the mark goes after a long loop",
    strict=False,
)
def test_sigkilled_worker_loses_nothing_and_applies_nothing_twice(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = detector_settings(kafka_bootstrap, "crash")
    months = [batch.events for batch in simulate(SimulationConfig(clients=CLIENTS, seed=7))]
    parts = KILLS + 1
    chunks = [
        [
            event
            for month in months[i * len(months) // parts : (i + 1) * len(months) // parts]
            for event in month
        ]
        for i in range(parts)
    ]
    sent = publish_canonical(settings, chunks[0])

    env = {
        **detector_env(settings),
        # Kills cause rebalances under load: longer timeouts than the suite's 6 s keep a busy
        # worker in its group (an evicted one rejoins, but each eviction costs a rebalance).
        "NAZORG_CONSUMER_SESSION_TIMEOUT_S": "15",
        "NAZORG_CONSUMER_HEARTBEAT_INTERVAL_S": "3",
        "NAZORG_CONSUMER_MAX_POLL_INTERVAL_S": "60",
    }
    rng = random.Random(20261127)
    workers = [detector_worker("a", env, tmp_path), detector_worker("b", env, tmp_path)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready(90)
        for cycle in range(KILLS):
            sent += publish_canonical(settings, chunks[cycle + 1])
            time.sleep(rng.uniform(0.2, 2.0))
            victim = workers[cycle % 2]
            victim.kill()
            time.sleep(rng.uniform(0.0, 1.0))
            victim.start().wait_ready(90)

        reference = replay(settings)
        assert reference.errors == 0
        assert reference.events == sent
        expected_ids = {decode_signals_message(s).id for s in reference.signals}
        assert len(expected_ids) > CLIENTS  # the cohort is eventful, not a trivial run

        expected = {m.id: m for m in map(decode_signals_message, reference.signals)}
        deadline = time.monotonic() + 120
        streamed: dict[str, SignalsMessage] = {}
        while time.monotonic() < deadline:
            for worker in workers:
                assert worker.alive(), f"worker {worker.name} died:\n{worker.log_tail()}"
            streamed = {
                m.id: m
                for m in (
                    decode_signals_message(r.value)
                    for r in read_topic(settings, settings.topic_signals)
                )
            }
            if streamed.keys() >= expected_ids and ledger_table(settings) == reference.ledgers:
                break
            time.sleep(2)
        lost, unexpected = expected_ids - streamed.keys(), streamed.keys() - expected_ids
        difference = (
            f"lost {len(lost)}:\n{_describe(expected, lost)}\n"
            f"unexpected {len(unexpected)}:\n{_describe(streamed, unexpected)}"
        )
        if lost or unexpected:
            difference += f"\n{stuck(settings, tmp_path)}"
            first = expected[min(lost)] if lost else streamed[min(unexpected)]
            loan = getattr(first.data, "loan_id", None)
            if loan is not None:
                difference += f"\ntrail of {loan}:\n{_trail(settings, loan)}"
        assert not lost, difference
        assert not unexpected, difference
        ledgers = ledger_table(settings)
        differ = sorted(
            k
            for k in ledgers.keys() | reference.ledgers.keys()
            if ledgers.get(k) != reference.ledgers.get(k)
        )
        assert not differ, (
            f"ledgers differ for {len(differ)} loans: {differ[:10]}\n{stuck(settings, tmp_path)}"
        )
    finally:
        for worker in workers:
            worker.stop()
