"""Contact policy: may Sofie contact this client on this channel at this time?

Pure: the client's contact history comes in, a verdict and a new history go out. Rules
(domain.md §5, decision 0202), in this order: no contact after the client is closed;
consent per channel; quiet hours defer to the next morning (never drop); no repeat of the
same action on the same channel within a window; a frequency cap over any sliding window.
The bank's own process is not ours to police: its proposals pass through untouched.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Final, Literal, TypeGuard, get_args
from zoneinfo import ZoneInfo

from schemas.actions import Channel, SofieChannel
from services.intervention.playbook import Proposal

ALL_SOFIE_CHANNELS: Final[frozenset[SofieChannel]] = frozenset(get_args(SofieChannel))


def _is_sofie(channel: Channel) -> TypeGuard[SofieChannel]:
    return channel in ALL_SOFIE_CHANNELS


@dataclass(frozen=True)
class ContactPolicyConfig:
    """Limits of the contact policy; the defaults are the pilot's."""

    max_contacts: int = 3
    cap_window: timedelta = timedelta(days=7)
    """Any closed interval of this length holds at most ``max_contacts`` contacts."""
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    """Local wall-clock times; quiet is [start, end), wrapping past midnight if start > end."""
    timezone: str = "Europe/Amsterdam"
    repeat_window: timedelta = timedelta(days=14)
    """The same action on the same channel is not repeated within this distance (inclusive)."""
    default_consents: frozenset[SofieChannel] = ALL_SOFIE_CHANNELS

    def __post_init__(self) -> None:
        if self.max_contacts < 0:
            raise ValueError("max_contacts must be >= 0")
        if self.cap_window <= timedelta(0) or self.repeat_window < timedelta(0):
            raise ValueError("cap_window must be positive and repeat_window non-negative")
        if self.quiet_start.tzinfo is not None or self.quiet_end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times without tzinfo")
        ZoneInfo(self.timezone)  # fails early on an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances per key


@dataclass(frozen=True)
class Contact:
    """A contact we made (or scheduled) with the client."""

    deliver_at: datetime
    channel: SofieChannel
    action: str


@dataclass(frozen=True)
class ContactHistory:
    """One client's consents and contacts, ``contacts`` sorted by ``deliver_at``."""

    consents: frozenset[SofieChannel]
    """Channels the client currently consents to."""
    contacts: tuple[Contact, ...] = ()
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    status: Literal["allowed", "deferred", "suppressed"]
    deliver_at: datetime | None
    """When to deliver (None when suppressed)."""
    reason: str | None
    """``quiet_hours`` when deferred; ``client_closed``, ``no_consent``,
    ``repeated_action`` or ``frequency_cap`` when suppressed."""


def new_history(config: ContactPolicyConfig) -> ContactHistory:
    """The history of a client we have not contacted yet."""
    return ContactHistory(consents=config.default_consents)


def with_preference(
    history: ContactHistory, channel: SofieChannel, consent: bool
) -> ContactHistory:
    """Record the client's consent (True) or opt-out (False) for one channel."""
    consents = history.consents | {channel} if consent else history.consents - {channel}
    return replace(history, consents=frozenset(consents))


def closed(history: ContactHistory, at: datetime) -> ContactHistory:
    """Close the client at ``at``: nothing is delivered at or after it. The earliest close wins."""
    _require_aware(at)
    when = at if history.closed_at is None else min(history.closed_at, at)
    return replace(history, closed_at=when)


def prune(config: ContactPolicyConfig, history: ContactHistory, before: datetime) -> ContactHistory:
    """Forget contacts that can no longer affect a decision delivered at or after ``before``.

    Keeps the history of a long-running client bounded; the caller must not evaluate
    proposals delivered earlier than ``before`` afterwards.
    """
    horizon = before - max(config.cap_window, config.repeat_window)
    kept = tuple(c for c in history.contacts if c.deliver_at >= horizon)
    return replace(history, contacts=kept)


