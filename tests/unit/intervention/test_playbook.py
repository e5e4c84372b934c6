"""Playbook: the YAML is complete and validated; proposals are symmetric across arms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from schemas.actions import ActionDecision, Arm, SofieChannel
from schemas.ids import deterministic_id
from schemas.vocabulary import SignalType
from services.intervention.playbook import (
    DEFAULT_PLAYBOOK,
    Playbook,
    PlaybookError,
    Proposal,
    SignalFacts,
    load_playbook,
    parse_playbook,
    propose,
)

SIGNAL_TYPES: tuple[SignalType, ...] = get_args(SignalType)
SOFIE_CHANNELS: frozenset[str] = frozenset(get_args(SofieChannel))
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook()


def raw_playbook() -> dict[str, Any]:
    loaded = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def facts(signal_type: SignalType = "arrears_onset", signal_id: str = "sig-1") -> SignalFacts:
    return SignalFacts(
        signal_id=signal_id,
        signal_type=signal_type,
        client_id="client-1",
        loan_id="loan-1",
        business_date=date(2026, 3, 2),
        time=T0,
        dpd=6,
    )


def test_yaml_names_every_trigger_explicitly_in_both_arms() -> None:
    raw = raw_playbook()
    assert set(raw["treatment"]) == {"client_enrolled", *SIGNAL_TYPES}
    assert set(raw["control"]) == {"client_enrolled", *SIGNAL_TYPES}


def test_default_playbook_loads_with_its_version(playbook: Playbook) -> None:
    assert playbook.version == "playbook-v1"
    assert tuple(playbook.treatment) == ("client_enrolled", *SIGNAL_TYPES)
    assert all(s.channel in SOFIE_CHANNELS for steps in playbook.treatment.values() for s in steps)
    assert all(
        s.channel == "bank_process" and s.lever is None
        for steps in playbook.control.values()
        for s in steps
    )


def test_playbook_encodes_the_domain_levers(playbook: Playbook) -> None:
    def levers(signal: SignalType) -> set[str | None]:
        return {s.lever for s in playbook.treatment[signal]}

    nudges = [s for s in playbook.treatment["direct_debit_failed"] if s.lever == "nudge"]
    assert any(18 <= s.delay_days <= 25 for s in nudges)  # before the next due date
    assert "due_date_change" in levers("collection_struggle")
    assert "buffer_set_aside" in levers("collection_struggle")
    assert "mental_accounting" in levers("partial_payment")
    assert ("one_to_one", "coach_call") in {
        (s.channel, s.lever) for s in playbook.treatment["arrears_onset"]
    }
    assert "reinforcement" in levers("arrears_cured")
    assert "escalation" in levers("relapse")
    assert {s.channel for s in playbook.treatment["late_payment"]} == {"app"}
    assert playbook.treatment["instalment_missed"] == ()
    # Repetition: one message key on several channels.
    onset = playbook.treatment["arrears_onset"]
    assert len({s.channel for s in onset if s.message == "arrears_plan"}) >= 2
    assert {"collections_call"} <= {s.action for s in playbook.control["arrears_onset"]}
    assert {s.action for s in playbook.control["default_entered"]} == {"default_procedure"}


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def broken(mutate: Any) -> dict[str, Any]:
    document = raw_playbook()
    mutate(document)
    return document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["treatment"]["arrears_onset"][0].update(channel="sms"), "channel"),
        (lambda d: d["treatment"]["arrears_onset"][0].update(lever="bribery"), "lever"),
        (lambda d: d["treatment"].update(payday_loan=[]), "payday_loan"),
        (lambda d: d["treatment"].pop("relapse"), "relapse"),
        (lambda d: d["control"].pop("default_cured"), "default_cured"),
        (lambda d: d["control"]["arrears_onset"][0].update(channel="app"), "bank_process"),
        (lambda d: d["control"]["arrears_onset"][0].update(lever="nudge"), "lever"),
        (lambda d: d["treatment"]["late_payment"][0].update(delay_days=-1), "delay_days"),
        (lambda d: d["treatment"]["late_payment"][0].update(delay_days="20"), "delay_days"),
        (lambda d: d["treatment"]["late_payment"][0].update(message="two words"), "message"),
        (lambda d: d["treatment"]["late_payment"][0].update(colour="red"), "colour"),
        (lambda d: d.pop("version"), "version"),
        (
            lambda d: d["treatment"]["late_payment"].append(
                dict(d["treatment"]["late_payment"][0])
            ),
            "twice",
        ),
        (lambda d: d["treatment"]["arrears_onset"][2].update(message="lonely"), "repetition"),
    ],
)
def test_invalid_playbooks_fail_with_a_clear_error(
    tmp_path: Path, mutate: Any, message: str
) -> None:
    path = write(tmp_path, broken(mutate))
    with pytest.raises(PlaybookError, match=message) as caught:
        load_playbook(path)
    assert str(path) in str(caught.value)


def test_unreadable_or_non_yaml_files_fail_as_playbook_errors(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="cannot read"):
        load_playbook(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(PlaybookError, match="cannot read"):
        load_playbook(bad)
    with pytest.raises(PlaybookError, match="invalid playbook"):
        parse_playbook(["not", "a", "mapping"])


@pytest.mark.parametrize("signal_type", SIGNAL_TYPES)
def test_arms_get_the_same_sofie_steps(playbook: Playbook, signal_type: SignalType) -> None:
    treatment = propose(playbook, facts(signal_type), "treatment")
    control = propose(playbook, facts(signal_type), "control")
    assert all(p.kind == "sofie" and p.arm == "treatment" for p in treatment)
    bank = [p for p in control if p.kind == "bank_process"]
    shadows = [p for p in control if p.kind == "sofie"]
    # Bank process first, then the shadows, in playbook order.
    assert list(control) == bank + shadows
    assert len(bank) == len(playbook.control[signal_type])
    assert all(p.arm == "control" and p.channel == "bank_process" for p in bank)
    assert shadows == [replace(p, arm="control") for p in treatment]


def test_proposal_fields(playbook: Playbook) -> None:
    proposals = propose(playbook, facts("direct_debit_failed"), "treatment")
    steps = playbook.treatment["direct_debit_failed"]
    assert [p.action for p in proposals] == [s.action for s in steps]
    for p, step in zip(proposals, steps, strict=True):
        assert p.action_id == deterministic_id("action", "sig-1", step.action, step.channel)
        assert p.not_before == T0 + timedelta(days=step.delay_days)
        assert (p.client_id, p.signal_id, p.playbook_version) == (
            "client-1",
            "sig-1",
            "playbook-v1",
        )
        assert (p.channel, p.lever, p.message) == (step.channel, step.lever, step.message)


def test_action_ids_are_deterministic_and_distinct(playbook: Playbook) -> None:
    seen: dict[str, Proposal] = {}
    for signal_type in SIGNAL_TYPES:
        for arm in get_args(Arm):
            first = propose(playbook, facts(signal_type), arm)
            assert first == propose(playbook, facts(signal_type), arm)
            ids = [p.action_id for p in first]
            assert len(set(ids)) == len(ids)
            for p in first:
                other = seen.setdefault(p.action_id, p)
                # One id per (signal, action, channel): the arm does not enter it.
                assert (other.action, other.channel) == (p.action, p.channel)
    # Same action on two channels: two ids (the outbox keys them separately).
    reminders = [
        p
        for p in propose(playbook, facts("direct_debit_failed"), "treatment")
        if p.action == "due_date_reminder"
    ]
    assert {p.channel for p in reminders} == {"app", "email"}
    assert len({p.action_id for p in reminders}) == 2
    # Another signal: other ids.
    again = propose(playbook, facts("direct_debit_failed", signal_id="sig-2"), "treatment")
    assert not {p.action_id for p in again} & {p.action_id for p in reminders}


def test_proposals_fit_the_action_decision_contract(playbook: Playbook) -> None:
    for signal_type in SIGNAL_TYPES:
        for p in propose(playbook, facts(signal_type), "control"):
            ActionDecision(
                action_id=p.action_id,
                client_id=p.client_id,
                arm=p.arm,
                channel=p.channel,
                action=p.action,
                lever=p.lever,
                status="bank_process" if p.kind == "bank_process" else "shadow",
                signal_id=p.signal_id,
                playbook_version=p.playbook_version,
            )


def test_signal_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(facts(), time=datetime(2026, 3, 2, 9, 30))


def test_enrolment_starts_support_for_treatment_and_a_shadow_for_control(
    playbook: Playbook,
) -> None:
    enrolled = replace(facts(), signal_type="client_enrolled", dpd=0)
    treated = propose(playbook, enrolled, "treatment")
    assert {p.lever for p in treated} >= {"buffer_set_aside", "mental_accounting", "repetition"}
    control = propose(playbook, enrolled, "control")
    assert all(p.kind == "sofie" for p in control)  # no bank process at enrolment
    assert [p.action_id for p in control] == [p.action_id for p in treated]
