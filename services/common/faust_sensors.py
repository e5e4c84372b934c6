"""Faust's Prometheus monitor without its per-event work.

``PrometheusMonitor`` runs for every message, stream event and table key: Python-level
bookkeeping plus two or three labelled metrics (``labels()`` alone costs microseconds). In the
detector under the latency benchmark that was an eighth of the worker's CPU, for figures
nobody reads: the services count what they consume and how long a batch takes in their own
metrics (``nazorg_events_consumed_total``, ``nazorg_processing_seconds``). What on-call uses of
Faust's metrics stays: commits, rebalances, assignments, sends, end offsets per partition (one
labelled child per partition, cached), web requests.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP


class LeanPrometheusMonitor(PrometheusMonitor):
    """The per-message, per-event and per-key hooks do nothing (but keep the stall check's
    clock); the rest is Faust's."""

    def __init__(self, metrics: FaustMetrics, **kwargs: Any) -> None:
        super().__init__(metrics, **kwargs)
        self._end_offsets: dict[TP, Any] = {}

    def on_message_in(self, tp: TP, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: TP, offset: int, stream: Any, event: Any) -> None:
        """Only the time a partition's stream last took an event, which Faust's stall check
        reads: without it every partition with a backlog is reported, at error level, as a
        stream that "has not started processing" (189 false errors in one pilot year), and a
        real stall could not be told from them."""
        self.stream_inbound_time[tp] = monotonic()

    def on_stream_event_out(
        self, tp: TP, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: TP, offset: int, message: Any) -> None:
        return None

    def on_table_get(self, table: Any, key: Any) -> None:
        return None

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        return None

    def on_table_del(self, table: Any, key: Any) -> None:
        return None

    def track_tp_end_offset(self, tp: TP, offset: int) -> None:
        """What Faust's does (called per partition on every fetch), with the child cached."""
        self.tp_end_offsets[tp] = offset
        child = self._end_offsets.get(tp)
        if child is None:
            child = self._metrics.topic_partition_end_offset.labels(
                topic=tp.topic, partition=tp.partition
            )
            self._end_offsets[tp] = child
        child.set(offset)

    def _clear_partition_related_metrics(self) -> None:
        self._end_offsets.clear()  # Faust removes the children on a rebalance
        super()._clear_partition_related_metrics()
