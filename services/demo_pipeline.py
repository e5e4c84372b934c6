"""The demo's hands on a running stack: feed it through its public interfaces and watch it.

Feeding goes where the bank's systems would go: payment events over ingest's HTTP API,
enrolments onto ``pilot.enrollments.v1``. Watching reads the intervention's SQL store
read-only (watermarks, outbox, enrolments, follow-ups) and the signal topic; nothing here
writes to a service's state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import httpx
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from schemas.codec import decode_enrolment, decode_signals_message, encode
from schemas.signals import ArrearsSignal, DayClosed
from services.common.db import connect_read_only, make_engine
from services.common.kafka import make_producer, partitions_for, read_topic
from services.common.settings import CommonSettings
from services.intervention.repository import InterventionRepository
from services.intervention.tables import decisions, enrolments, followups, outbox, watermarks

POST_ATTEMPTS: Final = 5
"""A 503 (nothing acknowledged) or a lost answer: the whole batch is sent again, and ingest
reports what an earlier attempt got through as duplicates."""


class PilotError(RuntimeError):
    """The pipeline did not get where the demo waited for it to get."""


def wait_until(check: Callable[[], str | None], timeout_s: float, poll_s: float = 0.2) -> None:
    """Poll ``check`` until it returns None; it returns what is still missing otherwise."""
    deadline = time.monotonic() + timeout_s
    while (missing := check()) is not None:
        if time.monotonic() > deadline:
            raise PilotError(f"gave up after {timeout_s:.0f}s: {missing}")
        time.sleep(poll_s)


class Ingest:
    """``POST /v1/events`` with the stack's bearer token, one batch at a time, in order."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout_s: float = 60.0,
        *,
        transport: httpx.BaseTransport | None = None,
        retry_pause_s: float = 0.5,
    ) -> None:
        self.retry_pause_s = retry_pause_s
        self._client = httpx.Client(
            base_url=url,
            timeout=timeout_s,
            transport=transport,
            trust_env=False,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    def post(self, body: bytes) -> dict[str, Any]:
        """Send one JSON array; returns ingest's counts. Every event must be accepted, or be a
        duplicate of one accepted by an earlier attempt of the same batch."""
        retried = False
        for attempt in range(POST_ATTEMPTS):
            try:
                response = self._client.post("/v1/events", content=body)
            except httpx.TransportError as error:  # the batch may or may not have arrived
                failure = f"{type(error).__name__}"
            else:
                if response.status_code != 503:
                    break
                failure = "503"
            retried = True
            time.sleep(self.retry_pause_s * (attempt + 1))
        else:
            raise PilotError(f"ingest did not take a batch after {POST_ATTEMPTS} tries: {failure}")
        if response.status_code != 200:
            raise PilotError(f"ingest answered {response.status_code}: {response.text[:200]}")
        answer: dict[str, Any] = response.json()
        if answer.get("rejected") or (answer.get("duplicate") and not retried):
            counts = {k: answer.get(k) for k in ("received", "accepted", "duplicate", "rejected")}
            raise PilotError(f"ingest did not accept the whole batch: {counts}")
        return answer

    def close(self) -> None:
        self._client.close()


def publish_enrolments(settings: CommonSettings, events: Sequence[Mapping[str, Any]]) -> int:
    """``client_enrolled`` messages onto the enrolment topic, keyed by client id (each
    validated against the contract first); returns how many."""
    if not events:
        return 0
    producer = make_producer(settings)
    try:
        count = 0
        for event in events:
            message = decode_enrolment(json.dumps(event, separators=(",", ":")))
            key = message.data.client_id.encode("utf-8")
            producer.send(settings.topic_enrolments, key=key, value=encode(message))
            count += 1
        producer.flush()
        return count
    finally:
        producer.close()


def signals_on_topic(settings: CommonSettings) -> list[ArrearsSignal | DayClosed]:
    """Everything on ``arrears.signals.v1`` now: signals and day-closed markers."""
    return [decode_signals_message(r.value) for r in read_topic(settings, settings.topic_signals)]


@dataclass(frozen=True)
class Progress:
    """What the intervention has stored, read in one go."""

    watermark: date | None
    """The detector's business date closed on every signal partition (None: not all yet)."""
    pending_actions: int
    pending_due: int
    """Pending actions that may reach the client before the instant the reading was asked
    about (all pending actions when it was asked about none)."""
    parked_actions: int
    delivered_actions: int
    enrolled: int
    closed: int
    """Clients whose follow-up is closed (each has its ``followup_closed`` outcome)."""


class Probe:
    """Read-only view of the intervention's SQL store."""

    def __init__(self, database_url: str, schema: str | None, partitions: int) -> None:
        self.engine: Engine = make_engine(database_url, schema)
        self.partitions = partitions
        self.repository = InterventionRepository(self.engine)

    @classmethod
    def for_stack(cls, database_url: str, schema: str | None, settings: CommonSettings) -> Probe:
        count = len(partitions_for(settings, settings.topic_signals))
        if count == 0:
            raise PilotError(f"topic {settings.topic_signals} has no partitions")
        return cls(database_url, schema, count)

    def read(self, due_before: datetime | None = None) -> Progress:
        """The current state; ``pending_due`` counts the pending actions whose
        ``deliver_after`` lies before ``due_before``."""
        stats = self.repository.outbox_stats()
        with connect_read_only(self.engine) as connection:
            marks = [row.business_date for row in connection.execute(sa.select(watermarks))]
            enrolled = count_rows(connection, enrolments)
            # A follow-up row is written in the transaction of its followup_closed outcome;
            # counting it (one row per client) is far cheaper than scanning the outcomes.
            closed = count_rows(connection, followups)
            due = stats.pending if due_before is None else pending_before(connection, due_before)
        return Progress(
            watermark=min(marks) if len(marks) >= self.partitions else None,
            pending_actions=stats.pending,
            pending_due=due,
            parked_actions=stats.parked,
            delivered_actions=stats.delivered,
            enrolled=enrolled,
            closed=closed,
        )

    def arms(self) -> dict[str, str]:
        """Client id -> assigned arm, from the enrolments table."""
        return {row.client_id: row.arm for row in self.repository.enrolments()}

    def close(self) -> None:
        self.engine.dispose()


def count_rows(connection: Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def pending_before(connection: Connection, instant: datetime) -> int:
    """Outbox rows still pending whose decision may reach the client before ``instant``."""
    query = (
        sa.select(sa.func.count())
        .select_from(outbox.join(decisions, outbox.c.action_id == decisions.c.action_id))
        .where(outbox.c.status == "pending", decisions.c.deliver_after < instant)
    )
    return int(connection.execute(query).scalar_one())


def processed_through(
    day: date, clients: int, *, drain_outbox: bool
) -> Callable[[Progress], str | None]:
    """The check that the pipeline has stored every enrolment, closed ``day`` on every
    partition and (unless delivery is known to be broken) handed Sofie every planned action
    that the reading was asked about (``Probe.read(due_before)``).

    Enrolments come on their own topic, so the watermark does not cover them; their
    onboarding actions are only in the outbox once the enrolment is stored.
    """

    def check(progress: Progress) -> str | None:
        if progress.enrolled < clients:
            return f"{progress.enrolled}/{clients} enrolments stored"
        if progress.watermark is None or progress.watermark < day:
            return f"detector watermark {progress.watermark} < {day}"
        if drain_outbox and progress.pending_due:
            return f"{progress.pending_due} due actions still in the outbox"
        return None

    return check
