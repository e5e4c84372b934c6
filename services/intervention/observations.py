"""From a detector signal to the outcome record both arms get: ``signal_observed``.

Pure: the same signal and key always give the same outcome, byte for byte, so a re-consumed
signal produces an outcome that consumers recognise by its id.
"""

from __future__ import annotations

from schemas.ids import deterministic_id
from schemas.outcomes import SignalObserved, SignalObservedData
from schemas.signals import ArrearsSignal
from services.intervention.pseudonym import pseudonymise

SOURCE = "nazorg/intervention"


def signal_observed(signal: ArrearsSignal, study_key: str) -> SignalObserved:
    """The outcome record of one observed signal, under the client's pseudonym."""
    return SignalObserved(
        id=deterministic_id("outcome", "signal_observed", signal.id),
        source=SOURCE,
        type="signal_observed",
        time=signal.time,
        subject=pseudonymise(signal.data.client_id, study_key),
        data=SignalObservedData(
            signal_type=signal.type,
            business_date=signal.data.business_date,
            dpd=signal.data.dpd,
            signal_id=signal.id,
        ),
    )
