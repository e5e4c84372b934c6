"""Which callbacks an accepted action produces: deterministic from (seed, key)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.actions import SofieChannel
from schemas.sofie_api import ReceivedAction
from services.sofie_dev.callbacks import callback_id, callbacks_for, engagement_kinds, engages

RECEIVED = datetime(2026, 3, 1, 8, tzinfo=UTC)


def action(
    key: str = "act-1", channel: SofieChannel = "app", deliver_after: datetime | None = None
) -> ReceivedAction:
    return ReceivedAction(
        seq=1,
        idempotency_key=key,
        sofie_action_id="sfa-1",
        client_ref="client-1",
        channel=channel,
        action="nudge",
        deliver_after=deliver_after,
        received_at=RECEIVED,
        requests=1,
    )


def test_engagement_is_the_same_every_time_for_seed_and_key() -> None:
    keys = [f"act-{n}" for n in range(200)]
    first = [engages(7, key, 0.6) for key in keys]
    assert first == [engages(7, key, 0.6) for key in keys]
    assert first != [engages(8, key, 0.6) for key in keys]


def test_engagement_follows_the_rate() -> None:
    keys = [f"act-{n}" for n in range(4000)]
    share = sum(engages(0, key, 0.6) for key in keys) / len(keys)
    assert 0.57 < share < 0.63
    assert not any(engages(0, key, 0.0) for key in keys)
    assert all(engages(0, key, 1.0) for key in keys)


@pytest.mark.parametrize(
    ("channel", "kind"),
    [
        ("app", "opened"),
        ("email", "opened"),
        ("video", "opened"),
        ("workshop", "attended"),
        ("one_to_one", "attended"),
    ],
)
def test_delivered_always_then_opened_or_attended_by_channel(
    channel: SofieChannel, kind: str
) -> None:
    assert engagement_kinds(channel, engaged=False) == ("delivered",)
    assert engagement_kinds(channel, engaged=True) == ("delivered", kind)


def test_callbacks_carry_deterministic_ids_and_the_delivery_instant() -> None:
    later = datetime(2026, 3, 2, 9, tzinfo=UTC)
    callbacks = callbacks_for(action(channel="workshop", deliver_after=later), seed=0, rate=1.0)
    assert [c.kind for c in callbacks] == ["delivered", "attended"]
    assert [c.callback_id for c in callbacks] == [
        callback_id("act-1", "delivered"),
        callback_id("act-1", "attended"),
    ]
    assert len({c.callback_id for c in callbacks}) == 2
    assert {c.occurred_at for c in callbacks} == {later}
    assert {(c.idempotency_key, c.sofie_action_id, c.channel) for c in callbacks} == {
        ("act-1", "sfa-1", "workshop")
    }


def test_without_deliver_after_the_receipt_time_is_used() -> None:
    (delivered,) = callbacks_for(action(), seed=0, rate=0.0)
    assert delivered.kind == "delivered"
    assert delivered.occurred_at == RECEIVED
