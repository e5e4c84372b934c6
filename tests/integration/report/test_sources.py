"""The report reads the same clients from the outcome topic on a real broker and from the
intervention database (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import Engine, text

from schemas.codec import encode
from schemas.outcomes import OutcomeEvent
from services.common.kafka import ensure_topics, make_producer
from services.common.stack import client_settings
from services.intervention.repository import InterventionRepository, OutcomeRow
from services.report.records import ClientOutcome, client_outcomes
from services.report.sources import from_database, from_topic
from tests.unit.report.factories import closed, engagement, enrolled

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

EVENTS: list[OutcomeEvent] = [
    enrolled("a", "treatment", "prevention"),
    enrolled("b", "control", "collection_struggle"),
    enrolled("c", "control", "restructured"),
    enrolled("d", "treatment", "interest_only_high_risk"),
    engagement("a"),
    closed("a", arrears_day=40, relapse=True),
    closed("b", followup=200, censored=True),
    closed("c", arrears_day=3, followup=365),
    closed("orphan", arrears_day=1),  # never enrolled: ignored
]


def expected() -> list[ClientOutcome]:
    rows = client_outcomes(EVENTS)
    assert len(rows) == 4
    assert sum(not row.closed for row in rows) == 1
    return rows


def store(engine: Engine) -> None:
    rows = [
        OutcomeRow(
            id=event.id,
            subject=event.subject,
            type=event.type,
            time=event.time,
            arm=None,
            payload=encode(event).decode("utf-8"),
        )
        for event in EVENTS
    ]
    InterventionRepository(engine).run(None, lambda tx: tx.insert_outcomes(rows))


def url_and_schema(engine: Engine) -> tuple[str, str | None]:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql":
        return url, None
    with engine.connect() as connection:
        return url, connection.execute(text("SELECT current_schema()")).scalar_one()


def test_database_gives_one_row_per_enrolled_client(db_engine: Engine) -> None:
    store(db_engine)
    assert from_database(*url_and_schema(db_engine)) == expected()


def test_topic_with_duplicates_gives_the_same_rows_as_the_database(
    kafka_bootstrap: str, db_engine: Engine
) -> None:
    settings = client_settings(kafka_bootstrap, f"report-{secrets.token_hex(4)}")
    ensure_topics(settings, [settings.topic_outcomes])
    producer = make_producer(settings)
    try:
        for event in EVENTS + EVENTS[:3]:  # at-least-once: some records arrive twice
            producer.send(
                settings.topic_outcomes, key=event.subject.encode(), value=encode(event)
            ).get(timeout=30)
    finally:
        producer.close()
    store(db_engine)
    from_broker = from_topic(settings)
    assert from_broker == expected()
    assert from_broker == from_database(*url_and_schema(db_engine))


def test_an_empty_topic_gives_no_clients(kafka_bootstrap: str) -> None:
    settings = client_settings(kafka_bootstrap, f"report-{secrets.token_hex(4)}")
    ensure_topics(settings, [settings.topic_outcomes])
    assert from_topic(settings, timeout_s=15) == []
