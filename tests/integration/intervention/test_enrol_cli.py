"""``nazorg intervention enroll FILE.csv`` against the real broker: all rows or none."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from schemas.codec import decode_enrolment
from services.cli import main
from services.common.kafka import read_topic
from services.common.stack import EMBEDDED_BROKER_ENV, client_settings

pytestmark = pytest.mark.integration

HEADER = "client_id,loan_ids,segment,enrolment_date\n"


def run(kafka_bootstrap: str, namespace: str, *args: str) -> tuple[int, str]:
    env = {
        **EMBEDDED_BROKER_ENV,
        "NAZORG_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "NAZORG_TOPIC_ENROLMENTS": f"{namespace}.pilot.enrollments.v1",
    }
    result = CliRunner().invoke(main, ["intervention", "enroll", *args], env=env)
    return result.exit_code, result.output


def test_a_valid_file_is_published_and_a_bad_one_not_at_all(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    namespace = f"enrol_{secrets.token_hex(4)}"
    settings = client_settings(kafka_bootstrap, namespace)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "C-1,L-1;L-2,prevention,2026-01-05\nC-2,L-3,restructured,2026-01-06\n")
    code, output = run(kafka_bootstrap, namespace, str(good))
    assert code == 0, output
    assert "published 2 enrolments" in output
    published = [decode_enrolment(r.value) for r in read_topic(settings, settings.topic_enrolments)]
    assert sorted(m.data.client_id for m in published) == ["C-1", "C-2"]

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "C-3,L-4,prevention,2026-01-05\nC-4,L-5,vip,2026-01-05\n")
    code, output = run(kafka_bootstrap, namespace, str(bad))
    assert code == 1
    assert "line 3: segment" in output
    assert "nothing was imported" in output
    assert len(read_topic(settings, settings.topic_enrolments)) == 2  # C-3 was not published
