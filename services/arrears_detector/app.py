"""``nazorg detector``: the Faust worker around the ledger core.

Events are taken in batches (``add_batch_agent``: ``Stream.noack_take``, acked by us after
everything below). Per batch: decode and plan every event in order against the batch so far
(``PartitionProcessor.apply``), hand all signals and day-closed markers to the producer and
wait once for the broker's acks of all of them (meanwhile the previous batch's changelog
writes complete), then send one changelog record per changed loan (and per closed partition)
and wait for those acks too, and only then update the tables in memory and let Faust ack the
events. So a crash can only repeat a signal (same
deterministic id), never lose one: once the changelog says an event was applied its signals
are durable, and no offset is committed for an event whose ledger write the broker has not
acknowledged. End-of-day ticks close the day only for the loans the partition's deadline
index says need it, and a per-partition watermark makes a re-delivered tick a no-op. Beside
it, in the ledgers table and on the same changelog partition as the partition's ledgers, each
source partition keeps the next offset to apply (written with every batch, after its ledgers
are acknowledged): an event below it was applied already and changes nothing,
however far back the consumer restarts. A killed worker's last commit can be many seconds and
thousands of events old (crash test: a new owner restarted a partition from offset 0 with the
ledgers two months ahead); the ledgers' window of recent event ids covers 32 events of a loan.

Why batches (docs/performance.md, "Detector: before/after"): per event the old worker waited
for acks and wrote a changelog record through Faust's one-at-a-time producer buffer. Now a
batch's records go out together, each source partition's in order, and a loan touched by
several events of a batch is snapshotted and written once. The changelog records are sent
explicitly to the event's partition (what ``Table.__setitem__`` would pick from the current
event) and awaited, instead of relying on Faust's commit-time flush of its buffer. All records
are bytes before they are sent and go to Faust's producer directly (``shell_send``), not
through ``Topic.send``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import faust
from faust.types import EventT

from schemas.codec import encode
from services.arrears_detector import shell_metrics as metrics
from services.arrears_detector.calendar import load_calendar
from services.arrears_detector.ledger import LedgerError
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.shell_partition import (
    PartitionProcessor,
    Writes,
    is_partition_mark,
    offset_key,
    watermark_key,
)
from services.arrears_detector.shell_send import (
    Record,
    enqueue,
    json_bytes,
    last_offsets,
    send_and_wait,
)
from services.arrears_detector.shell_translate import (
    UndecodableEventError,
    day_closed_marker,
    decode,
    to_contract,
)
from services.common.faust_app import add_batch_agent, make_faust_app, run_faust_worker
from services.common.metrics import (
    EVENTS_CONSUMED,
    MESSAGES_PRODUCED,
    PROCESSING_ERRORS,
)
from services.common.settings import DetectorSettings

log = logging.getLogger(__name__)
SERVICE = "detector"
BATCH_EVENTS = 1000
"""At most this many events per batch (a full batch is processed at once)."""
REWIND_GIVE_UP_S = 60.0
RESEEK_S = 1.0
"""How often a pending seek back is issued again (Faust can overtake a seek, see ``reseek``)."""
"""How long events after a gap are dropped while waiting for the gap's events to come back."""
BATCH_WITHIN_S = 0.02
"""A batch that is not full is processed after this long (bounds the added latency)."""


