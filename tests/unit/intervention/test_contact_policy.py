"""Contact policy: closed, consent, quiet hours (DST-correct), repeats and the cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.actions import Channel, SofieChannel
from services.intervention.contact_policy import (
    ALL_SOFIE_CHANNELS,
    Contact,
    ContactHistory,
    ContactPolicyConfig,
    Verdict,
    apply_policy,
    closed,
    evaluate,
    new_history,
    prune,
    with_preference,
)
from services.intervention.playbook import Proposal

AMS = ZoneInfo("Europe/Amsterdam")
CONFIG = ContactPolicyConfig()
FRESH = new_history(CONFIG)
SOFIE: tuple[SofieChannel, ...] = get_args(SofieChannel)


def proposal(
    at: datetime,
    action: str = "nudge",
    channel: Channel = "app",
    kind: str = "sofie",
) -> Proposal:
    return Proposal(
        action_id=f"{action}-{channel}-{at.isoformat()}",
        client_id="client-1",
        arm="treatment",
        channel=channel,
        action=action,
        lever="nudge",
        message="next_due_date",
        signal_id="sig-1",
        playbook_version="playbook-v1",
        not_before=at,
        kind=kind,  # type: ignore[arg-type]
    )


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS)


def history_at(*moments: datetime) -> ContactHistory:
    """A history with one contact per moment, each a different action (no repeats)."""
    contacts = tuple(Contact(m, "app", f"action-{i}") for i, m in enumerate(moments))
    return replace(FRESH, contacts=contacts)


def test_config_defaults_are_the_pilots() -> None:
    assert CONFIG.max_contacts == 3
    assert CONFIG.cap_window == timedelta(days=7)
    assert (CONFIG.quiet_start, CONFIG.quiet_end) == (time(21), time(8))
    assert CONFIG.repeat_window == timedelta(days=14)
    assert CONFIG.default_consents == frozenset(SOFIE) == ALL_SOFIE_CHANNELS
    with pytest.raises(Exception):  # noqa: B017, PT011 - ZoneInfoNotFoundError or ValueError
        ContactPolicyConfig(timezone="Mars/Olympus_Mons")


# -- quiet hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("not_before", "expected"),
    [
        # Ordinary evening and morning.
        (local(2026, 6, 10, 20, 59, 59), None),
        (local(2026, 6, 10, 21, 0), local(2026, 6, 11, 8, 0)),
        (local(2026, 6, 10, 23, 59, 59), local(2026, 6, 11, 8, 0)),
        (local(2026, 6, 11, 0, 0), local(2026, 6, 11, 8, 0)),
        (local(2026, 6, 11, 7, 59, 59), local(2026, 6, 11, 8, 0)),
        (local(2026, 6, 11, 8, 0), None),
        # Across New Year's Eve midnight.
        (local(2026, 12, 31, 22, 0), local(2027, 1, 1, 8, 0)),
        # Spring forward: Sun 29 March 2026, 02:00 CET -> 03:00 CEST (a 10h local night is 9h).
        (local(2026, 3, 28, 22, 0), local(2026, 3, 29, 8, 0)),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), local(2026, 3, 29, 8, 0)),
        # Fall back: Sun 25 October 2026, 03:00 CEST -> 02:00 CET.
        (local(2026, 10, 24, 23, 0), local(2026, 10, 25, 8, 0)),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), local(2026, 10, 25, 8, 0)),  # 02:30 CEST
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), local(2026, 10, 25, 8, 0)),  # 02:30 CET
    ],
)
def test_quiet_hours_defer_to_the_next_local_morning(
    not_before: datetime, expected: datetime | None
) -> None:
    verdict = evaluate(CONFIG, FRESH, proposal(not_before))
    if expected is None:
        assert verdict == Verdict("allowed", not_before, None)
    else:
        assert verdict == Verdict("deferred", expected, "quiet_hours")


def test_quiet_hours_follow_local_time_through_dst() -> None:
    # 19:30 UTC is 20:30 in winter (CET) but 21:30 in summer (CEST).
    winter = datetime(2026, 1, 15, 19, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 19, 30, tzinfo=UTC)
    assert evaluate(CONFIG, FRESH, proposal(winter)).status == "allowed"
    deferred = evaluate(CONFIG, FRESH, proposal(summer))
    assert deferred.status == "deferred"
    assert deferred.deliver_at == datetime(2026, 7, 16, 6, 0, tzinfo=UTC)
    # The DST nights: 08:00 local is 06:00 UTC after spring forward, 07:00 UTC after fall back.
    spring = evaluate(CONFIG, FRESH, proposal(local(2026, 3, 28, 22, 0))).deliver_at
    fall = evaluate(CONFIG, FRESH, proposal(local(2026, 10, 24, 22, 0))).deliver_at
    assert spring == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert fall == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_non_wrapping_quiet_window() -> None:
    lunch = ContactPolicyConfig(quiet_start=time(12), quiet_end=time(13))
    assert evaluate(lunch, FRESH, proposal(local(2026, 6, 10, 12, 30))).deliver_at == local(
        2026, 6, 10, 13, 0
    )
    assert evaluate(lunch, FRESH, proposal(local(2026, 6, 10, 23, 0))).status == "allowed"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(CONFIG, FRESH, proposal(datetime(2026, 6, 10, 12, 0)))


# -- consent and close -----------------------------------------------------------------

NOON = local(2026, 6, 10, 12, 0)


def test_opt_out_and_back_in_per_channel() -> None:
    opted_out = with_preference(FRESH, "email", consent=False)
    assert evaluate(CONFIG, opted_out, proposal(NOON, channel="email")) == Verdict(
        "suppressed", None, "no_consent"
    )
    assert evaluate(CONFIG, opted_out, proposal(NOON, channel="app")).status == "allowed"
    back = with_preference(opted_out, "email", consent=True)
    assert evaluate(CONFIG, back, proposal(NOON, channel="email")).status == "allowed"


def test_no_consent_wins_over_quiet_hours() -> None:
    opted_out = with_preference(FRESH, "app", consent=False)
    verdict = evaluate(CONFIG, opted_out, proposal(local(2026, 6, 10, 23, 0)))
    assert verdict.reason == "no_consent"


def test_nothing_is_delivered_at_or_after_the_close() -> None:
    history = closed(FRESH, NOON)
    assert evaluate(CONFIG, history, proposal(NOON)) == Verdict("suppressed", None, "client_closed")
    assert evaluate(CONFIG, history, proposal(NOON - timedelta(seconds=1))).status == "allowed"
    # Closed wins over no consent.
    opted_out = with_preference(history, "app", consent=False)
    assert evaluate(CONFIG, opted_out, proposal(NOON)).reason == "client_closed"
    # A deferral must not carry a contact past the close.
    night_close = closed(FRESH, local(2026, 6, 11, 7, 0))
    verdict = evaluate(CONFIG, night_close, proposal(local(2026, 6, 10, 22, 0)))
    assert verdict == Verdict("suppressed", None, "client_closed")
    # The earliest close wins.
    assert closed(history, NOON + timedelta(days=1)).closed_at == NOON


# -- repeats and the cap -----------------------------------------------------------------


def test_same_action_on_same_channel_is_not_repeated_within_the_window() -> None:
    history = replace(FRESH, contacts=(Contact(NOON, "app", "nudge"),))
    for delta in (timedelta(days=14), -timedelta(days=14), timedelta(hours=1)):
        verdict = evaluate(CONFIG, history, proposal(NOON + delta))
        assert verdict == Verdict("suppressed", None, "repeated_action")
    later = timedelta(days=14, seconds=1)
    assert evaluate(CONFIG, history, proposal(NOON + later)).status == "allowed"
    assert evaluate(CONFIG, history, proposal(NOON - later)).status == "allowed"
    assert evaluate(CONFIG, history, proposal(NOON, channel="email")).status == "allowed"
    assert evaluate(CONFIG, history, proposal(NOON, action="other")).status == "allowed"


def test_three_contacts_allowed_the_fourth_capped() -> None:
    day = timedelta(days=1)
    history = history_at(NOON, NOON + day)
    assert evaluate(CONFIG, history, proposal(NOON + 2 * day)).status == "allowed"
    history = history_at(NOON, NOON + day, NOON + 2 * day)
    assert evaluate(CONFIG, history, proposal(NOON + 3 * day)) == Verdict(
        "suppressed", None, "frequency_cap"
    )
    # The window is closed: exactly 7 days apart still share one window ...
    assert evaluate(CONFIG, history, proposal(NOON + 7 * day)).reason == "frequency_cap"
    # ... one second more and the window has slid past the first contact.
    slid = proposal(NOON + 7 * day + timedelta(seconds=1))
    assert evaluate(CONFIG, history, slid).status == "allowed"


def test_cap_counts_contacts_after_the_new_one_too() -> None:
    day = timedelta(days=1)
    history = history_at(NOON + 5 * day, NOON + 6 * day, NOON + 8 * day)
    # [NOON, NOON+7d] holds NOON, +5d, +6d: three.
    assert evaluate(CONFIG, history, proposal(NOON)).status == "allowed"
    # [+1d, +8d] would hold four.
    assert evaluate(CONFIG, history, proposal(NOON + day)).reason == "frequency_cap"
    # Between the others: [+5d, +12d] would hold +5d, +6d, +7d, +8d.
    assert evaluate(CONFIG, history, proposal(NOON + 7 * day)).reason == "frequency_cap"


def test_deferred_contacts_count_at_their_delivery_time() -> None:
    morning = local(2026, 6, 11, 8, 0)
    history = history_at(morning, morning + timedelta(days=1), morning + timedelta(days=2))
    # Evening of the 10th: nothing in the past week, but it would land on the 11th 08:00.
    assert evaluate(CONFIG, history, proposal(local(2026, 6, 10, 22, 0))).reason == "frequency_cap"


def test_apply_policy_caps_one_signals_proposals_together() -> None:
    night = local(2026, 6, 10, 23, 0)
    proposals = [
        proposal(NOON, action="bank_letter", channel="bank_process", kind="bank_process"),
        proposal(NOON, action="a", channel="app"),
        proposal(NOON, action="a", channel="app"),
        proposal(night, action="b", channel="email"),
        proposal(NOON, action="c", channel="video"),
        proposal(NOON, action="d", channel="workshop"),
    ]
    decided, history = apply_policy(CONFIG, FRESH, proposals)
    assert [(v.status, v.reason) for _, v in decided] == [
        ("allowed", None),
        ("allowed", None),
        ("suppressed", "repeated_action"),
        ("deferred", "quiet_hours"),
        ("allowed", None),
        ("suppressed", "frequency_cap"),
    ]
    assert [p for p, _ in decided] == proposals
    assert [(c.action, c.channel, c.deliver_at) for c in history.contacts] == [
        ("a", "app", NOON),
        ("c", "video", NOON),
        ("b", "email", local(2026, 6, 11, 8, 0)),
    ]


def test_bank_process_passes_through_even_for_closed_clients() -> None:
    history = closed(with_preference(FRESH, "app", consent=False), NOON)
    bank = proposal(local(2026, 6, 10, 23, 0), "collections_call", "bank_process", "bank_process")
    decided, after = apply_policy(CONFIG, history, [bank])
    assert decided == ((bank, Verdict("allowed", bank.not_before, None)),)
    assert after == history


def test_prune_keeps_what_can_still_matter() -> None:
    old = Contact(NOON - timedelta(days=15), "app", "old")
    recent = Contact(NOON - timedelta(days=13), "app", "recent")
    pruned = prune(CONFIG, replace(FRESH, contacts=(old, recent)), NOON)
    assert pruned.contacts == (recent,)


# -- properties ------------------------------------------------------------------------

START = datetime(2026, 3, 20, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=60 * 24 * 30).map(
    lambda m: START + timedelta(minutes=m)
)
proposals = st.builds(
    proposal,
    at=moments,
    action=st.sampled_from(["a", "b", "c", "d"]),
    channel=st.sampled_from([*SOFIE, "bank_process"]),
).map(lambda p: replace(p, kind="bank_process") if p.channel == "bank_process" else p)
configs = st.builds(
    ContactPolicyConfig,
    max_contacts=st.integers(min_value=0, max_value=4),
    cap_window=st.sampled_from([timedelta(hours=12), timedelta(days=2), timedelta(days=7)]),
    repeat_window=st.sampled_from([timedelta(0), timedelta(days=3), timedelta(days=14)]),
)


@settings(max_examples=120, deadline=None)
@given(
    config=configs,
    batches=st.lists(st.lists(proposals, max_size=8), max_size=5),
    opted_out=st.sets(st.sampled_from(SOFIE), max_size=2),
)
def test_policy_invariants_hold_for_any_proposals(
    config: ContactPolicyConfig,
    batches: list[list[Proposal]],
    opted_out: set[SofieChannel],
) -> None:
    history = ContactHistory(consents=frozenset(SOFIE) - opted_out)
    recorded = 0
    for batch in batches:
        decided, history = apply_policy(config, history, batch)
        for p, v in decided:
            if v.status == "suppressed":
                assert v.deliver_at is None
                assert v.reason is not None
                continue
            assert v.deliver_at is not None
            assert v.deliver_at >= p.not_before
            assert v.deliver_at - p.not_before <= timedelta(hours=12)
            recorded += p.kind == "sofie"
    contacts = history.contacts
    assert len(contacts) == recorded
    assert [c.deliver_at for c in contacts] == sorted(c.deliver_at for c in contacts)
    for c in contacts:
        clock = c.deliver_at.astimezone(AMS).time()
        assert time(8) <= clock < time(21)
        assert c.channel not in opted_out
        in_window = [
            d for d in contacts if c.deliver_at <= d.deliver_at <= c.deliver_at + config.cap_window
        ]
        assert len(in_window) <= config.max_contacts
        repeats = [
            d
            for d in contacts
            if d is not c
            and (d.action, d.channel) == (c.action, c.channel)
            and abs(d.deliver_at - c.deliver_at) <= config.repeat_window
        ]
        assert not repeats
