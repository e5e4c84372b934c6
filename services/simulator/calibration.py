"""Calibration of ``risk_scale``: the one knob that sets how often collections fail.

Targets (domain.md §1): ever in arrears within 12 months, control 81.3% (218 of 268) and
treatment 24.6%. The segment profiles carry the shape (prevention 24% vs 7%,
collection_struggle 93% vs 28% at a support factor of 0.3); ``risk_scale`` moves the
whole cohort. Run ``python -m services.simulator.calibration`` to reproduce the figures in
docs/simulator.md.
"""

from __future__ import annotations

import argparse
import gc
import statistics
from dataclasses import replace
from typing import Final

from services.simulator.cohort import generate_cohort
from services.simulator.config import SimulationConfig
from services.simulator.engine import simulate
from services.simulator.oracle import ConstantOracle, StaticOracle, SupportOracle
from services.simulator.truth import GroundTruth, TruthRecord

CONTROL_TARGET: Final = 218 / 268
TREATMENT_FACTOR: Final = 0.3


def outcomes(config: SimulationConfig, oracle: SupportOracle | None = None) -> list[TruthRecord]:
    """Simulate ``config`` and return the ground truth per client."""
    cohort = generate_cohort(config)
    truth = GroundTruth(cohort)
    for batch in simulate(config, oracle, cohort=cohort):
        truth.observe_all(batch.events)
    return truth.records()


def arrears_rate(config: SimulationConfig, oracle: SupportOracle | None = None) -> float:
    """Plain share of clients ever in arrears during follow-up (censored ones included)."""
    records = outcomes(config, oracle)
    return sum(r.ever_in_arrears for r in records) / len(records)


def calibrate_risk_scale(
    config: SimulationConfig,
    target: float = CONTROL_TARGET,
    *,
    low: float = 0.5,
    high: float = 2.0,
    steps: int = 12,
) -> float:
    """Bisect ``risk_scale`` so that ``config`` (factor 1.0) hits ``target``.

    The rate rises with the scale: with the same draws a higher risk only turns more
    collections into failures. Use a large cohort (e.g. 20,000 clients) to average out
    the noise; the result is reproducible for a given config.
    """
    for _ in range(steps):
        middle = (low + high) / 2
        if arrears_rate(replace(config, risk_scale=middle)) < target:
            low = middle
        else:
            high = middle
    return round((low + high) / 2, 4)


def pilot_rates(config: SimulationConfig, control: int = 268) -> tuple[float, float]:
    """The seed's pilot: the first ``control`` clients get factor 1.0, the rest 0.3.
    Returns (control rate, treatment rate)."""
    cohort = generate_cohort(config)
    treated = {c.client_id: TREATMENT_FACTOR for c in cohort[control:]}
    records = outcomes(config, StaticOracle(treated))
    control_arm, treatment_arm = records[:control], records[control:]
    return (
        sum(r.ever_in_arrears for r in control_arm) / len(control_arm),
        sum(r.ever_in_arrears for r in treatment_arm) / len(treatment_arm),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--large", type=int, default=20_000, help="cohort for the bisection")
    parser.add_argument("--bisect", action="store_true", help="also re-derive risk_scale")
    args = parser.parse_args(argv)
    gc.disable()  # millions of short-lived acyclic objects; see gc_tuning.gc_paused
    base = SimulationConfig()
    if args.bisect:
        scale = calibrate_risk_scale(replace(base, clients=args.large))
        print(f"risk_scale for {CONTROL_TARGET:.3f} on {args.large} clients: {scale}")
    print(f"risk_scale in use: {base.risk_scale}")
    for clients, factor in ((args.large, 1.0), (args.large, TREATMENT_FACTOR)):
        rate = arrears_rate(replace(base, clients=clients), ConstantOracle(factor))
        print(f"{clients} clients, factor {factor}: ever in arrears {rate:.4f}")
    for factor in (1.0, TREATMENT_FACTOR):
        rates = [
            arrears_rate(replace(base, clients=268, seed=seed), ConstantOracle(factor))
            for seed in range(args.seeds)
        ]
        print(
            f"268 clients, factor {factor}, seeds 0..{args.seeds - 1}: "
            f"mean {statistics.mean(rates):.4f} sd {statistics.pstdev(rates):.4f} "
            f"min {min(rates):.4f} max {max(rates):.4f}"
        )
    for seed in range(3):
        control, treatment = pilot_rates(replace(base, seed=seed))
        print(
            f"pilot of 428 (268 control, 160 at {TREATMENT_FACTOR}), seed {seed}: "
            f"control {control:.4f} treatment {treatment:.4f}"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
