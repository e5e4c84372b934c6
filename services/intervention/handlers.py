"""What each input does to the intervention service's state: one function per message kind.

Each handler runs inside one repository transaction (``Tx``) together with the consumer
position of its input, so a message's effects are committed exactly once. The decisions come
from the pure core (assignment, playbook, contact policy, follow-up); the handlers only load
state for it and store what it returns. Outcomes are written to SQL with a relay row; the
relay publishes them to outcomes.v1 afterwards, so SQL and the topic can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from schemas.actions import Arm, SofieChannel
from schemas.codec import encode
from schemas.enrolments import Enrolment
from schemas.ids import deterministic_id
from schemas.outcomes import OutcomeEnvelope
from schemas.preferences import ContactPreference
from schemas.signals import ArrearsSignal, DayClosed, SignalsMessage
from schemas.sofie_api import EngagementCallback, SofieDeliveryRequest
from services.arrears_detector.calendar import is_business_day, next_business_day
from services.intervention import metrics
from services.intervention import outcome_events as records
from services.intervention.assignment import Assignment, assign, reconcile
from services.intervention.contact_policy import (
    ALL_SOFIE_CHANNELS,
    Contact,
    ContactHistory,
    ContactPolicyConfig,
    Verdict,
    apply_policy,
)
from services.intervention.followup import Observation, close_followup, followup_end
from services.intervention.observations import signal_observed
from services.intervention.playbook import Playbook, Proposal, SignalFacts, propose
from services.intervention.repository import (
    DecisionRow,
    EnrolmentRow,
    ObservationRow,
    OutboxRow,
    OutcomeRow,
    RefusalRow,
    Tx,
)

log = logging.getLogger(__name__)

DUE_AT_ONCE: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""``next_attempt_at`` of a new outbox row: due at once, without reading the wall clock
inside a handler (handlers run on event time and must give the same rows on a replay)."""


@dataclass(frozen=True)
class Context:
    """Everything the handlers are told at start-up (from settings)."""

    experiment_key: str
    treatment_share: float
    study_key: str
    playbook: Playbook
    contact_policy: ContactPolicyConfig = field(default_factory=ContactPolicyConfig)
    followup_days: int = 365
    pilot_end_date: date | None = None


def outcome_row(outcome: OutcomeEnvelope, arm: str | None) -> OutcomeRow:
    return OutcomeRow(
        id=outcome.id,
        subject=outcome.subject,
        type=outcome.type,
        time=outcome.time,
        arm=arm,
        payload=encode(outcome).decode("utf-8"),
    )


def to_assignment(row: EnrolmentRow) -> Assignment:
    return Assignment(
        client_id=row.client_id,
        segment=row.segment,  # type: ignore[arg-type]  # checked on the way in
        arm=row.arm,  # type: ignore[arg-type]
        experiment_key=row.experiment_key,
        intended_allocation=row.intended_allocation,
        method_version=row.assignment_version,
        loan_ids=tuple(row.loan_ids),
    )


def on_enrolment(tx: Tx, message: Enrolment, ctx: Context) -> str:
    """Assign (or confirm) the client's arm; returns ``new``, ``same`` or ``refused``."""
    data = message.data
    tx.lock_client(data.client_id)
    requested = assign(
        ctx.experiment_key, data.client_id, data.segment, tuple(data.loan_ids), ctx.treatment_share
    )
    existing_row = tx.get_enrolment(data.client_id)
    existing = to_assignment(existing_row) if existing_row is not None else None
    verdict = reconcile(existing, requested)
    kept = verdict.assignment
    if verdict.outcome == "new":
        row = EnrolmentRow(
            client_id=kept.client_id,
            loan_ids=kept.loan_ids,
            segment=kept.segment,
            enrolment_date=data.enrolment_date,
            experiment_key=kept.experiment_key,
            arm=kept.arm,
            intended_allocation=kept.intended_allocation,
            assignment_version=kept.method_version,
            assigned_at=message.time,
        )
        tx.insert_enrolment(row)
        enrolled = records.enrolled(kept, message.time, ctx.study_key)
        tx.insert_outcomes([outcome_row(enrolled, kept.arm)])
        act(tx, row, enrolment_facts(row, message), ctx)
        _catch_up(tx, row, ctx)
    elif verdict.outcome == "refused":
        tx.insert_refusal(
            RefusalRow(
                client_id=data.client_id,
                experiment_key=ctx.experiment_key,
                reason=verdict.reason or "refused",
                requested_json=encode(message).decode("utf-8"),
                refused_at=message.time,
            )
        )
        # The reason only: the client id is personal data and stays in the audit table.
        log.warning("enrolment change refused", extra={"reason": verdict.reason})
    metrics.ENROLMENTS.labels(result=verdict.outcome, arm=kept.arm).inc()
    return verdict.outcome


