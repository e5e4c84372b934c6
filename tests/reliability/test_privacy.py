"""No personal data or secret leaks: a small simulated pilot, then everything it left scanned.

The pilot runs as ``nazorg demo`` runs it (``run_pilot``: dev Sofie, ingest, detector and
intervention as processes, on PostgreSQL with a password in the URL, an HMAC key besides the
bearer token). Early in the year hostile-but-plausible input is added that carries what the
simulator never produces: an IBAN on an accepted debit, and a client name and the IBAN in
rejected events and in a malformed record on the inbound topic. Then it collects every service's
log file, every service's ``/metrics`` (scraped just before the stack stops), every record on
``outcomes.v1`` and on the dead-letter topic, and ``nazorg settings`` of each service, and
asserts that:

- no raw client id, loan id, IBAN or client name appears in logs, metrics or outcomes
  (pseudonyms are fine; the dead-letter topic keeps the refused bytes verbatim by contract,
  docs/contracts.md, so it is only checked for secrets);
- no secret (bearer token, HMAC key, study key, Sofie tokens, database password) appears in any
  of it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

import services.demo
from services.common.kafka import make_producer, read_topic
from services.common.processes import nazorg_command
from services.common.settings import CommonSettings
from services.common.stack import LocalStack
from services.demo import PilotConfig, PilotResult, run_pilot
from services.ingest.auth import sign
from services.simulator import SimulationConfig, generate_cohort
from services.simulator.events import direct_debit_collected
from tests.fixtures.database import create_isolated_pg_schema

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class ShortPilot(PilotConfig):
    """Three months instead of fourteen, with more risk so that arrears, actions and Sofie
    deliveries happen early: every path that handles a client's data runs, in a third of the
    time (follow-ups still open at the end are closed as censored)."""

    def simulation(self) -> SimulationConfig:
        return SimulationConfig(
            clients=self.clients,
            seed=self.seed,
            enrolment_days=20,
            horizon_days=92,
            risk_scale=RISK_SCALE,
        )


RISK_SCALE = 4.0
COHORT = ShortPilot(clients=12, seed=3, stage_timeout_s=90.0)
IBAN = "NL91ABNA0417164300"
NAME = "Johanna Wilhelmina de Vries-Bakker"
PROBE_CLIENT = "privacy-probe-client-7Q"
PROBE_LOAN = "privacy-probe-loan-7Q"
RAW_ID = re.compile(r"sim\d+-[CL]\d{6}")
"""The simulator's client and loan ids (``sim<seed>-C000001``): also catches cut-off ids."""


@dataclass
class Capture:
    """What the run left behind, gathered while (and just after) the stack ran."""

    stack: LocalStack | None = None
    result: PilotResult | None = None
    cohort_ids: list[str] = field(default_factory=list)
    hmac_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    db_password: str = field(default_factory=lambda: "pw-" + secrets.token_urlsafe(18))
    metrics: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    probe_answers: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)

    def secrets(self) -> dict[str, str]:
        assert self.stack is not None
        return {
            "bearer token": self.stack.api_token,
            "HMAC key": self.hmac_key,
            "study key": self.stack.study_key,
            "Sofie token": self.stack.sofie_token,
            "Sofie callback token": self.stack.callback_token,
            "database password": self.db_password,
        }


