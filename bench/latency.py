"""Detection latency: a payment event or tick handed to ingest → its signal on arrears.signals.v1.

The real ``nazorg ingest`` and ``nazorg detector`` processes on the embedded broker. After a seed
of one open instalment per loan, a sender posts ``direct_debit_rejected`` events (each for a loan
of its own, so each causes exactly one ``direct_debit_failed`` signal) at a steady rate in small
batches, the way the bank's pipeline trickles them in during the day. A consumer of the signal
topic in this process notes when each signal arrives; the latency of an event runs from the
moment its HTTP request *started* (so ingest's validation and acks=all publish are inside the
figure) to the moment its signal was read. Then one ``business_day_closed`` tick: from its request
to the last partition's ``detector_day_closed`` marker. Goal: p99 < 250 ms at 1,000 events/s.
"""

from __future__ import annotations

import json
import secrets
import statistics
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from kafka import TopicPartition

from bench.common import Result
from services.common.broker import free_port
from services.common.kafka import ensure_topics, make_consumer, partitions_for
from services.common.processes import ServiceProcess
from services.common.settings import CommonSettings
from services.common.stack import EMBEDDED_BROKER_ENV, client_settings, namespaced_topics

NAMESPACE = "bench-latency"
DUE = date(2027, 3, 1)
GOAL_P99_MS = 250.0


def _event(event_id: str, type_: str, hour: int, data: dict[str, Any]) -> dict[str, Any]:
    """A canonical event on the bench's business day ``DUE``, at ``hour`` UTC."""
    at = datetime(DUE.year, DUE.month, DUE.day, hour, tzinfo=UTC).isoformat()
    return {"id": event_id, "source": "bench", "type": type_, "time": at, "data": data}


def _loan(i: int) -> dict[str, str]:
    return {"loan_id": f"LL{i:07d}", "client_id": f"CL{i:07d}", "currency": "EUR"}


def _due(i: int) -> dict[str, Any]:
    data = {"instalment_id": f"LI{i}", "due_date": DUE.isoformat(), "amount": "1234.56"}
    return _event(
        f"lat-due-{i}",
        "instalment_due",
        6,
        {**_loan(i), **data, "outstanding_balance": "250000.00"},
    )


def _rejected(i: int) -> dict[str, Any]:
    data = {"end_to_end_id": f"LE2E{i}", "mandate_id": f"LM{i}", "amount": "1234.56"}
    return _event(
        f"lat-rj-{i}",
        "direct_debit_rejected",
        9,
        {**_loan(i), **data, "booking_date": DUE.isoformat(), "reason_code": "AM04"},
    )


def _tick() -> dict[str, Any]:
    data = {"business_date": DUE.isoformat(), "calendar": "TARGET2"}
    return _event(f"lat-close-{DUE.isoformat()}", "business_day_closed", 18, data)


def _body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


