"""The detector worker's own metrics (Faust's sensor adds consumer and table metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SIGNALS = Counter(
    "nazorg_detector_signals_total", "Signals published on arrears.signals.v1", ["type"]
)
DUPLICATES = Counter(
    "nazorg_detector_duplicates_total",
    "Events and ticks that changed nothing because they were already applied",
)
INDEX_REBUILDS = Counter(
    "nazorg_detector_index_rebuilds_total",
    "Deadline indexes rebuilt from the ledger table (once per partition and rebalance)",
)
LOANS_EVALUATED = Histogram(
    "nazorg_detector_day_close_loans",
    "Loans evaluated per end-of-day tick and partition",
    buckets=(0, 1, 10, 100, 1_000, 10_000, 100_000),
)
REWINDS = Counter(
    "nazorg_detector_rewinds_total",
    "Seeks back to a partition's first unapplied offset after the consumer skipped past it",
)