def with_password(url: str, password: str) -> str:
    """The test server trusts loopback, so any password works: it is here to be leaked."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def probe_events(client_id: str, loan_id: str) -> list[dict[str, Any]]:
    """One valid debit with an IBAN (a loan outside the cohort), and two events of a cohort
    client that are rejected for carrying a name where none belongs and a malformed IBAN."""
    valid = direct_debit_collected(
        f"privacy-probe-{secrets.token_hex(4)}",
        PROBE_LOAN,
        PROBE_CLIENT,
        "privacy-probe-instalment",
        "privacy-probe-e2e",
        "privacy-probe-mandate",
        "privacy-probe-bankref",
        date(2026, 10, 1),
        Decimal("12.34"),
    )
    valid["data"]["debtor_iban"] = IBAN
    named = json.loads(json.dumps(valid))
    named["id"] = f"privacy-probe-{secrets.token_hex(4)}"
    named["data"].update(loan_id=loan_id, client_id=client_id, debtor_name=NAME)
    bad_iban = json.loads(json.dumps(named))
    bad_iban["id"] = f"privacy-probe-{secrets.token_hex(4)}"
    del bad_iban["data"]["debtor_name"]
    bad_iban["data"]["debtor_iban"] = f"{IBAN} {NAME}"
    return [valid, named, bad_iban]


def send_probes(capture: Capture, client_id: str, loan_id: str) -> None:
    """The probes over HTTP (signed with the HMAC key, so that path is logged too) and a
    malformed record with the IBAN and name on the inbound topic (dead-lettered by ingest)."""
    stack = capture.stack
    assert stack is not None
    body = json.dumps(probe_events(client_id, loan_id)).encode()
    timestamp = str(int(time.time()))
    answer = httpx.post(
        f"{stack.ingest_url}/v1/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Nazorg-Timestamp": timestamp,
            "X-Nazorg-Signature": sign(capture.hmac_key, timestamp, body),
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    capture.probe_answers.append(answer.json())
    settings = stack.client_settings()
    producer = make_producer(settings)
    try:
        bad = f'{{"id":"x","data":{{"client_id":"{client_id}","iban":"{IBAN}","name":"{NAME}"'
        producer.send(settings.topic_inbound, key=loan_id.encode(), value=bad.encode())
        producer.flush(10)
    finally:
        producer.close()


def wait_for_dead_letter(settings: CommonSettings, needle: str, timeout_s: float) -> None:
    """Until a record holding ``needle`` is on the dead-letter topic (bounded: the test's
    assertion says what is missing)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = read_topic(settings, settings.topic_dlq)
        if any(needle in r.value.decode(errors="replace") for r in records):
            return
        time.sleep(0.5)


def scrape_then_stop(
    capture: Capture, stop: Callable[[LocalStack], None]
) -> Callable[[LocalStack], None]:
    """``stop_stack`` for ``run_pilot`` that first reads what only a running stack can tell."""

    def stop_stack(stack: LocalStack) -> None:
        try:
            # The inbound consumer may join its group after a short year is over (a join
            # waits about half the session timeout): the malformed probe must have been
            # handled, and logged, before the logs and metrics are read.
            wait_for_dead_letter(stack.client_settings(), IBAN, timeout_s=60)
            for process in stack.processes:
                url = process.ready_url.rsplit("/", 1)[0] + "/metrics"
                answer = httpx.get(url, timeout=10)
                if process.name != "sofie-dev":  # the dev Sofie server has no metrics
                    assert answer.status_code == 200, (process.name, answer.status_code)
                    capture.metrics[process.name] = answer.text
            for service in ("ingest", "detector", "intervention"):
                shown = subprocess.run(
                    nazorg_command("settings", service),
                    env={**os.environ, **stack.env()},
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=True,
                )
                capture.settings[service] = shown.stdout + shown.stderr
        finally:
            stop(stack)

    return stop_stack


@pytest.fixture(scope="module")
def capture(kafka_bootstrap: str, pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Capture:
    workdir = tmp_path_factory.mktemp("privacy")
    found = Capture()
    schema, drop = create_isolated_pg_schema(pg_url, prefix="nz_privacy")
    cohort = generate_cohort(COHORT.simulation())

    def make_stack(**kwargs: Any) -> LocalStack:
        kwargs.update(
            database_url=with_password(pg_url, found.db_password),
            database_schema=schema,
            extra_env={
                **kwargs.get("extra_env", {}),
                "NAZORG_INGEST_HMAC_KEYS": json.dumps([found.hmac_key]),
            },
        )
        found.stack = LocalStack(**kwargs)
        return found.stack

    def say(line: str) -> None:
        if re.match(r"\d{4}-\d{2} ", line) and not found.probe_answers:
            send_probes(found, cohort[0].client_id, cohort[0].loan_id)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services.demo, "LocalStack", make_stack)
        patch.setattr(
            services.demo, "stop_stack", scrape_then_stop(found, services.demo.stop_stack)
        )
        try:
            result: PilotResult = run_pilot(
                COHORT, workdir, bootstrap=kafka_bootstrap, namespace=schema, say=say
            )
        finally:
            drop()
    assert found.stack is not None
    found.logs = {p.name: p.read_text(errors="replace") for p in sorted(workdir.glob("*.log"))}
    settings = found.stack.client_settings()
    found.outcomes = [r.value.decode() for r in read_topic(settings, settings.topic_outcomes)]
    found.dead_letters = [
        r.value.decode(errors="replace") for r in read_topic(settings, settings.topic_dlq)
    ]
    found.cohort_ids = [c.client_id for c in cohort] + [c.loan_id for c in cohort]
    found.result = result
    return found


