"""Writers and the ``nazorg simulate`` pipeline."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.simulator import batches, json_array_bodies, run, write_ndjson
from tests.unit.simulator.conftest import SMALL, Run


def test_json_array_bodies_hold_at_most_the_batch_size_in_order(small_run: Run) -> None:
    events = small_run.batches[2].events
    bodies = list(json_array_bodies(events, size=1000))
    assert [len(json.loads(b)) for b in bodies][:-1] == [1000] * (len(bodies) - 1)
    decoded = [e for body in bodies for e in json.loads(body)]
    assert decoded == events
    PAYMENT_EVENT_ADAPTER.validate_json(json.dumps(decoded[0]))


def test_ndjson_is_one_event_per_line(small_run: Run) -> None:
    out = io.BytesIO()
    assert write_ndjson(small_run.batches[1].events, out) == len(small_run.batches[1].events)
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == small_run.batches[1].events


def test_batches_refuse_a_size_below_one() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        list(batches([], 0))


def test_run_writes_events_enrolments_and_truth(tmp_path: Path) -> None:
    config = replace(SMALL, clients=30)
    events_path, truth_path = tmp_path / "events.ndjson", tmp_path / "truth.json"
    with events_path.open("wb") as events, (tmp_path / "enrolments.ndjson").open("wb") as enrol:
        result = run(
            config,
            events,
            truth_path=truth_path,
            enrolments_out=enrol,
            validate_every=1,
            progress=False,
        )
    lines = events_path.read_bytes().splitlines()
    assert result.events == len(lines) > 0
    assert result.months == 14
    truth = json.loads(truth_path.read_text())
    assert len(truth["clients"]) == 30
    assert truth["summary"] == result.truth
    assert len((tmp_path / "enrolments.ndjson").read_bytes().splitlines()) == 30


def test_run_writes_csv_truth_and_shows_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth_path = tmp_path / "truth.csv"
    run(replace(SMALL, clients=5), io.BytesIO(), truth_path=truth_path)
    assert truth_path.read_text().startswith("client_id,loan_id,segment,")
    assert "14/14 months" in capsys.readouterr().err
