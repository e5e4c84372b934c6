"""Running the real ingest (uvicorn on loopback + runtime) against a real broker, for tests."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from services.common.kafka import client_kwargs, ensure_topics
from services.common.settings import CommonSettings, IngestSettings
from services.common.stack import client_settings
from services.ingest.auth import sign
from services.ingest.server import IngestRuntime

TOKEN = secrets.token_urlsafe(24)
HMAC_KEY = secrets.token_urlsafe(24)


def namespace(prefix: str) -> str:
    """A topic prefix no other module or run uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def ingest_settings(bootstrap: str, ns: str, **overrides: Any) -> IngestSettings:
    """Settings for an ingest under test: its own topics and group, short group timeouts."""
    values: dict[str, Any] = {
        **client_settings(bootstrap, ns).model_dump(),
        "ingest_api_tokens": [TOKEN],
        "ingest_hmac_keys": [HMAC_KEY],
        "ingest_inbound_enabled": False,
        "ingest_inbound_group_id": f"{ns}-ingest-inbound",
        "ingest_publish_timeout_s": 5.0,
    }
    values.update(overrides)
    return IngestSettings.model_validate(values)


class ServerThread:
    """uvicorn serving an app on 127.0.0.1 (a free port chosen by the OS) in a thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        assert not self._thread.is_alive(), "uvicorn thread did not stop"


@dataclass
class RunningIngest:
    settings: IngestSettings
    runtime: IngestRuntime
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url


@contextlib.contextmanager
def running_ingest(settings: IngestSettings) -> Iterator[RunningIngest]:
    """Topics created, runtime started, HTTP served; all of it stopped on exit."""
    ensure_topics(settings)
    runtime = IngestRuntime(settings)
    try:
        runtime.start()
        server = ServerThread(runtime.app).start()
        try:
            yield RunningIngest(settings, runtime, server)
        finally:
            server.stop()
    finally:
        runtime.close()


def bearer(token: str = TOKEN, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


def signed(
    body: bytes,
    key: str = HMAC_KEY,
    at: float | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "X-Nazorg-Timestamp": timestamp,
        "X-Nazorg-Signature": sign(key, timestamp, body),
        "Content-Type": content_type,
    }


def metric(name: str, **labels: str) -> float:
    """Current value of a sample in the default registry (0 when never set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def metric_total(name: str, **labels: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def committed_offsets(settings: CommonSettings, group: str) -> dict[int, int]:
    """The group's committed offsets on the inbound topic, by partition (without joining it)."""
    consumer = KafkaConsumer(group_id=group, enable_auto_commit=False, **client_kwargs(settings))
    try:
        found: dict[int, int] = {}
        for partition in consumer.partitions_for_topic(settings.topic_inbound) or ():
            offset = consumer.committed(TopicPartition(settings.topic_inbound, partition))
            if offset is not None:
                found[partition] = offset
        return found
    finally:
        consumer.close(autocommit=False)
