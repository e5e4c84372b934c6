"""The lean Faust monitor: end offsets still exported, per-event hooks leave no trace."""

from __future__ import annotations

import time

from faust.sensors.prometheus import FaustMetrics
from faust.types import TP
from prometheus_client import CollectorRegistry

from services.common.faust_sensors import LeanPrometheusMonitor


def _monitor() -> tuple[LeanPrometheusMonitor, CollectorRegistry]:
    registry = CollectorRegistry()
    return LeanPrometheusMonitor(metrics=FaustMetrics.create(registry, "t")), registry


def test_end_offsets_are_exported_per_partition_and_survive_a_rebalance() -> None:
    monitor, registry = _monitor()
    tp0, tp1 = TP("events", 0), TP("events", 1)
    monitor.track_tp_end_offset(tp0, 5)
    monitor.track_tp_end_offset(tp1, 9)
    monitor.track_tp_end_offset(tp0, 7)

    def end(tp: TP) -> float | None:
        labels = {"topic": tp.topic, "partition": str(tp.partition)}
        return registry.get_sample_value("t_topic_partition_end_offset", labels)

    assert (end(tp0), end(tp1)) == (7, 9)
    assert monitor.tp_end_offsets == {tp0: 7, tp1: 9}
    monitor._clear_partition_related_metrics()  # what a rebalance does
    assert end(tp0) is None
    monitor.track_tp_end_offset(tp0, 11)
    assert end(tp0) == 11


def test_per_event_hooks_record_nothing() -> None:
    monitor, registry = _monitor()
    tp = TP("events", 0)
    monitor.on_message_in(tp, 3, None)
    monitor.on_stream_event_in(tp, 3, None, None)
    monitor.on_stream_event_out(tp, 3, None, None, None)
    monitor.on_message_out(tp, 3, None)
    monitor.on_table_get(None, "k")
    assert registry.get_sample_value("t_messages_received_total") == 0
    assert registry.get_sample_value("t_active_messages") == 0
    assert monitor.messages_received_total == 0


def test_a_stream_event_keeps_the_stall_checks_clock() -> None:
    """Faust's stall check reads ``stream_inbound_time``: a partition missing from it is
    reported as a stream that has not started processing, at error level."""
    monitor, _ = _monitor()
    tp = TP("events", 2)
    before = time.monotonic()
    monitor.on_stream_event_in(tp, 3, None, None)
    assert before <= monitor.stream_inbound_time[tp] <= time.monotonic()
