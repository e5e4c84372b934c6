"""Ingest HTTP validate+publish throughput ÷ a raw kafka-python producer, same events, same run.

Anchor: kafka-python with the same producer settings as ingest (acks=all, idempotent) sending
the pre-encoded events keyed by loan id, then flushing. Subject: the real ``nazorg ingest``
process receiving the same events in JSON batches over HTTP on loopback, each batch answered
only after the broker acknowledged it. Goal: ratio >= 0.7.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx

from bench.common import Result, Timer, synthetic_events
from services.common.broker import free_port
from services.common.kafka import ensure_topics, make_producer
from services.common.processes import ServiceProcess
from services.common.stack import EMBEDDED_BROKER_ENV, client_settings, namespaced_topics


def run(bootstrap: str, workdir: Path, loans: int, batch: int = 1000) -> Result:
    events = synthetic_events(loans)
    encoded = [(e["data"]["loan_id"].encode(), json.dumps(e).encode()) for e in events]

    anchor_settings = client_settings(bootstrap, "bench-anchor")
    ensure_topics(anchor_settings)
    producer = make_producer(anchor_settings)
    producer.partitions_for(anchor_settings.topic_payment_events)
    with Timer() as anchor:
        for key, value in encoded:
            producer.send(anchor_settings.topic_payment_events, key=key, value=value)
        producer.flush()
    producer.close()

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
    bodies = [
        ("[" + ",".join(json.dumps(e) for e in events[i : i + batch]) + "]").encode()
        for i in range(0, len(events), batch)
    ]
    try:
        ingest.start().wait_ready(60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            client.post("/v1/events", content=b"[]")  # warm the connection and the producer
            with Timer() as subject:
                accepted = 0
                for body in bodies:
                    answer = client.post("/v1/events", content=body, timeout=60)
                    answer.raise_for_status()
                    accepted += answer.json()["accepted"]
        assert accepted == len(events), f"accepted {accepted} of {len(events)}"
    finally:
        ingest.stop()
    result = Result(
        name="ingest HTTP validate+publish",
        subject=len(events) / subject.seconds,
        unit="events/s",
        anchor=len(events) / anchor.seconds,
        anchor_name="raw kafka-python producer",
        goal="ratio >= 0.7",
        details={"events": len(events), "batch": batch},
    )
    result.met = (result.ratio or 0) >= 0.7
    return result