def on_enrolments(tx: Tx, messages: Sequence[Enrolment], ctx: Context) -> list[str]:
    """``on_enrolment`` for each message in order, every client locked first in one order
    (see ``Tx.lock_clients``); returns each message's result."""
    tx.lock_clients(m.data.client_id for m in messages)
    return [on_enrolment(tx, message, ctx) for message in messages]


def on_preference(tx: Tx, message: ContactPreference) -> bool:
    data = message.data
    tx.lock_client(data.client_id)
    return tx.set_consent(data.client_id, data.channel, data.consent, message.time)


def on_signal(tx: Tx, signal: ArrearsSignal, ctx: Context) -> int:
    """Observe the signal (both arms) and decide the playbook's actions for an enrolled
    client in follow-up; returns how many decisions were made."""
    return on_signals(tx, [signal], ctx)


def on_signals(tx: Tx, signals: Sequence[ArrearsSignal], ctx: Context) -> int:
    """``on_signal`` for each of ``signals`` in order, with set-wise reads and writes.

    The detector reports on the whole portfolio, and most signals are of clients outside the
    pilot: for them a signal is one observation and one ``signal_observed`` outcome. Those are
    written for the whole list at once (one lock per client, one insert of observations, one
    query of enrolments, outcomes in bulk); only an enrolled client's signal is decided one
    at a time, after the outcomes before it, so the rows and the relay's order are those of
    ``on_signal`` one by one. A signal id seen before (a redelivery upstream, at another
    offset), even earlier in the same list, is skipped: deciding again would meet its own
    earlier contacts and suppress them as repeats.
    """
    if not signals:
        return 0
    tx.lock_clients(s.data.client_id for s in signals)
    observations = [_observation(s) for s in signals]
    new = tx.insert_observations(observations)
    enrolled = tx.get_enrolments(s.data.client_id for s in signals if s.id in new)
    pending: list[OutcomeRow] = []
    decided = 0
    for signal, observation in zip(signals, observations, strict=True):
        if signal.id not in new:
            continue
        new.discard(signal.id)  # a second copy in the same list is a duplicate
        enrolment = enrolled.get(signal.data.client_id)
        arm = enrolment.arm if enrolment is not None else None
        pending.append(outcome_row(signal_observed(signal, ctx.study_key), arm))
        if enrolment is None:
            continue  # decided when the enrolment arrives (see on_enrolment)
        tx.insert_outcomes(pending)
        pending = []
        metrics.SIGNALS.labels(arm=enrolment.arm, type=signal.type).inc()
        decided += act(tx, enrolment, _facts(observation), ctx)
    tx.insert_outcomes(pending)
    return decided


def on_signal_messages(tx: Tx, messages: Sequence[SignalsMessage], ctx: Context) -> int:
    """A batch of the detector's topic in order: runs of signals between day-closed markers
    go to ``on_signals`` together, each marker to ``on_day_closed`` where it stands.

    Every client of the batch is locked first, in one order (see ``Tx.lock_clients``).
    Returns the decisions made.
    """
    tx.lock_clients(m.data.client_id for m in messages if isinstance(m, ArrearsSignal))
    decided = 0
    run: list[ArrearsSignal] = []
    for message in messages:
        if isinstance(message, DayClosed):
            decided += on_signals(tx, run, ctx)
            run = []
            on_day_closed(tx, message, ctx)
        else:
            run.append(message)
    return decided + on_signals(tx, run, ctx)


def _observation(signal: ArrearsSignal) -> ObservationRow:
    data = signal.data
    return ObservationRow(
        signal_id=signal.id,
        client_id=data.client_id,
        loan_id=data.loan_id,
        signal_type=signal.type,
        business_date=data.business_date,
        dpd=data.dpd,
        signal_time=signal.time,
    )


def enrolment_facts(row: EnrolmentRow, message: Enrolment) -> SignalFacts:
    """The enrolment as a playbook trigger: a year of support starts with it.

    Its cause id is derived, not the message id: the bank's ids may contain the client id,
    and cause ids reach the outcome topic.
    """
    return SignalFacts(
        signal_id=deterministic_id("client_enrolled", row.experiment_key, row.client_id),
        signal_type="client_enrolled",
        client_id=row.client_id,
        loan_id=row.loan_ids[0],
        business_date=row.enrolment_date,
        time=message.time,
        dpd=0,
    )


