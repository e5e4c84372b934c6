"""Assignment: the salted-hash draw, its balance and independence, and re-enrolment."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from fractions import Fraction
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, chisquare

from schemas.enrolments import Segment
from services.intervention.assignment import (
    ASSIGNMENT_METHOD_VERSION,
    Assignment,
    assign,
    reconcile,
)

SEGMENTS: tuple[Segment, ...] = get_args(Segment)
SHARE = 0.375
N = 10_000


def goodness_p(treated: int, n: int, share: float) -> float:
    """Chi-square goodness of fit of (treated, control) to the intended share."""
    return float(chisquare([treated, n - treated], [n * share, n * (1 - share)]).pvalue)


def reference_draw(experiment: str, segment: str, client: str) -> int:
    digest = hashlib.sha256(f"{experiment}\x1f{segment}\x1f{client}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def test_golden_vectors_pin_the_method() -> None:
    # Recomputing these by hand from the published method must give the same arms.
    arms = [
        assign("pilot-2026", f"client-{i}", "prevention", ("L1",), SHARE).arm for i in range(1, 7)
    ]
    assert arms == ["control", "control", "control", "treatment", "treatment", "control"]
    assert reference_draw("pilot-2026", "prevention", "client-4") == 6332591881324201781


def test_assignment_carries_what_an_audit_needs() -> None:
    a = assign("pilot-2026", "client-4", "restructured", ("L1", "L2"), SHARE)
    assert a == Assignment(
        client_id="client-4",
        segment="restructured",
        arm=a.arm,
        experiment_key="pilot-2026",
        intended_allocation=SHARE,
        method_version=ASSIGNMENT_METHOD_VERSION,
        loan_ids=("L1", "L2"),
    )
    assert ASSIGNMENT_METHOD_VERSION == "sha256-threshold/1"


@pytest.mark.parametrize("segment", SEGMENTS)
def test_matches_reference_and_is_deterministic(segment: Segment) -> None:
    for i in range(200):
        client = f"c{i}"
        expected = reference_draw("exp-A", segment, client) < Fraction(SHARE) * 2**64
        first = assign("exp-A", client, segment, ("L",), SHARE)
        again = assign("exp-A", client, segment, ("L",), SHARE)
        assert first == again
        assert (first.arm == "treatment") is expected


def test_threshold_comparison_is_exact() -> None:
    # The two floats around the client's draw / 2**64 must give different arms: a
    # float comparison (u / 2**64 < share) would round u and could tie them.
    u = reference_draw("exp-A", "prevention", "client-x")
    point = Fraction(u, 2**64)
    nearest = float(point)
    assert Fraction(nearest) != point  # 64 significant bits: not a float
    lo, hi = (
        (nearest, math.nextafter(nearest, 1.0))
        if Fraction(nearest) < point
        else (math.nextafter(nearest, 0.0), nearest)
    )
    assert Fraction(lo) < point < Fraction(hi)
    assert assign("exp-A", "client-x", "prevention", ("L",), lo).arm == "control"
    assert assign("exp-A", "client-x", "prevention", ("L",), hi).arm == "treatment"


@pytest.mark.parametrize("segment", SEGMENTS)
def test_allocation_per_segment_matches_intended_share(segment: Segment) -> None:
    treated = sum(
        assign("pilot-2026", f"client-{i:05d}", segment, ("L",), SHARE).arm == "treatment"
        for i in range(N)
    )
    assert goodness_p(treated, N, SHARE) > 0.001


def test_chi2_check_detects_a_wrong_share() -> None:
    # The balance test must be able to fail: a 1:1 allocation is not 3:5.
    treated = sum(
        assign("pilot-2026", f"client-{i:05d}", "prevention", ("L",), 0.5).arm == "treatment"
        for i in range(N)
    )
    assert goodness_p(treated, N, SHARE) < 1e-6


def _independence_p(arms_a: list[bool], arms_b: list[bool]) -> float:
    """Chi-square test of independence on the 2x2 table (no continuity correction)."""
    table = [[0, 0], [0, 0]]
    for a, b in zip(arms_a, arms_b, strict=True):
        table[a][b] += 1
    return float(chi2_contingency(table, correction=False).pvalue)


def test_experiments_and_segments_draw_independently() -> None:
    clients = [f"client-{i:05d}" for i in range(N)]

    def arms(exp: str, segment: Segment) -> list[bool]:
        return [assign(exp, c, segment, ("L",), SHARE).arm == "treatment" for c in clients]

    base = arms("pilot-2026", "prevention")
    other_experiment = arms("pilot-2027", "prevention")
    other_segment = arms("pilot-2026", "restructured")
    assert base != other_experiment
    assert _independence_p(base, other_experiment) > 0.001
    assert _independence_p(base, other_segment) > 0.001
    # Sanity: the test sees dependence when there is some.
    assert _independence_p(base, base) < 1e-6


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, 1.5, math.nan, math.inf])
def test_share_must_lie_strictly_between_zero_and_one(share: float) -> None:
    with pytest.raises(ValueError, match="treatment_share"):
        assign("exp", "c1", "prevention", ("L",), share)


@pytest.mark.parametrize(
    ("experiment", "client", "segment", "loans"),
    [
        ("exp", "c\x1f1", "prevention", ("L",)),
        ("", "c1", "prevention", ("L",)),
        ("exp", "c1", "nonsense", ("L",)),
        ("exp", "c1", "prevention", ()),
        ("exp", "c1", "prevention", ("L", "L")),
    ],
)
def test_bad_inputs_are_refused(
    experiment: str, client: str, segment: Segment, loans: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages
        assign(experiment, client, segment, loans, SHARE)


# -- reconcile -------------------------------------------------------------------------


def _base() -> Assignment:
    return assign("pilot-2026", "client-4", "prevention", ("L1", "L2"), SHARE)


def test_first_enrolment_is_new() -> None:
    verdict = reconcile(None, _base())
    assert (verdict.outcome, verdict.assignment, verdict.reason) == ("new", _base(), None)


def test_redelivery_keeps_the_existing_arm_even_after_a_share_change() -> None:
    existing = _base()
    assert existing.arm == "treatment"
    requested = assign("pilot-2026", "client-4", "prevention", ("L2", "L1"), 0.1)
    assert requested.arm == "control"
    verdict = reconcile(existing, requested)
    assert verdict.outcome == "same"
    assert verdict.assignment is existing
    assert verdict.reason is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"experiment_key": "pilot-2027"}, "experiment_changed"),
        ({"segment": "restructured"}, "segment_changed"),
        ({"loan_ids": ("L1",)}, "loans_changed"),
        ({"loan_ids": ("L1", "L2", "L3")}, "loans_changed"),
        ({"arm": "control"}, "arm_changed"),
    ],
)
def test_changed_enrolments_are_refused_and_the_existing_kept(
    change: dict[str, object], reason: str
) -> None:
    existing = _base()
    verdict = reconcile(existing, replace(existing, **change))  # type: ignore[arg-type]
    assert verdict.outcome == "refused"
    assert verdict.reason == reason
    assert verdict.assignment is existing


def test_reconcile_refuses_comparing_two_clients() -> None:
    with pytest.raises(ValueError, match="one client"):
        reconcile(_base(), replace(_base(), client_id="someone-else"))


assignments = st.builds(
    assign,
    experiment_key=st.sampled_from(["exp-A", "exp-B"]),
    client_id=st.just("client-1"),
    segment=st.sampled_from(SEGMENTS),
    loan_ids=st.sampled_from([("L1",), ("L1", "L2"), ("L2",)]),
    treatment_share=st.sampled_from([0.2, 0.375, 0.5, 0.8]),
)


@settings(max_examples=150, deadline=None)
@given(existing=st.none() | assignments, requested=assignments)
def test_reconcile_is_idempotent(existing: Assignment | None, requested: Assignment) -> None:
    first = reconcile(existing, requested)
    second = reconcile(first.assignment, requested)
    # Storing the verdict's assignment and applying the same request again changes nothing.
    assert second.assignment == first.assignment
    if first.outcome == "refused":
        assert second == first
    else:
        assert second.outcome == "same"
    assert reconcile(first.assignment, first.assignment).outcome == "same"