class SignalClock:
    """Reads the signal topic in a thread and notes when each causing event's signal arrived."""

    def __init__(self, settings: CommonSettings) -> None:
        self.arrived: dict[str, float] = {}
        self.day_closed: dict[int, float] = {}
        self._stop = threading.Event()
        self._consumer = make_consumer(settings, None)
        topic = settings.topic_signals
        self._consumer.assign([TopicPartition(topic, p) for p in partitions_for(settings, topic)])
        self._thread = threading.Thread(target=self._run, name="signal-clock", daemon=True)

    def start(self) -> SignalClock:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            batches = self._consumer.poll(timeout_ms=20, max_records=5_000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    message = json.loads(record.value)
                    if message.get("type") == "detector_day_closed":
                        self.day_closed.setdefault(record.partition, now)
                        continue
                    for cause in message.get("data", {}).get("cause_event_ids", ()):
                        self.arrived.setdefault(cause, now)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _wait(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout_s:.0f} s")
        time.sleep(0.05)


def run(
    bootstrap: str, workdir: Path, rate: int = 1_000, seconds: float = 20.0, batch: int = 50
) -> list[Result]:
    settings = client_settings(bootstrap, NAMESPACE)
    ensure_topics(settings)
    token = secrets.token_urlsafe(16)
    ingest_port, detector_port = free_port(), free_port()
    env = {
        **EMBEDDED_BROKER_ENV,
        "NAZORG_CONSUMER_SESSION_TIMEOUT_S": "15",
        "NAZORG_CONSUMER_HEARTBEAT_INTERVAL_S": "3",
        "NAZORG_CONSUMER_MAX_POLL_INTERVAL_S": "60",
        "NAZORG_BOOTSTRAP_SERVERS": bootstrap,
        "NAZORG_INGEST_PORT": str(ingest_port),
        "NAZORG_INGEST_API_TOKENS": json.dumps([token]),
        "NAZORG_INGEST_INBOUND_ENABLED": "false",
        "NAZORG_DETECTOR_APP_ID": f"{NAMESPACE}-detector",
        "NAZORG_DETECTOR_WEB_PORT": str(detector_port),
        "NAZORG_DETECTOR_DATA_DIR": str(workdir / "latency-detector"),
        "NAZORG_LOG_LEVEL": "WARNING",
        **{f"NAZORG_{k.upper()}": v for k, v in namespaced_topics(NAMESPACE).items()},
    }
    ingest = ServiceProcess(
        "ingest",
        ["ingest"],
        env,
        f"http://127.0.0.1:{ingest_port}/readyz",
        workdir / "latency-ingest.log",
    )
    detector = ServiceProcess(
        "detector",
        ["detector"],
        env,
        f"http://127.0.0.1:{detector_port}/readyz",
        workdir / "latency-detector.log",
    )
    total = int(rate * seconds)
    clock = SignalClock(settings).start()
    sent_at: dict[str, float] = {}
    answered_ms: list[float] = []
    try:
        ingest.start()
        detector.start()
        ingest.wait_ready(60)
        detector.wait_ready(90)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{ingest_port}", headers=headers) as client:
            for start in range(0, total, 1_000):
                seed = [_due(i) for i in range(start, min(total, start + 1_000))]
                client.post("/v1/events", content=_body(seed), timeout=60).raise_for_status()
            # A warm-up signal: the detector has consumed the seed once it answers for it.
            client.post("/v1/events", content=_body([_rejected(total)]), timeout=60)
            _wait(lambda: f"lat-rj-{total}" in clock.arrived, 300, "the seed to be consumed")

            interval = batch / rate
            began = time.perf_counter()
            for n, first in enumerate(range(0, total, batch)):
                pause = began + n * interval - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                events = [_rejected(i) for i in range(first, min(total, first + batch))]
                body = _body(events)
                posted = time.perf_counter()
                for event in events:
                    sent_at[event["id"]] = posted
                client.post("/v1/events", content=body, timeout=60).raise_for_status()
                answered_ms.append((time.perf_counter() - posted) * 1000)
            sending_s = time.perf_counter() - began
            _wait(lambda: sent_at.keys() <= clock.arrived.keys(), 120, "every signal")

            partitions = settings.topic_partitions
            tick_sent = time.perf_counter()
            client.post("/v1/events", content=_body([_tick()]), timeout=60).raise_for_status()
            _wait(lambda: len(clock.day_closed) >= partitions, 120, "every day-closed marker")
            tick_ms = (max(clock.day_closed.values()) - tick_sent) * 1000
    finally:
        clock.stop()
        detector.stop()
        ingest.stop()
    latencies = [(clock.arrived[event_id] - at) * 1000 for event_id, at in sent_at.items()]
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    result = Result(
        name="detection latency, ingest request → signal (p99)",
        subject=p99,
        unit="ms",
        goal=f"p99 < {GOAL_P99_MS:.0f} ms at {rate:,} events/s",
        details={
            "events": len(latencies),
            "target_rate": rate,
            "achieved_rate": round(len(latencies) / sending_s, 1),
            "batch": batch,
            "p50_ms": round(p50, 1),
            "p90_ms": round(_percentile(latencies, 0.90), 1),
            "p99_ms": round(p99, 1),
            "max_ms": round(max(latencies), 1),
            "mean_ms": round(statistics.fmean(latencies), 1),
            "ingest_answer_p50_ms": round(_percentile(answered_ms, 0.5), 1),
            "ingest_answer_p99_ms": round(_percentile(answered_ms, 0.99), 1),
            "tick_to_last_day_closed_ms": round(tick_ms, 1),
            "tick_loans_open": total + 1,
        },
    )
    result.met = p99 < GOAL_P99_MS
    return [result]
