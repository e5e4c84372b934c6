"""Where the report reads outcomes: the outcome topic or the intervention service's database.

Both give the same events (the relay publishes what SQL stored), so the report is the same from
either. An outcome that does not decode stops the report: dropping it silently would bias the
comparison, and only our own relay writes these records.
"""

from __future__ import annotations

from pydantic import ValidationError

from schemas.codec import Raw, decode_outcome
from schemas.outcomes import OutcomeEvent
from services.common.db import make_engine
from services.common.kafka import read_topic
from services.common.settings import CommonSettings
from services.intervention.repository import InterventionRepository
from services.report.records import ClientOutcome, client_outcomes

__all__ = ["SourceError", "from_database", "from_topic"]


class SourceError(RuntimeError):
    """An outcome record could not be read; the message says where it is."""


def from_topic(settings: CommonSettings, timeout_s: float = 30.0) -> list[ClientOutcome]:
    """Every record on ``settings.topic_outcomes`` up to its current end, one row per client."""
    records = read_topic(settings, settings.topic_outcomes, timeout_s)
    return client_outcomes(
        _decode(r.value, f"{r.topic} partition {r.partition} offset {r.offset}") for r in records
    )


def from_database(url: str, schema: str | None = None) -> list[ClientOutcome]:
    """Every stored outcome in the intervention database, one row per client."""
    engine = make_engine(url, schema)
    try:
        rows = InterventionRepository(engine).outcomes()
    finally:
        engine.dispose()
    return client_outcomes(_decode(row.payload, f"outcome {row.id}") for row in rows)


def _decode(raw: Raw, where: str) -> OutcomeEvent:
    try:
        return decode_outcome(raw)
    except ValidationError as error:
        raise SourceError(f"undecodable outcome at {where}: {error}") from error