def act(tx: Tx, enrolment: EnrolmentRow, facts: SignalFacts, ctx: Context) -> int:
    """Decide, record and enqueue the actions for one signal of an enrolled client."""
    if facts.loan_id not in enrolment.loan_ids or not _in_followup(
        enrolment, facts.business_date, ctx
    ):
        return 0
    closed_at = _closing_instant(enrolment, ctx)
    decisions = decide(tx, facts, enrolment.arm, closed_at, ctx)  # type: ignore[arg-type]
    tx.insert_decisions(decisions)
    tx.enqueue([_outbox_row(d) for d in decisions if d.status == "planned"])
    outcomes = []
    for decision in decisions:
        outcome = records.decision_outcome(decision, ctx.study_key)
        if outcome is not None:
            outcomes.append(outcome_row(outcome, decision.arm))
    tx.insert_outcomes(outcomes)
    return len(decisions)


def _catch_up(tx: Tx, enrolment: EnrolmentRow, ctx: Context) -> int:
    """Act on the signals that arrived before the enrolment did.

    Enrolments and signals come on different topics, so a signal of a just-enrolled client
    can be consumed first. It was observed then; now that the arm is known it is decided,
    with its own event time, exactly as if it had arrived after the enrolment.
    """
    decided = 0
    for seen in tx.observations(enrolment.client_id):
        decided += act(tx, enrolment, _facts(seen), ctx)
    return decided


def _facts(seen: ObservationRow) -> SignalFacts:
    return SignalFacts(
        signal_id=seen.signal_id,
        signal_type=seen.signal_type,  # type: ignore[arg-type]  # from a validated signal
        client_id=seen.client_id,
        loan_id=seen.loan_id,
        business_date=seen.business_date,
        time=seen.signal_time,
        dpd=seen.dpd,
    )


def decide(
    tx: Tx, facts: SignalFacts, arm: Arm, closed_at: datetime, ctx: Context
) -> list[DecisionRow]:
    """The playbook's proposals for this signal, filtered by the contact policy.

    The contact history is the client's earlier decisions (``tx.contacts``): shadows count
    for the control arm, so a shadow is what treatment would really have received.
    """
    proposals = propose(ctx.playbook, facts, arm)
    history = ContactHistory(
        closed_at=closed_at,
        consents=_consents(tx.consents(facts.client_id), ctx.contact_policy),
        contacts=tuple(
            Contact(deliver_at=c.deliver_at, channel=c.channel, action=c.action)  # type: ignore[arg-type]
            for c in tx.contacts(facts.client_id)
        ),
    )
    verdicts, _ = apply_policy(ctx.contact_policy, history, proposals)
    rows = [_decision_row(proposal, verdict, facts) for proposal, verdict in verdicts]
    for row in rows:
        metrics.DECISIONS.labels(arm=row.arm, channel=row.channel, status=row.status).inc()
        if row.status == "suppressed":
            metrics.SUPPRESSIONS.labels(arm=row.arm, reason=row.reason or "unspecified").inc()
        if row.deferred_reason:
            metrics.DEFERRALS.labels(arm=row.arm, reason=row.deferred_reason).inc()
    return rows


def on_day_closed(tx: Tx, marker: DayClosed, ctx: Context) -> int:
    """Advance the detector's progress; close every follow-up that every partition has
    passed the end of. Returns how many follow-ups were closed."""
    data = marker.data
    tx.lock_watermarks()
    tx.advance_watermark(data.source_partition, data.business_date)
    watermarks = tx.watermarks()
    if any(p not in watermarks for p in range(data.partitions)):
        return 0
    closed_day = min(watermarks[p] for p in range(data.partitions))
    metrics.EVENT_TIME.set(datetime.combine(closed_day, time(), tzinfo=UTC).timestamp())
    closed = 0
    for enrolment in tx.open_followups(closed_day, period_days=ctx.followup_days):
        end = followup_end(enrolment.enrolment_date, ctx.followup_days)
        closed += _close(tx, enrolment, end, end, ctx)
    if ctx.pilot_end_date is not None and closed_day >= ctx.pilot_end_date:
        for enrolment in tx.open_enrolments():
            closed += _close(tx, enrolment, ctx.pilot_end_date, ctx.pilot_end_date, ctx)
    return closed


def on_engagement(tx: Tx, callback: EngagementCallback, ctx: Context) -> bool:
    """Record an engagement Sofie reported; False for one already recorded."""
    enrolment = tx.get_enrolment(callback.client_ref)
    arm = enrolment.arm if enrolment is not None else None
    outcome = records.engagement(callback, ctx.study_key)
    return tx.insert_outcomes([outcome_row(outcome, arm)]) > 0


