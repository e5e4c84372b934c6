"""`nazorg ingest import`: ISO 20022 files to the events topic, bad entries to the DLQ."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from schemas.codec import decode_dead_letter, decode_payment_event
from services.common.kafka import read_topic
from services.common.processes import nazorg_command
from services.common.stack import namespaced_topics
from services.ingest.file_import import run_import
from services.ingest.iso20022 import CsvMandateDirectory, import_file
from tests.integration.ingest.helpers import ingest_settings, namespace

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[2] / "fixtures" / "iso20022"
MANDATES = FIXTURES / "mandates.csv"


def test_every_mapped_event_is_published_keyed_by_loan(kafka_bootstrap: str) -> None:
    settings = ingest_settings(kafka_bootstrap, namespace("isoimport"))
    files = [FIXTURES / "camt054_returns.xml", FIXTURES / "pain002_rejects.xml"]
    expected = {
        event.id: event
        for path in files
        for event in import_file(path, CsvMandateDirectory(MANDATES)).events
    }
    assert expected

    summaries, dead_lettered = run_import(files, MANDATES, settings=settings)

    assert [s["file"] for s in summaries] == [str(f) for f in files]
    published = read_topic(settings, settings.topic_payment_events)
    by_id = {decode_payment_event(r.value).id: r for r in published}
    assert set(by_id) == set(expected)
    for event_id, record in by_id.items():
        assert record.key == expected[event_id].data.loan_id.encode()
        assert decode_payment_event(record.value) == expected[event_id]
    assert not dead_lettered


def test_a_bad_entry_is_dead_lettered_and_the_rest_imported(kafka_bootstrap: str) -> None:
    settings = ingest_settings(kafka_bootstrap, namespace("isobad"))
    path = FIXTURES / "camt054_one_bad_entry.xml"
    result = import_file(path, CsvMandateDirectory(MANDATES))
    assert result.events
    assert len(result.errors) == 1

    _, dead_lettered = run_import([path], MANDATES, settings=settings)

    assert dead_lettered
    published = {
        decode_payment_event(r.value).id
        for r in read_topic(settings, settings.topic_payment_events)
    }
    assert published == {event.id for event in result.events}
    letters = [decode_dead_letter(r.value) for r in read_topic(settings, settings.topic_dlq)]
    assert len(letters) == 1
    assert letters[0].data.source == "iso20022"
    assert letters[0].data.reason == result.errors[0].reason


def test_cli_exits_1_when_something_was_dead_lettered(kafka_bootstrap: str) -> None:
    ns = namespace("isocli")
    env = {
        **os.environ,
        "NAZORG_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "NAZORG_TOPIC_REPLICATION_FACTOR": "1",
        **{f"NAZORG_{k.upper()}": v for k, v in namespaced_topics(ns).items()},
    }
    clean = subprocess.run(
        nazorg_command(
            "ingest", "import", "--mandates", str(MANDATES), str(FIXTURES / "camt054_refund.xml")
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clean.returncode == 0, clean.stderr
    assert '"events": ' in clean.stdout
    bad = subprocess.run(
        nazorg_command(
            "ingest",
            "import",
            "--mandates",
            str(MANDATES),
            str(FIXTURES / "camt054_one_bad_entry.xml"),
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1, bad.stderr
