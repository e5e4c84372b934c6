"""The playbook: which actions follow which signal, per arm. Data, not code.

The mapping lives in ``playbook_v1.yaml`` so that coaches can review and change it without
a code change; it is validated on load (an unknown channel, lever or signal type fails
start-up, never a decision) and its ``version`` is recorded with every decision, so every
outcome can be traced to the rules that produced it. Both arms are computed from the
same definitions: control gets the bank's process and the Sofie steps as shadows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Final, Literal, Self, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.actions import Arm, Channel, SofieChannel
from schemas.identifiers import Identifier
from schemas.ids import deterministic_id
from schemas.vocabulary import SignalType

DEFAULT_PLAYBOOK: Final = Path(__file__).with_name("playbook_v1.yaml")

Lever = Literal[
    "nudge",
    "mental_accounting",
    "buffer_set_aside",
    "due_date_change",
    "coach_call",
    "reinforcement",
    "escalation",
    "repetition",
]
"""Behavioural levers (domain.md §5); ``repetition`` repeats a step's message on another
channel."""

SIGNAL_TYPES: Final[tuple[SignalType, ...]] = get_args(SignalType)

Trigger = Literal["client_enrolled"] | SignalType
"""What the playbook responds to: a signal, or the client's enrolment (the start of a year of
support: onboarding, the buffer set-aside, the first workshop)."""

TRIGGERS: Final[tuple[Trigger, ...]] = ("client_enrolled", *SIGNAL_TYPES)

DelayDays = Annotated[int, Field(ge=0, le=366, strict=True)]


class PlaybookError(ValueError):
    """The playbook file is missing, not YAML, or not a valid playbook."""


# -- the file's shape (pydantic, validation only) --------------------------------------


class _FileModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _SofieStepModel(_FileModel):
    action: Identifier
    channel: SofieChannel
    lever: Lever
    message: Identifier
    """A message key for Sofie's templates, never the text itself."""
    delay_days: DelayDays


class _BankStepModel(_FileModel):
    action: Identifier
    channel: Literal["bank_process"]
    message: Identifier
    delay_days: DelayDays


def _check_steps(
    kind: str, signal: str, steps: tuple[_SofieStepModel | _BankStepModel, ...]
) -> None:
    seen: set[tuple[str, str]] = set()
    for step in steps:
        key = (step.action, step.channel)
        if key in seen:
            # The action id is derived from (signal, action, channel): a duplicate pair
            # would give two proposals one idempotency key.
            raise ValueError(f"{kind}.{signal}: action {step.action!r} twice on {step.channel}")
        seen.add(key)
        if isinstance(step, _SofieStepModel) and step.lever == "repetition":
            repeated = any(
                other.message == step.message and other.channel != step.channel
                for other in steps
                if other is not step
            )
            if not repeated:
                raise ValueError(
                    f"{kind}.{signal}: repetition of {step.message!r} on {step.channel} "
                    "needs the same message on another channel"
                )


class _PlaybookModel(_FileModel):
    version: Identifier
    treatment: dict[Trigger, tuple[_SofieStepModel, ...]]
    control: dict[Trigger, tuple[_BankStepModel, ...]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        # Every signal type must be decided explicitly (an empty list is a decision), so a
        # type added to the vocabulary cannot silently go without a playbook entry.
        for kind, table in (("treatment", self.treatment), ("control", self.control)):
            missing = [t for t in TRIGGERS if t not in table]
            if missing:
                raise ValueError(f"{kind}: no entry for triggers {missing}")
            for signal, steps in table.items():
                _check_steps(kind, signal, steps)
        return self


# -- the domain objects ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One action of the playbook, relative to the signal's time."""

    action: str
    channel: Channel
    lever: str | None
    message: str
    delay_days: int


@dataclass(frozen=True)
class Playbook:
    """A validated playbook. ``treatment``: Sofie steps; ``control``: the bank's process."""

    version: str
    treatment: Mapping[Trigger, tuple[Step, ...]]
    control: Mapping[Trigger, tuple[Step, ...]]


@dataclass(frozen=True, slots=True)
class SignalFacts:
    """What the playbook needs to know of one arrears signal (or of the enrolment: then
    ``signal_id`` is the enrolment message's id and ``signal_type`` is ``client_enrolled``)."""

    signal_id: str
    signal_type: Trigger
    client_id: str
    loan_id: str
    business_date: date
    time: datetime
    dpd: int

    def __post_init__(self) -> None:
        if self.time.utcoffset() is None:
            raise ValueError("SignalFacts.time must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Proposal:
    """An action the playbook proposes; the contact policy decides whether it goes out."""

    action_id: str
    client_id: str
    arm: Arm
    channel: Channel
    action: str
    lever: str | None
    message: str
    signal_id: str
    playbook_version: str
    not_before: datetime
    kind: Literal["sofie", "bank_process"]


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def parse_playbook(raw: object, source: str = "<playbook>") -> Playbook:
    """Validate an already parsed YAML/JSON document into a ``Playbook``."""
    try:
        model = _PlaybookModel.model_validate(raw)
    except ValidationError as error:
        raise PlaybookError(f"{source}: invalid playbook\n{_format_errors(error)}") from None

    def steps(step: _SofieStepModel | _BankStepModel) -> Step:
        lever = step.lever if isinstance(step, _SofieStepModel) else None
        return Step(step.action, step.channel, lever, step.message, step.delay_days)

    # Keys in vocabulary order, so iteration (and anything derived from it) is stable.
    return Playbook(
        version=model.version,
        treatment=MappingProxyType(
            {t: tuple(steps(s) for s in model.treatment[t]) for t in TRIGGERS}
        ),
        control=MappingProxyType({t: tuple(steps(s) for s in model.control[t]) for t in TRIGGERS}),
    )


def load_playbook(path: Path | None = None) -> Playbook:
    """Load and validate a playbook file (default: the packaged ``playbook_v1.yaml``)."""
    source = path or DEFAULT_PLAYBOOK
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PlaybookError(f"{source}: cannot read playbook: {error}") from error
    return parse_playbook(raw, str(source))


def _proposal(
    playbook: Playbook,
    facts: SignalFacts,
    arm: Arm,
    step: Step,
    kind: Literal["sofie", "bank_process"],
) -> Proposal:
    return Proposal(
        action_id=deterministic_id("action", facts.signal_id, step.action, step.channel),
        client_id=facts.client_id,
        arm=arm,
        channel=step.channel,
        action=step.action,
        lever=step.lever,
        message=step.message,
        signal_id=facts.signal_id,
        playbook_version=playbook.version,
        not_before=facts.time + timedelta(days=step.delay_days),
        kind=kind,
    )


def propose(playbook: Playbook, facts: SignalFacts, arm: Arm) -> tuple[Proposal, ...]:
    """The actions for one signal, in playbook order.

    Treatment: the Sofie steps. Control: the bank's process steps, then the very Sofie
    steps treatment would get (to be recorded as shadows, never sent). The action id
    does not depend on the arm, so a shadow and its treatment twin share one id scheme.
    """
    sofie = tuple(
        _proposal(playbook, facts, arm, step, "sofie")
        for step in playbook.treatment[facts.signal_type]
    )
    if arm == "treatment":
        return sofie
    bank = tuple(
        _proposal(playbook, facts, arm, step, "bank_process")
        for step in playbook.control[facts.signal_type]
    )
    return bank + sofie