def _close(tx: Tx, enrolment: EnrolmentRow, as_of: date, closed_on: date, ctx: Context) -> int:
    observations = [
        Observation(
            loan_id=o.loan_id,
            signal_type=o.signal_type,  # type: ignore[arg-type]
            business_date=o.business_date,
            dpd=o.dpd,
        )
        for o in tx.observations(enrolment.client_id)
        if o.loan_id in enrolment.loan_ids
    ]
    result = close_followup(
        enrolment.enrolment_date,
        observations,
        as_of,
        ctx.followup_days,
        first_close=first_close,
    )
    outcome = records.followup_closed(
        enrolment.client_id, enrolment.experiment_key, closed_on, result, ctx.study_key
    )
    if not tx.close_followup(enrolment.client_id, closed_on, result.censored, outcome.id):
        return 0
    tx.insert_outcomes([outcome_row(outcome, enrolment.arm)])
    metrics.FOLLOWUPS_CLOSED.labels(arm=enrolment.arm, censored=str(result.censored).lower()).inc()
    return 1


def _last_day(enrolment: EnrolmentRow, ctx: Context) -> date:
    end = followup_end(enrolment.enrolment_date, ctx.followup_days)
    return min(end, ctx.pilot_end_date) if ctx.pilot_end_date is not None else end


def _in_followup(enrolment: EnrolmentRow, business_date: date, ctx: Context) -> bool:
    return enrolment.enrolment_date <= business_date <= _last_day(enrolment, ctx)


def _closing_instant(enrolment: EnrolmentRow, ctx: Context) -> datetime:
    """The client is closed from the midnight (Amsterdam) after the last follow-up day: a
    contact deferred beyond it is suppressed, not sent to someone who left the pilot."""
    zone = ZoneInfo(ctx.contact_policy.timezone)
    return datetime.combine(_last_day(enrolment, ctx) + timedelta(days=1), time(), tzinfo=zone)


def first_close(day: date) -> date:
    """The first business-day close on or after ``day`` (TARGET2), as the detector closes."""
    return day if is_business_day(day) else next_business_day(day)


def _consents(stored: Mapping[str, bool], config: ContactPolicyConfig) -> frozenset[SofieChannel]:
    """The channels the client consents to: a stored preference overrides the default."""
    return frozenset(
        channel
        for channel in ALL_SOFIE_CHANNELS
        if stored.get(channel, channel in config.default_consents)
    )


def _decision_row(proposal: Proposal, verdict: Verdict, facts: SignalFacts) -> DecisionRow:
    if proposal.kind == "bank_process":
        status = "bank_process"
    elif verdict.status == "suppressed":
        status = "suppressed"
    else:
        status = "planned" if proposal.arm == "treatment" else "shadow"
    return DecisionRow(
        action_id=proposal.action_id,
        client_id=proposal.client_id,
        arm=proposal.arm,
        signal_id=proposal.signal_id,
        channel=proposal.channel,
        action=proposal.action,
        lever=proposal.lever,
        message=proposal.message,
        kind=proposal.kind,
        status=status,
        reason=verdict.reason if verdict.status == "suppressed" else None,
        deferred_reason=verdict.reason if verdict.status == "deferred" else None,
        deliver_after=verdict.deliver_at if status != "suppressed" else None,
        playbook_version=proposal.playbook_version,
        decided_at=facts.time,
    )


def delivery_request(decision: DecisionRow) -> SofieDeliveryRequest:
    """The exact body the dispatcher sends: the action id is Sofie's idempotency key."""
    return SofieDeliveryRequest(
        idempotency_key=decision.action_id,
        client_ref=decision.client_id,
        channel=decision.channel,
        action=decision.action,
        payload={"message": decision.message, "lever": decision.lever},
        deliver_after=decision.deliver_after,
    )


def _outbox_row(decision: DecisionRow) -> OutboxRow:
    return OutboxRow(
        action_id=decision.action_id,
        request_json=encode(delivery_request(decision)).decode("utf-8"),
        status="pending",
        attempts=0,
        next_attempt_at=DUE_AT_ONCE,
        last_error=None,
        sofie_action_id=None,
    )


__all__ = [
    "Context",
    "decide",
    "delivery_request",
    "on_day_closed",
    "on_engagement",
    "on_enrolment",
    "on_enrolments",
    "on_preference",
    "on_signal",
    "on_signal_messages",
    "on_signals",
    "outcome_row",
]
