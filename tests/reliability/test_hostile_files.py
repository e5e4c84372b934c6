"""Hostile ISO 20022 files through the real ``nazorg ingest import`` and broker.

The unit tests (tests/unit/ingest/iso20022/test_security.py) prove each parser layer refuses
entities, DTDs and oversized files. This is the whole command as operators run it: an external
entity that names a real file outside the import must leave that file's content nowhere (not in
the output, the events topic or the dead-letter topic), and a huge file and an entity bomb must
not raise the command's peak memory above that of importing a small valid file.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from pathlib import Path

import pytest

from schemas.codec import decode_dead_letter
from services.common.kafka import read_topic
from services.common.processes import nazorg_command
from services.common.stack import namespaced_topics
from tests.integration.ingest.helpers import ingest_settings, namespace

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "iso20022"
MANDATES = FIXTURES / "mandates.csv"
HUGE_BYTES = 1 << 30
"""A sparse 1 GiB file: no disk used, but 20 times the import's default 50 MB limit."""
MEMORY_MARGIN_KIB = 64 * 1024
"""Peak memory may exceed the small-file baseline by this much (noise, the bigger summary)."""


def run_import(ns: str, bootstrap: str, *files: Path) -> tuple[int, str, int]:
    """Exit code, output and peak resident memory (KiB) of one ``nazorg ingest import``."""
    env = {
        **os.environ,
        "NAZORG_BOOTSTRAP_SERVERS": bootstrap,
        "NAZORG_TOPIC_REPLICATION_FACTOR": "1",
        **{f"NAZORG_{k.upper()}": v for k, v in namespaced_topics(ns).items()},
    }
    command = nazorg_command("ingest", "import", "--mandates", str(MANDATES), *map(str, files))
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            # wait4 on this child: its own peak memory, not that of every child reaped so far.
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    return process.returncode, output, usage.ru_maxrss


def test_hostile_files_leak_nothing_and_stay_within_small_file_memory(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    marker = f"TOP-SECRET-{secrets.token_hex(8)}"
    outside = tmp_path / "outside" / "credentials.txt"
    outside.parent.mkdir()
    outside.write_text(f"{marker}\n")
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(
        (FIXTURES / "attack_xxe_file.xml")
        .read_text()
        .replace("file:///etc/passwd", outside.as_uri())
    )
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as handle:
        handle.write((FIXTURES / "camt054_refund.xml").read_bytes()[:200])
        handle.truncate(HUGE_BYTES)
    attacks = [xxe, FIXTURES / "attack_billion_laughs.xml", huge]

    ns = namespace("rel-hostile")
    baseline_code, _, baseline_kib = run_import(
        namespace("rel-baseline"), kafka_bootstrap, FIXTURES / "camt054_refund.xml"
    )
    code, output, peak_kib = run_import(ns, kafka_bootstrap, *attacks)

    assert baseline_code == 0
    assert code == 1, output  # every file dead-lettered
    assert marker not in output
    settings = ingest_settings(kafka_bootstrap, ns)
    assert read_topic(settings, settings.topic_payment_events, timeout_s=5) == []
    letters = [decode_dead_letter(r.value) for r in read_topic(settings, settings.topic_dlq)]
    reasons = sorted(letter.data.reason for letter in letters)
    assert reasons == ["dtd_forbidden", "dtd_forbidden", "file_too_large"], reasons
    for letter in letters:
        assert marker not in letter.model_dump_json()
    assert peak_kib < baseline_kib + MEMORY_MARGIN_KIB, (peak_kib, baseline_kib)
    print(f"\npeak RSS: small valid file {baseline_kib} KiB, hostile files {peak_kib} KiB")
