"""A one-line progress indicator on stderr (no extra dependency; ``rich`` is not installed)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Rewrites one stderr line per simulated month; wall time here is for people only."""

    def __init__(self, total_months: int, out: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total_months
        self.out = sys.stderr if out is None else out
        self.enabled = enabled
        self.started = time.monotonic()
        self.months = 0
        self.events = 0

    def month_done(self, label: str, events: int) -> None:
        self.months += 1
        self.events += events
        if not self.enabled:
            return
        width = 24
        filled = width * self.months // max(1, self.total)
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.monotonic() - self.started
        self.out.write(
            f"\rsimulate [{bar}] {self.months}/{self.total} months ({label})"
            f"  {self.events:,} events  {elapsed:5.1f}s"
        )
        self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.out.write("\n")
            self.out.flush()