class PartitionMarks(MutableMapping[str, Any]):
    """The partitions' marks in the ledgers table, falling back to the old marks table.

    Before decision 0007's last change the marks lived in a table of their own
    (``tick-watermarks``: ``"<p>"`` and ``"<p>@offset"``), whose changelog a recovery could
    read to a later point than the ledgers'. A worker upgraded in place reads them there until
    its first batch of the partition writes them where they belong.
    """

    def __init__(self, table: MutableMapping[str, Any], legacy: Mapping[str, Any]) -> None:
        self.table = table
        self.legacy = legacy

    @staticmethod
    def _legacy_key(key: str) -> str:
        partition, kind = key.split()
        return f"{partition}@offset" if kind == "next-offset" else partition

    def __getitem__(self, key: str) -> Any:
        value = self.table.get(key)
        if value is None:
            value = self.legacy.get(self._legacy_key(key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[key] = value

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in self.table if is_partition_mark(key))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class DetectorShell:
    """Faust tables and topics around the shared ``PartitionProcessor``."""

    def __init__(self, app: faust.App, settings: DetectorSettings, policy: DetectionPolicy):
        self.app = app
        self.topic_signals_name = settings.topic_signals
        self.partitions = settings.topic_partitions
        table_options: dict[str, Any] = {
            "default": None,
            "partitions": settings.topic_partitions,
            "schema": faust.Schema(key_serializer="json", value_serializer="json"),
        }
        self.ledgers = app.Table("ledgers", **table_options)
        # Where the partitions' marks were kept before they moved into the ledgers table; read
        # (never written) for a partition whose marks the ledgers table does not hold yet.
        self.legacy_marks = app.Table("tick-watermarks", **table_options)
        self.processor = PartitionProcessor(
            ledgers=self.ledgers,
            watermarks=PartitionMarks(self.ledgers, self.legacy_marks),
            policy=policy,
            generation=lambda: int(getattr(app, "consumer_generation_id", None) or 0),
            on_index_rebuild=metrics.INDEX_REBUILDS.inc,
        )
        self._outstanding: asyncio.Future[None] | None = None
        # Partition -> (generation, next offset to apply, since when, its TP) while seeking back.
        self._rewinds: dict[int, tuple[int, int, float, Any]] = {}
        self._seeks: set[asyncio.Future[None]] = set()
        # Partition -> (generation, log start) for partitions with nothing stored as applied.
        self._log_starts: dict[int, tuple[int, int]] = {}
        self._asking: set[int] = set()

    def plan(self, events: Sequence[EventT[Any]]) -> dict[int, list[Record]]:
        """Plan the batch in order; the signal records to send, per source partition."""
        processor = self.processor
        partitions = self.partitions
        outgoing: dict[int, list[Record]] = {}
        signal_types: Counter[str] = Counter()
        consumed: Counter[str] = Counter()
        duplicates = 0
        for event in events:
            message = event.message
            partition = message.partition
            consumed[message.topic] += 1
            expected = processor.next_offset(partition)
            if expected is None and message.offset > 0:
                # Nothing of this partition stored yet: the first offset to apply is the log's
                # start, which only the broker knows (None while it is being asked).
                expected = self._log_start(message)
                if expected is None:
                    continue
            if expected is not None and message.offset > expected:
                if self._rewind(message, expected):
                    continue
            elif partition in self._rewinds:
                del self._rewinds[partition]  # back at the first offset not applied
            try:
                domain_event, event_time = decode(event.value)
                step = processor.apply(partition, domain_event, message.offset)
            except (UndecodableEventError, LedgerError) as exc:
                # Ingest validated every event; reaching here is a bug upstream or an event the
                # ledger refuses. Count and log where it is (never the payload: it may hold
                # personal data), then go on.
                reason = (
                    "invalid_event" if isinstance(exc, UndecodableEventError) else "ledger_error"
                )
                PROCESSING_ERRORS.labels(service=SERVICE, reason=reason).inc()
                processor.skip(partition, message.offset)
                log.error(
                    "payment event skipped",
                    extra={
                        "reason": reason,
                        "partition": partition,
                        "offset": message.offset,
                        "error": str(exc),
                    },
                )
                continue
            if step.changes_nothing:
                duplicates += 1
                continue
            records = outgoing.get(partition)
            if records is None:
                records = outgoing[partition] = []
            for signal in step.signals:
                records.append(
                    (signal.loan_id.encode("utf-8"), encode(to_contract(signal, event_time)), None)
                )
                signal_types[signal.type] += 1
            if step.watermark is not None:
                # After the day's signals, before the watermark is stored: a crash in between
                # repeats the marker (same id), it never goes missing.
                marker = day_closed_marker(partition, partitions, step.watermark, event_time)
                records.append((None, encode(marker), partition))
                metrics.LOANS_EVALUATED.observe(step.evaluated)
        for topic, count in consumed.items():
            EVENTS_CONSUMED.labels(service=SERVICE, topic=topic).inc(count)
        for signal_type, count in signal_types.items():
            metrics.SIGNALS.labels(type=signal_type).inc(count)
        if duplicates:
            metrics.DUPLICATES.inc(duplicates)
        return outgoing

    def _rewind(self, message: Any, expected: int) -> bool:
        """Events after a gap: seek back to the first offset not applied; True to drop this one.

        The consumer's committed offset can be ahead of the ledgers a worker recovered (seen in
        the crash test: a new owner started at 426 with the ledgers applied up to 316; decision
        0007, "Known issue"). The events in between must be applied before any later one. The
        dropped events are acked with their batch: the stored next offset, not the committed
        one, says what is applied. A hole in the log itself (a compacted or transactional
        topic; not ours) is given up on after ``REWIND_GIVE_UP_S``.
        """
        partition = message.partition
        generation = int(getattr(self.app, "consumer_generation_id", None) or 0)
        now = time.monotonic()
        pending = self._rewinds.get(partition)
        if pending is None or pending[0] != generation or pending[1] != expected:
            log.warning(
                "source offsets %s..%s of partition %s not applied: seeking back",
                expected,
                message.offset - 1,
                partition,
            )
            metrics.REWINDS.inc()
            self._rewinds[partition] = (generation, expected, now, message.tp)
            seek = asyncio.ensure_future(self._seek(message.tp, expected))
            self._seeks.add(seek)
            seek.add_done_callback(self._seeks.discard)
            return True
        if now - pending[2] < REWIND_GIVE_UP_S:
            return True
        PROCESSING_ERRORS.labels(service=SERVICE, reason="source_gap").inc()  # pages on-call
        log.error(
            "source offsets %s..%s of partition %s never came back: going on without them",
            expected,
            message.offset - 1,
            partition,
        )
        del self._rewinds[partition]
        return False

    def _log_start(self, message: Any) -> int | None:
        """The first offset of a partition none of whose events is stored as applied.

        The consumer's committed offset is not that: Faust can commit offsets of events the
        agent never planned (decision 0007), and a worker killed before it stored anything of
        a partition leaves its successor only that offset. So the successor asks the broker
        for the log's start (once per partition and generation; None until the answer is
        in, and the events that come meanwhile are dropped, then fetched again from there).
        """
        partition = message.partition
        generation = int(getattr(self.app, "consumer_generation_id", None) or 0)
        known = self._log_starts.get(partition)
        if known is not None and known[0] == generation:
            return known[1]
        if partition not in self._asking:
            self._asking.add(partition)
            task = asyncio.ensure_future(self._ask_log_start(message.tp, generation))
            self._seeks.add(task)
            task.add_done_callback(self._seeks.discard)
        return None

    async def _ask_log_start(self, tp: Any, generation: int) -> None:
        try:
            start = (await self.app.consumer.earliest_offsets(tp))[tp]
        except Exception as exc:  # e.g. revoked meanwhile: asked again by the next event
            log.warning("log start of %s unknown: %r", tp, exc)
            return
        finally:
            self._asking.discard(tp.partition)
        log.info("partition %s has nothing applied yet: applying from its start, %s", tp, start)
        metrics.REWINDS.inc()
        self._log_starts[tp.partition] = (generation, start)
        # Events of the partition were dropped while asking: fetch them again.
        self._rewinds[tp.partition] = (generation, start, time.monotonic(), tp)
        await self._seek(tp, start)

    async def reseek(self) -> None:
        """Seek again, every ``RESEEK_S``, while a partition waits for its first unapplied offset.

        Faust's drain loop can overtake a seek: the rest of an earlier fetch raises the
        partition's read offset again, and the re-fetched events are then dropped as already
        read, before they reach us (decision 0007, "Seek back stalls"). A second seek after that
        fetch is drained brings them back; events seen twice are redeliveries and change nothing.
        """
        assigned = self.app.consumer.assignment()
        for _, expected, since, tp in list(self._rewinds.values()):
            if tp in assigned and time.monotonic() - since >= RESEEK_S:
                await self._seek(tp, expected)

    async def _seek(self, tp: Any, offset: int) -> None:
        try:
            await self.app.consumer.seek(tp, offset)
        except Exception as exc:  # e.g. revoked meanwhile: the next owner checks again
            log.warning("seek of %s to %s failed: %r", tp, offset, exc)

    async def store(self, writes: Writes) -> None:
        """Send the batch's table writes to the changelog, wait for the acks, then keep them.

        Each partition's marks (tick watermark, next offset) go to the same changelog partition
        as its ledgers and only after the ledgers are acknowledged, so a recovery, wherever it
        stops reading, never holds a next offset whose ledgers it lacks. A crash in between
        repeats the batch, and the ledgers' recent event ids make that a no-op.
        """
        by_partition: dict[int, list[Record]] = {}
        for loan_id, partition, value in writes.ledgers:
            by_partition.setdefault(partition, []).append(
                (json_bytes(loan_id), json_bytes(value), partition)
            )
        await self._send_changelog(self.ledgers, list(by_partition.values()))
        marks: dict[int, list[Record]] = {}
        for p, mark in writes.watermarks:
            marks.setdefault(p, []).append((json_bytes(watermark_key(p)), json_bytes(mark), p))
        for p, next_offset in writes.offsets:
            marks.setdefault(p, []).append((json_bytes(offset_key(p)), json_bytes(next_offset), p))
        await self._send_changelog(self.ledgers, list(marks.values()))
        data = self.ledgers.data
        for loan_id, _, value in writes.ledgers:
            data[loan_id] = value
        for partition, mark in writes.watermarks:
            data[watermark_key(partition)] = mark
        for partition, next_offset in writes.offsets:
            data[offset_key(partition)] = next_offset

    async def _send_changelog(self, table: Any, groups: list[list[Record]]) -> None:
        """What ``Table.send_changelog`` sends, awaited rather than left in Faust's buffer."""
        if not any(groups):
            return
        producer = await self.app.maybe_start_producer()
        acked = await send_and_wait(producer, table.changelog_topic.get_topic_name(), groups)
        self._persist_offsets(table, acked)

    def _persist_offsets(self, table: Any, acked: Iterable[Any]) -> None:
        # What the table's ``_on_changelog_sent`` does per record (a no-op for the memory
        # store; RocksDB keeps the offset to know what it holds at start-up).
        for tp, offset in last_offsets(acked).items():
            if self.app.in_transaction:
                self.app.tables.persist_offset_on_commit(table.data, tp, offset)
            else:
                table.data.set_persisted_offset(tp, offset)

    async def handle_batch(self, events: Sequence[EventT[Any]]) -> Awaitable[None]:
        """Plan the batch and hand its signals to the producer now; store it in the background.

        The returned task completes when the batch's signals and writes are all acknowledged
        and the batch is committed to the tables; only then may its events be acked. Signals
        are handed over here, batch after batch, so their order on each partition is that of
        the batches; their acks overlap the previous batch's changelog writes.
        """
        processor = self.processor
        try:
            outgoing = self.plan(events)
            writes = processor.writes()
            producer = await self.app.maybe_start_producer()
            signal_acks = await enqueue(producer, self.topic_signals_name, list(outgoing.values()))
        except BaseException:
            processor.rollback()
            raise
        previous = self._outstanding
        task = asyncio.ensure_future(self._publish_and_store(signal_acks, writes, previous))
        self._outstanding = task
        return task

    async def _publish_and_store(
        self, signal_acks: list[Any], writes: Writes, previous: Awaitable[None] | None
    ) -> None:
        processor = self.processor
        try:
            if signal_acks:
                await asyncio.gather(*signal_acks)
                MESSAGES_PRODUCED.labels(service=SERVICE, topic=self.topic_signals_name).inc(
                    len(signal_acks)
                )
            if previous is not None:
                await previous  # batches are stored and committed in order
            await self.store(writes)
        except BaseException:
            processor.rollback()
            raise
        processor.commit(writes, store=False)


def create_app(settings: DetectorSettings, policy: DetectionPolicy = DEFAULT_POLICY) -> faust.App:
    app = make_faust_app(
        settings.detector_app_id,
        settings,
        web_host=settings.detector_web_host,
        web_port=settings.detector_web_port,
        data_dir=settings.detector_data_dir,
        store=settings.detector_store,
        service=SERVICE,
    )
    load_calendar()
    shell = DetectorShell(app, settings, policy)
    events_topic = app.topic(settings.topic_payment_events, partitions=settings.topic_partitions)

    app.timer(RESEEK_S)(shell.reseek)
    add_batch_agent(
        app,
        events_topic,
        "detect-arrears",
        SERVICE,
        shell.handle_batch,
        max_events=BATCH_EVENTS,
        within_s=BATCH_WITHIN_S,
    )
    return app


def run_worker(settings: DetectorSettings | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT."""
    settings = settings or DetectorSettings()
    run_faust_worker(lambda: create_app(settings), settings)
