"""The Sofie-backed support oracle: the rule (pure) and the paging over ``/_dev/received``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from schemas.sofie_api import ReceivedAction
from services.simulator import generate_cohort
from services.simulator.sofie_oracle import (
    DEFAULT_SUPPORT_FACTOR,
    PAGE_LIMIT,
    OnboardingOracle,
    SofieOracle,
    earliest_support,
    factors_for,
    month_start,
    support_start,
)
from tests.unit.simulator.conftest import SMALL

RECEIVED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # wall clock: never simulated time


def item(seq: int, client: str, deliver_after: datetime | None) -> dict[str, Any]:
    return {
        "seq": seq,
        "idempotency_key": f"key-{seq}",
        "sofie_action_id": f"sfa-{seq}",
        "client_ref": client,
        "channel": "app",
        "action": "welcome",
        "deliver_after": None if deliver_after is None else deliver_after.isoformat(),
        "received_at": RECEIVED.isoformat(),
        "requests": 1,
    }


def action(seq: int, client: str, deliver_after: datetime | None) -> ReceivedAction:
    return ReceivedAction.model_validate_json(json.dumps(item(seq, client, deliver_after)))


def at(day: date, hour: int = 7) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_support_starts_at_deliver_after_else_when_sofie_received_it() -> None:
    assert support_start(action(1, "C1", at(date(2026, 10, 5)))) == at(date(2026, 10, 5))
    assert support_start(action(2, "C1", None)) == RECEIVED


def test_the_earliest_support_per_client_is_kept_whatever_the_order() -> None:
    later, earlier = at(date(2026, 11, 2)), at(date(2026, 10, 20))
    actions = [action(1, "C1", later), action(2, "C2", later), action(3, "C1", earlier)]
    assert earliest_support({}, actions) == {"C1": earlier, "C2": later}
    known = {"C1": at(date(2026, 10, 1))}
    assert earliest_support(known, actions)["C1"] == at(date(2026, 10, 1))
    assert known == {"C1": at(date(2026, 10, 1))}, "the input mapping is not changed"


def test_support_counts_from_the_month_after_it_started() -> None:
    first = {"C1": at(date(2026, 10, 31), 23), "C2": month_start(date(2026, 11, 1))}
    clients = ["C1", "C2", "C3"]
    assert factors_for(first, date(2026, 10, 1), clients, 0.3) == dict.fromkeys(clients, 1.0)
    november = factors_for(first, date(2026, 11, 1), clients, 0.3)
    # C2's support starts exactly at the month's first instant: not before it.
    assert november == {"C1": 0.3, "C2": 1.0, "C3": 1.0}
    assert factors_for(first, date(2026, 12, 1), clients, 0.3) == {"C1": 0.3, "C2": 0.3, "C3": 1.0}


def test_only_the_asked_clients_are_answered() -> None:
    first = {"C1": at(date(2026, 10, 1)), "X": at(date(2026, 10, 1))}
    assert factors_for(first, date(2027, 1, 1), ["C1"], 0.5) == {"C1": 0.5}


class FakeSofie:
    """``/_dev/received`` over an in-memory list, paged like the dev server."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.requests: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/_dev/received"
        since, limit = int(request.url.params["since"]), int(request.url.params["limit"])
        self.requests.append((since, limit))
        page = [i for i in self.items if i["seq"] > since][:limit]
        return httpx.Response(200, json=page)


def test_the_oracle_pages_with_a_cursor_and_asks_again_only_for_new_actions() -> None:
    october = at(date(2026, 10, 10))
    items = [item(seq, f"C{seq % 7}", october) for seq in range(1, PAGE_LIMIT + 3)]
    sofie = FakeSofie(items)
    with SofieOracle("http://sofie.test", 0.3, transport=httpx.MockTransport(sofie)) as oracle:
        factors = oracle.support_factors(date(2026, 11, 1), ["C1", "C9"])
        assert factors == {"C1": 0.3, "C9": 1.0}
        assert sofie.requests == [(0, PAGE_LIMIT), (PAGE_LIMIT, PAGE_LIMIT)]
        assert oracle.cursor == PAGE_LIMIT + 2

        sofie.items.append(item(PAGE_LIMIT + 3, "C9", at(date(2026, 11, 3))))
        assert oracle.support_factors(date(2026, 11, 1), ["C9"]) == {"C9": 1.0}
        assert sofie.requests[-1] == (PAGE_LIMIT + 2, PAGE_LIMIT)
        assert oracle.support_factors(date(2026, 12, 1), ["C9"]) == {"C9": 0.3}
        assert oracle.supported(date(2026, 12, 1)) == 8  # C0..C6 and C9
        assert oracle.poll() == 0


def test_a_failing_dev_server_is_an_error_not_no_support() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "internal_error"})

    with (
        SofieOracle("http://sofie.test", 0.3, transport=httpx.MockTransport(broken)) as oracle,
        pytest.raises(httpx.HTTPStatusError),
    ):
        oracle.support_factors(date(2026, 11, 1), ["C1"])


def test_the_factor_is_checked() -> None:
    with pytest.raises(ValueError, match="finite"):
        SofieOracle("http://sofie.test", -0.1)
    assert 0 < DEFAULT_SUPPORT_FACTOR < 1


def test_the_offline_stand_in_supports_everyone_from_the_month_after_enrolment() -> None:
    config = replace(SMALL, clients=30)
    cohort = generate_cohort(config)
    oracle = OnboardingOracle(config, 0.25)
    ids = [c.client_id for c in cohort]
    for month in (date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)):
        factors = oracle.support_factors(month, ids)
        for client in cohort:
            expected = 0.25 if client.enrolment_date < month else 1.0
            assert factors[client.client_id] == expected
    assert all(f == 0.25 for f in oracle.support_factors(date(2027, 1, 1), ids).values())
    assert month_start(date(2027, 1, 15)) == datetime(2027, 1, 1, tzinfo=UTC)
