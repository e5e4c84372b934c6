"""Adjustments to the consumer a Faust app builds for its worker.

faust-streaming 0.15 has no settings for what nazorg changes in that consumer (the fetch wait,
where table recovery reads changelog ends), so each adjustment wraps ``App._new_consumer``,
the one place the worker's consumer is made. Adjustments compose in the order they are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust


def on_new_consumer(app: faust.App, adjust: Callable[[Any], None]) -> None:
    """Call ``adjust`` on every consumer ``app`` builds, after the adjustments added before."""
    new_consumer = app._new_consumer

    def _new_consumer() -> Any:
        consumer = new_consumer()
        adjust(consumer)
        return consumer

    app._new_consumer = _new_consumer  # type: ignore[method-assign]
