"""Ingest HTTP validate+publish throughput ÷ a raw kafka-python producer, same events, same run.

Anchor: kafka-python with the same producer settings as ingest (acks=all, idempotent, and
ingest's batching, ``services.ingest.publisher.PRODUCER_TUNING``) sending the pre-encoded events
keyed by loan id, then flushing. Subject: the real ``nazorg ingest`` process receiving the same
events in JSON batches over HTTP on loopback, each batch answered only after the broker
acknowledged it. Goal: ratio >= 0.7.

The two are measured in alternating rounds (anchor, subject, anchor, subject, ...) on fresh
copies of the events (new ids and references, so nothing is a duplicate), and each figure is
all events over all the time it took: a noisy neighbour then slows both alike instead of
whichever happened to run at the wrong moment. ``details`` lists every round.
"""

from __future__ import annotations

import copy
import json
import secrets
import statistics
from pathlib import Path
from typing import Any

import httpx

from bench.common import Result, Timer, synthetic_events
from services.common.broker import free_port
from services.common.kafka import ensure_topics, make_producer
from services.common.processes import ServiceProcess
from services.common.stack import EMBEDDED_BROKER_ENV, client_settings, namespaced_topics
from services.ingest.publisher import PRODUCER_TUNING

_UNIQUE_FIELDS = ("end_to_end_id", "bank_reference")  # with the id, the dedupe keys


def _round_copy(events: list[dict[str, Any]], round_no: int) -> list[dict[str, Any]]:
    """The events again, with ids and references no earlier round used."""
    copies = copy.deepcopy(events)
    for event in copies:
        event["id"] = f"r{round_no}-{event['id']}"
        for name in _UNIQUE_FIELDS:
            if name in event["data"]:
                event["data"][name] = f"r{round_no}-{event['data'][name]}"
    return copies


def _anchor(bootstrap: str, encoded: list[tuple[bytes, bytes]]) -> float:
    settings = client_settings(bootstrap, "bench-anchor")
    ensure_topics(settings)
    producer = make_producer(settings, **PRODUCER_TUNING)
    producer.partitions_for(settings.topic_payment_events)
    with Timer() as anchor:
        for key, value in encoded:
            producer.send(settings.topic_payment_events, key=key, value=value)
        producer.flush()
    producer.close()
    return anchor.seconds


def run(bootstrap: str, workdir: Path, loans: int, batch: int = 1000, rounds: int = 3) -> Result:
    base = synthetic_events(loans)
    namespace = "bench-ingest"
    token = secrets.token_urlsafe(16)
    port = free_port()
    env = {
        **EMBEDDED_BROKER_ENV,
        "NAZORG_BOOTSTRAP_SERVERS": bootstrap,
        "NAZORG_INGEST_PORT": str(port),
        "NAZORG_INGEST_API_TOKENS": json.dumps([token]),
        "NAZORG_INGEST_INBOUND_ENABLED": "false",
        "NAZORG_LOG_LEVEL": "WARNING",
        **{f"NAZORG_{k.upper()}": v for k, v in namespaced_topics(namespace).items()},
    }
    ingest = ServiceProcess(
        "ingest", ["ingest"], env, f"http://127.0.0.1:{port}/readyz", workdir / "ingest.log"
    )
    anchor_s: list[float] = []
    subject_s: list[float] = []
    try:
        ingest.start().wait_ready(60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            client.post("/v1/events", content=b"[]")  # warm the connection
            for round_no in range(rounds):
                events = _round_copy(base, round_no)
                encoded = [(e["data"]["loan_id"].encode(), json.dumps(e).encode()) for e in events]
                bodies = [
                    ("[" + ",".join(json.dumps(e) for e in events[i : i + batch]) + "]").encode()
                    for i in range(0, len(events), batch)
                ]
                anchor_s.append(_anchor(bootstrap, encoded))
                with Timer() as subject:
                    accepted = 0
                    for body in bodies:
                        answer = client.post("/v1/events", content=body, timeout=60)
                        answer.raise_for_status()
                        accepted += answer.json()["accepted"]
                subject_s.append(subject.seconds)
                assert accepted == len(events), f"accepted {accepted} of {len(events)}"
    finally:
        ingest.stop()
    total = len(base) * rounds
    result = Result(
        name="ingest HTTP validate+publish",
        subject=total / sum(subject_s),
        unit="events/s",
        anchor=total / sum(anchor_s),
        anchor_name="raw kafka-python producer",
        goal="ratio >= 0.7",
        details={
            "events": len(base),
            "batch": batch,
            "rounds": rounds,
            "producer_tuning": PRODUCER_TUNING,
            "round_ratios": [a / s for a, s in zip(anchor_s, subject_s, strict=True)],
            "median_round_ratio": statistics.median(
                a / s for a, s in zip(anchor_s, subject_s, strict=True)
            ),
        },
    )
    result.met = (result.ratio or 0) >= 0.7
    return result
