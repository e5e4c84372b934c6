"""Golden scenarios: readable loan histories in scenarios/*.yaml and the signals they must give.

Each scenario also checks, at every step: the money identity, an exact snapshot round
trip, and that re-applying the same event changes nothing. And it runs twice: through the
next-deadline index (as the shell will) and by closing every day for the loan (the core's
no-op contract), which must agree exactly.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.arrears_detector.conservation import balance
from services.arrears_detector.events import BusinessDayClosed, DomainEvent
from services.arrears_detector.ledger import LoanLedger, apply
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.signals import Signal
from services.arrears_detector.snapshot import from_snapshot, to_snapshot
from tests.unit.detector.driver import Partition
from tests.unit.detector.histories import day, money, to_events

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
_MONEY_FIELDS = {"past_due": "past_due_amount", "exposure": "exposure"}
_PLAIN_FIELDS = ("dpd", "instalment_id", "bucket", "reason_code", "reason_category")


def _policy(overrides: dict[str, Any] | None) -> DetectionPolicy:
    if not overrides:
        return DEFAULT_POLICY
    values: dict[str, Any] = {
        k: money(v) if isinstance(getattr(DEFAULT_POLICY, k), Decimal) else v
        for k, v in overrides.items()
    }
    return replace(DEFAULT_POLICY, **values)


def _check_step(ledger: LoanLedger, event: DomainEvent, policy: DetectionPolicy) -> None:
    as_of = event.business_date if isinstance(event, BusinessDayClosed) else ledger.last_closed
    if as_of is not None:
        assert balance(ledger, as_of).conserved
    assert from_snapshot(to_snapshot(ledger)) == ledger
    again, signals = apply(ledger, event, policy)
    assert again is ledger
    assert signals == []


def _run_every_close(
    loan_id: str, events: list[DomainEvent], policy: DetectionPolicy
) -> tuple[LoanLedger | None, list[Signal]]:
    ledger: LoanLedger | None = None
    out: list[Signal] = []
    for event in events:
        if isinstance(event, BusinessDayClosed) and ledger is None:
            continue
        ledger, signals = apply(ledger, event, policy)
        out += signals
        _check_step(ledger, event, policy)
    return ledger, out


def _matches(signal: Signal, expected: dict[str, Any]) -> list[str]:
    problems = []
    if signal.type != expected["type"] or signal.business_date != day(expected["date"]):
        return [f"got {signal.type} on {signal.business_date}"]
    for key, attr in _MONEY_FIELDS.items():
        if key in expected and getattr(signal, attr) != money(expected[key]):
            problems.append(f"{key}: {getattr(signal, attr)} != {expected[key]}")
    for key in _PLAIN_FIELDS:
        if key in expected and getattr(signal, key) != expected[key]:
            problems.append(f"{key}: {getattr(signal, key)!r} != {expected[key]!r}")
    return problems


def _describe(signals: list[Signal]) -> str:
    return "\n".join(
        f"  {s.business_date} {s.type} dpd={s.dpd} past_due={s.past_due_amount}"
        f" inst={s.instalment_id} bucket={s.bucket}"
        for s in signals
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())
    policy = _policy(spec.get("policy"))
    loan_id = spec.get("loan", path.stem)
    events = list(to_events(loan_id, spec["events"]))

    partition = Partition(policy=policy)
    partition.feed_all(events)
    ledger, every_close = _run_every_close(loan_id, events, policy)
    assert partition.signals == every_close, "index and every-close runs disagree"
    assert partition.ledgers[loan_id] == ledger

    only = set(spec.get("only", ()))
    got = [s for s in every_close if not only or s.type in only]
    expected = spec.get("expect") or []
    assert len(got) == len(expected), (
        f"{len(got)} signals, expected {len(expected)}:\n{_describe(got)}"
    )
    for index, (signal, want) in enumerate(zip(got, expected, strict=True)):
        problems = _matches(signal, want)
        assert not problems, f"signal #{index + 1}: {problems}\n{_describe(got)}"
    assert len({s.signal_id for s in every_close}) == len(every_close)
