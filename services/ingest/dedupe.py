"""A bounded memory of what ingest already published, for reporting duplicates.

It is a best-effort first line: the window is bounded and lost on restart, so the detector dedupes
again by event id. Only acknowledged events are remembered, so a failed publish can be retried.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class DedupeWindow:
    """The last ``capacity`` keys seen, oldest forgotten first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def seen(self, keys: Iterable[str]) -> bool:
        return not self._keys.keys().isdisjoint(keys)

    def remember(self, keys: Iterable[str]) -> None:
        if self._capacity == 0:
            return
        remembered = self._keys
        for key in keys:
            if key in remembered:
                remembered.move_to_end(key)
            else:
                remembered[key] = None  # a new key goes to the end by itself
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
