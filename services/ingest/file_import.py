"""``nazorg ingest import FILE…``: ISO 20022 files through the same pipeline as HTTP and Kafka.

Parsing and mapping live in ``services.ingest.iso20022`` (pure); this shell publishes the
events through ``IngestPipeline`` (validation, dedupe, acks=all) and dead-letters the entries
and files it could not map (docs/iso20022.md: one bad entry is dead-lettered, the rest imported).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.common.kafka import ensure_topics
from services.common.settings import IngestSettings
from services.ingest import metrics
from services.ingest.batch import Item
from services.ingest.deadletter import as_outgoing
from services.ingest.dedupe import DedupeWindow
from services.ingest.intake import assess
from services.ingest.iso20022 import (
    DEFAULT_OPTIONS,
    CsvMandateDirectory,
    ImportOptions,
    entry_dead_letter,
    file_dead_letter,
    file_payload,
    import_files,
)
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import Publisher


def run_import(
    files: Iterable[Path],
    mandates: Path,
    *,
    max_bytes: int | None = None,
    dry_run: bool = False,
    settings: IngestSettings | None = None,
) -> tuple[list[dict[str, object]], bool]:
    """Import the files; returns one summary per file and whether anything was dead-lettered.

    Raises ``DirectoryError`` for an unusable mandate register and ``PublishError`` when the
    broker did not acknowledge (the import can simply be run again: event ids are stable).
    """
    directory = CsvMandateDirectory(mandates)
    options = ImportOptions(max_bytes=max_bytes) if max_bytes else DEFAULT_OPTIONS
    settings = settings or IngestSettings()
    limit = settings.ingest_dlq_max_payload_bytes
    window = DedupeWindow(settings.ingest_dedupe_window)
    publisher: Publisher | None = None
    pipeline: IngestPipeline | None = None
    if not dry_run:
        ensure_topics(settings)
        publisher = Publisher(settings)
        pipeline = IngestPipeline(
            publisher,
            window,
            inbound_topic=settings.topic_inbound,
            dlq_topic=settings.topic_dlq,
            dlq_max_payload_bytes=limit,
        )
    summaries: list[dict[str, object]] = []
    dead_lettered = False
    try:
        for result in import_files(files, directory, options=options):
            received_at = datetime.now(UTC)
            items = [
                Item(index=i, value=PAYMENT_EVENT_ADAPTER.dump_python(event, mode="json"))
                for i, event in enumerate(result.events)
            ]
            letters = [
                entry_dead_letter(error, received_at=received_at, max_payload_bytes=limit)
                for error in result.errors
            ]
            if result.file_error is not None:
                letters.append(
                    file_dead_letter(
                        result,
                        file_payload(result, limit),
                        received_at=received_at,
                        max_payload_bytes=limit,
                    )
                )
            if pipeline is None or publisher is None:
                assessment = assess(items, window)
                window.remember(assessment.keys)
            else:
                assessment = pipeline.submit(items, source="iso20022")
                publisher.publish([as_outgoing(letter, settings.topic_dlq) for letter in letters])
                for letter in letters:
                    metrics.DEAD_LETTERS.labels(input="iso20022", reason=letter.data.reason).inc()
            dead_lettered = dead_lettered or bool(letters)
            summaries.append(
                {
                    "file": result.name,
                    "sha256": result.sha256,
                    "message": result.message,
                    **result.counts(),
                    "reasons": result.reasons(),
                    "duplicates": sum(v.status == "duplicate" for v in assessment.verdicts),
                }
            )
    finally:
        if publisher is not None:
            publisher.close()
    return summaries, dead_lettered


def summary_lines(summaries: list[dict[str, object]]) -> list[str]:
    return [json.dumps(summary, sort_keys=True) for summary in summaries]
