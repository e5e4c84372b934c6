"""The sample-ratio-mismatch check, on its own: the intervention worker exports it as a metric
of the running pilot, and importing it must not pull in the report's survival analysis."""

from __future__ import annotations

import math
from collections.abc import Mapping

from scipy import stats  # type: ignore[import-untyped]

from services.report.model import Srm

__all__ = ["srm"]


def srm(observed: Mapping[str, int], allocations: Mapping[float, int], alpha: float) -> Srm:
    """Chi-square goodness of fit of the arm sizes to the single stored intended allocation.

    ``observed`` maps arm to enrolled clients; ``allocations`` maps each stored intended
    treatment share to how many clients carry it. Several shares mean the assignment changed
    during the pilot: there is no one expectation, so the check is flagged without a p-value.
    """
    counts = {"treatment": observed.get("treatment", 0), "control": observed.get("control", 0)}
    shown = {repr(share): n for share, n in sorted(allocations.items())}
    total = sum(counts.values())

    def unchecked(flagged: bool, reason: str) -> Srm:
        return Srm(counts, None, None, shown, None, None, alpha, flagged, reason)

    if len(allocations) > 1:
        listed = ", ".join(f"{share} ({n} clients)" for share, n in shown.items())
        return unchecked(True, f"clients carry different intended allocations: {listed}")
    if total == 0 or not allocations:
        return unchecked(False, "no enrolled clients")
    (share,) = allocations
    expected = {"treatment": total * share, "control": total * (1 - share)}
    result = stats.chisquare(list(counts.values()), list(expected.values()))
    p = float(result.pvalue)
    if not math.isfinite(p):
        return unchecked(False, "the test statistic is not finite for these counts")
    return Srm(counts, expected, share, shown, float(result.statistic), p, alpha, p < alpha, None)