def _require_aware(moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError("contact policy times must be timezone-aware")


def _in_quiet(config: ContactPolicyConfig, moment: datetime) -> bool:
    clock = moment.astimezone(config.zone).time()
    start, end = config.quiet_start, config.quiet_end
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def _quiet_end_after(config: ContactPolicyConfig, moment: datetime) -> datetime:
    """The first local ``quiet_end`` at or after ``moment`` (called only inside quiet hours)."""
    local = moment.astimezone(config.zone)
    day = local.date()
    if config.quiet_start > config.quiet_end and local.time() >= config.quiet_start:
        day += timedelta(days=1)
    wall = datetime.combine(day, config.quiet_end, tzinfo=config.zone)
    # Via UTC: a wall time inside a DST gap becomes the real instant after the gap.
    return wall.astimezone(UTC).astimezone(moment.tzinfo)


def _repeated(
    config: ContactPolicyConfig, history: ContactHistory, p: Proposal, at: datetime
) -> bool:
    return any(
        c.action == p.action
        and c.channel == p.channel
        and abs(c.deliver_at - at) <= config.repeat_window
        for c in history.contacts
    )


def _over_cap(config: ContactPolicyConfig, history: ContactHistory, at: datetime) -> bool:
    """Would a contact at ``at`` put more than ``max_contacts`` in some closed window?

    Only windows holding ``at`` can change, and among those the fullest one starts at a
    contact in [at - cap_window, at]: checking those starts is exact.
    """
    times = sorted([c.deliver_at for c in history.contacts] + [at])
    window = config.cap_window
    for start in times:
        if at - window <= start <= at:
            inside = bisect.bisect_right(times, start + window) - bisect.bisect_left(times, start)
            if inside > config.max_contacts:
                return True
    return False


def evaluate(config: ContactPolicyConfig, history: ContactHistory, proposal: Proposal) -> Verdict:
    """Decide one proposal against the client's history (which it does not change)."""
    at = proposal.not_before
    _require_aware(at)
    if not _is_sofie(proposal.channel) or proposal.kind == "bank_process":
        return Verdict("allowed", at, None)
    if history.closed_at is not None and at >= history.closed_at:
        return Verdict("suppressed", None, "client_closed")
    if proposal.channel not in history.consents:
        return Verdict("suppressed", None, "no_consent")
    deferred = _in_quiet(config, at)
    if deferred:
        at = _quiet_end_after(config, at)
        # Deferral must not carry a contact past the client's close.
        if history.closed_at is not None and at >= history.closed_at:
            return Verdict("suppressed", None, "client_closed")
    if _repeated(config, history, proposal, at):
        return Verdict("suppressed", None, "repeated_action")
    if _over_cap(config, history, at):
        return Verdict("suppressed", None, "frequency_cap")
    if deferred:
        return Verdict("deferred", at, "quiet_hours")
    return Verdict("allowed", at, None)


def _add(history: ContactHistory, contact: Contact) -> ContactHistory:
    contacts = list(history.contacts)
    keys = [c.deliver_at for c in contacts]
    contacts.insert(bisect.bisect_right(keys, contact.deliver_at), contact)
    return replace(history, contacts=tuple(contacts))


def apply_policy(
    config: ContactPolicyConfig, history: ContactHistory, proposals: Sequence[Proposal]
) -> tuple[tuple[tuple[Proposal, Verdict], ...], ContactHistory]:
    """Evaluate proposals in order, recording each allowed or deferred contact before the
    next, so that the proposals of one signal respect the cap together."""
    decided: list[tuple[Proposal, Verdict]] = []
    for proposal in proposals:
        verdict = evaluate(config, history, proposal)
        decided.append((proposal, verdict))
        if (
            verdict.status != "suppressed"
            and verdict.deliver_at is not None
            and proposal.kind == "sofie"
            and _is_sofie(proposal.channel)
        ):
            contact = Contact(verdict.deliver_at, proposal.channel, proposal.action)
            history = _add(history, contact)
    return tuple(decided), history
