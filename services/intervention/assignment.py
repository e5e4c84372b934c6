"""Randomisation of enrolled clients into the pilot's arms: a salted hash, no state.

The arm is a pure function of (experiment, segment, client) so that every process, replay
and restart assigns the same arm without coordination, and an auditor can recompute any
assignment from the published method (decision 0202). Putting the segment in the salt
stratifies: each segment is its own independent draw at the intended share.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, get_args

from schemas.actions import Arm
from schemas.enrolments import Segment
from schemas.ids import SEPARATOR

ASSIGNMENT_METHOD_VERSION: Final = "sha256-threshold/1"
"""Stored with every assignment; a change of method gets a new version, never a silent edit."""

_SEGMENTS: Final[frozenset[str]] = frozenset(get_args(Segment))
_SCALE: Final = 1 << 64


@dataclass(frozen=True, slots=True)
class Assignment:
    """A client's arm, with what is needed to audit it and to run an SRM check."""

    client_id: str
    segment: Segment
    arm: Arm
    experiment_key: str
    intended_allocation: float
    """The treatment share the draw used (e.g. 0.375 for 3:5)."""
    method_version: str
    loan_ids: tuple[str, ...]


def _draw(experiment_key: str, segment: str, client_id: str) -> int:
    """Uniform integer in [0, 2**64): the first 8 bytes (big-endian) of the salted SHA-256."""
    for part in (experiment_key, segment, client_id):
        if not part or SEPARATOR in part:
            # An empty part or one holding the separator would let two different inputs
            # share a salt string, and so share a draw.
            raise ValueError("experiment_key, segment and client_id must be non-empty, no \\x1f")
    salt = SEPARATOR.join((experiment_key, segment, client_id))
    return int.from_bytes(hashlib.sha256(salt.encode("utf-8")).digest()[:8], "big")


def assign(
    experiment_key: str,
    client_id: str,
    segment: Segment,
    loan_ids: tuple[str, ...],
    treatment_share: float,
) -> Assignment:
    """Assign ``client_id`` to an arm: treatment when draw < treatment_share * 2**64.

    The comparison is exact (``Fraction`` of the float's binary value), so the boundary
    is the same on every platform and in an auditor's re-implementation.
    """
    if isinstance(treatment_share, bool) or not isinstance(treatment_share, float | int):
        raise TypeError("treatment_share must be a number")
    if not (math.isfinite(treatment_share) and 0 < treatment_share < 1):
        raise ValueError("treatment_share must lie strictly between 0 and 1")
    if segment not in _SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    if not loan_ids or len(set(loan_ids)) != len(loan_ids):
        raise ValueError("loan_ids must be non-empty and without duplicates")
    draw = _draw(experiment_key, segment, client_id)
    arm: Arm = "treatment" if draw < Fraction(treatment_share) * _SCALE else "control"
    return Assignment(
        client_id=client_id,
        segment=segment,
        arm=arm,
        experiment_key=experiment_key,
        intended_allocation=float(treatment_share),
        method_version=ASSIGNMENT_METHOD_VERSION,
        loan_ids=tuple(loan_ids),
    )


@dataclass(frozen=True)
class EnrolmentVerdict:
    """What to do with an enrolment given the client's stored assignment.

    ``assignment`` is always the one to keep: the requested one when new, else the
    existing one (a client never changes arm).
    """

    outcome: Literal["new", "same", "refused"]
    assignment: Assignment
    reason: str | None
    """Machine code when refused: ``experiment_changed``, ``segment_changed``,
    ``loans_changed`` or ``arm_changed``."""


def reconcile(existing: Assignment | None, requested: Assignment) -> EnrolmentVerdict:
    """Decide a (re-)enrolment against the stored assignment.

    A re-enrolment with the same experiment, segment and loans is a redelivery: it gets
    the existing arm even when the share or method changed since (intention-to-treat).
    Any other difference is refused and the existing assignment kept: the segment is
    fixed at enrolment and re-randomising would break the comparison. ``arm_changed``
    catches a requested assignment whose arm differs although its share and method
    equal the stored one's, which the hash cannot produce (a bug or a tampered record).
    """
    if existing is None:
        return EnrolmentVerdict("new", requested, None)
    if existing.client_id != requested.client_id:
        raise ValueError("reconcile compares assignments of one client")
    reason: str | None = None
    if existing.experiment_key != requested.experiment_key:
        reason = "experiment_changed"
    elif existing.segment != requested.segment:
        reason = "segment_changed"
    elif frozenset(existing.loan_ids) != frozenset(requested.loan_ids):
        reason = "loans_changed"
    elif existing.arm != requested.arm and (
        existing.intended_allocation == requested.intended_allocation
        and existing.method_version == requested.method_version
    ):
        reason = "arm_changed"
    if reason is None:
        return EnrolmentVerdict("same", existing, None)
    return EnrolmentVerdict("refused", existing, reason)