def places(capture: Capture) -> dict[str, str]:
    """Every text a person or another system may read, by where it came from."""
    texts = {f"log {name}": text for name, text in capture.logs.items()}
    texts |= {f"/metrics of {name}": text for name, text in capture.metrics.items()}
    texts |= {f"settings {name}": text for name, text in capture.settings.items()}
    texts["outcomes.v1"] = "\n".join(capture.outcomes)
    return texts


def personal_data(capture: Capture) -> list[str]:
    return [*capture.cohort_ids, PROBE_CLIENT, PROBE_LOAN, IBAN, NAME]


def test_the_run_produced_what_is_scanned(capture: Capture) -> None:
    """Without this, a scan of empty output would pass."""
    assert {"ingest.log", "detector.log", "intervention.log", "sofie-dev.log"} <= set(capture.logs)
    assert all(capture.logs[name].strip() for name in ("ingest.log", "intervention.log"))
    assert set(capture.metrics) == {"ingest", "detector", "intervention"}
    assert [a["accepted"] for a in capture.probe_answers] == [1]
    assert [a["rejected"] for a in capture.probe_answers] == [2]
    result = capture.result
    assert result is not None
    assert result.final.closed == COHORT.clients
    assert len(capture.outcomes) > 2 * COHORT.clients
    outcomes = [json.loads(o) for o in capture.outcomes]
    subjects = {o["subject"] for o in outcomes}
    types = {o["type"] for o in outcomes}
    assert {"enrolled", "signal_observed", "action_sent", "followup_closed"} <= types, types
    assert subjects == {result.subject_of(c) for c in result.arms}
    # The dead-letter topic keeps the refused bytes: the malformed probe reached it.
    assert any(IBAN in record for record in capture.dead_letters)
    print(
        f"\nscanned: {sum(map(len, capture.logs.values())):,} bytes of logs from "
        f"{len(capture.logs)} processes, /metrics of {len(capture.metrics)} services "
        f"({sum(map(len, capture.metrics.values())):,} bytes), {len(capture.outcomes)} outcomes, "
        f"{len(capture.dead_letters)} dead letters, settings of {len(capture.settings)} services; "
        f"{len(capture.cohort_ids)} raw ids, {result.events:,} events sent, "
        f"{result.sofie_accepted} actions accepted by Sofie"
    )


def test_no_raw_identifier_iban_or_name_anywhere(capture: Capture) -> None:
    leaks = [
        (where, value)
        for where, text in places(capture).items()
        for value in personal_data(capture)
        if value in text
    ]
    leaks += [
        (where, match.group())
        for where, text in places(capture).items()
        for match in RAW_ID.finditer(text)
    ]
    assert not leaks, sorted(set(leaks))[:40]


def test_no_secret_anywhere(capture: Capture) -> None:
    texts = places(capture) | {"payments.dlq.v1": "\n".join(capture.dead_letters)}
    leaks = [
        (where, name)
        for where, text in texts.items()
        for name, secret in capture.secrets().items()
        if secret in text
    ]
    assert not leaks, leaks


def test_settings_are_printed_with_secrets_masked(capture: Capture) -> None:
    """Positive control for the secret scan of ``nazorg settings``: the values are there,
    masked, and the database URL is shown without its password."""
    assert capture.stack is not None
    shown = {service: json.loads(text) for service, text in capture.settings.items()}
    assert set(shown) == {"ingest", "detector", "intervention"}
    assert shown["ingest"]["ingest_api_tokens"] == ["**********"]
    assert shown["ingest"]["ingest_hmac_keys"] == ["**********"]
    intervention = shown["intervention"]
    assert intervention["study_key"] == intervention["sofie_token"] == "**********"
    url = make_url(intervention["database_url"])
    assert (url.host, url.password) == ("127.0.0.1", "***")
