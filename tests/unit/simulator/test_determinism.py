"""Same seed, same bytes; another seed, another pilot; ids stable and unique."""

from __future__ import annotations

import io
from dataclasses import replace

from services.simulator import SimulationConfig, generate_cohort, simulate, write_ndjson
from tests.unit.simulator.conftest import SMALL, Run


def ndjson(config: SimulationConfig) -> bytes:
    out = io.BytesIO()
    for batch in simulate(config):
        write_ndjson(batch.events, out)
    return out.getvalue()


def test_the_same_seed_gives_identical_bytes() -> None:
    config = replace(SMALL, clients=60)
    assert ndjson(config) == ndjson(replace(config))


def test_different_seeds_give_different_pilots() -> None:
    config = replace(SMALL, clients=60)
    assert ndjson(config) != ndjson(replace(config, seed=config.seed + 1))


def test_event_ids_are_unique_and_carry_the_run(small_run: Run) -> None:
    ids = [e["id"] for e in small_run.events]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(small_run.config.run_id) for i in ids)


def test_cohort_ids_do_not_collide_across_seeds() -> None:
    first = {c.client_id for c in generate_cohort(replace(SMALL, clients=10))}
    second = {c.client_id for c in generate_cohort(replace(SMALL, clients=10, seed=99))}
    assert not first & second
