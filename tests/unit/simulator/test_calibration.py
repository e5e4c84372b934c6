"""The default calibration reproduces the seed's figures (docs/simulator.md has the runs)."""

from __future__ import annotations

from services.simulator import ConstantOracle, SimulationConfig
from services.simulator.calibration import arrears_rate, pilot_rates

CONTROL_LIKE = SimulationConfig(clients=268, seed=0)


def test_control_like_population_is_about_81_percent_in_arrears() -> None:
    rate = arrears_rate(CONTROL_LIKE, ConstantOracle(1.0))
    assert 0.70 <= rate <= 0.90  # 30 seeds: mean 0.814, min 0.784, max 0.843


def test_support_factor_0_3_brings_it_down_to_about_25_percent() -> None:
    control = arrears_rate(CONTROL_LIKE, ConstantOracle(1.0))
    treated = arrears_rate(CONTROL_LIKE, ConstantOracle(0.3))
    assert 0.15 <= treated <= 0.35  # 30 seeds: mean 0.248, min 0.209, max 0.295
    assert control - treated >= 0.40


def test_the_pilot_of_428_separates_the_arms() -> None:
    control, treatment = pilot_rates(SimulationConfig(clients=428, seed=0))
    assert control > 0.70
    assert treatment < 0.35
