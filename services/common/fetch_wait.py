"""How long a Faust worker's fetch may wait at the broker when there is nothing new.

faust-streaming 0.15 creates its worker consumer with ``fetch_max_wait_ms=1500`` and no setting
for it. On Apache Kafka that costs nothing: the broker answers a waiting fetch as soon as data
arrives on any partition in it. Tansu 0.6 does not for a fetch of several partitions: it holds
the fetch for the whole wait (measured 2026-11-27 with aiokafka, one record every 137 ms on one
of 4 partitions: median latency 216 ms at a 500 ms wait, 15 ms at 100 ms, 3 ms at 20 ms; on a
single partition 2 ms at any wait). So on the embedded broker every event waited up to 1.5 s
before a worker saw it (detection latency p50 ~700 ms at 500 events/s).
"""

from __future__ import annotations

from typing import Any

import faust

from services.common.faust_consumer import on_new_consumer


def limit_fetch_wait(app: faust.App, wait_ms: int) -> None:
    """Give the worker's aiokafka consumer ``fetch_max_wait_ms=wait_ms`` instead of Faust's."""

    def adjust(consumer: Any) -> None:
        thread = consumer._thread
        create = thread._create_consumer

        def _create_consumer(loop: Any) -> Any:
            client = create(loop)
            client._fetch_max_wait_ms = wait_ms  # read when the consumer starts its fetcher
            return client

        thread._create_consumer = _create_consumer

    on_new_consumer(app, adjust)
