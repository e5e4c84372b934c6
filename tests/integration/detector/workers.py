"""Detector worker processes for the tests that kill, restart or mislead them."""

from __future__ import annotations

import json
import random
from pathlib import Path

from services.arrears_detector.shell_partition import ledgers_only
from services.common.broker import free_port
from services.common.kafka import ensure_topics, read_topic
from services.common.processes import ServiceProcess
from services.common.settings import DetectorSettings
from services.common.stack import EMBEDDED_BROKER_ENV, client_settings, namespaced_topics


def detector_settings(kafka_bootstrap: str, prefix: str) -> DetectorSettings:
    """Settings of a fresh namespace (its topics created) with its own detector app id."""
    namespace = f"{prefix}{random.randrange(16**6):06x}"
    base = client_settings(kafka_bootstrap, namespace)
    settings = DetectorSettings.model_validate(
        {**base.model_dump(), "detector_app_id": f"{namespace}-detector"}
    )
    ensure_topics(settings)
    return settings


def detector_env(settings: DetectorSettings) -> dict[str, str]:
    """The environment a ``nazorg detector`` process needs to work in ``settings``' namespace."""
    return {
        **EMBEDDED_BROKER_ENV,
        "NAZORG_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "NAZORG_DETECTOR_APP_ID": settings.detector_app_id,
        **{f"NAZORG_{name.upper()}": getattr(settings, name) for name in namespaced_topics("")},
    }


def detector_worker(name: str, env: dict[str, str], workdir: Path) -> ServiceProcess:
    """A detector process (not started) with its own web port, data directory and log."""
    port = free_port()
    return ServiceProcess(
        name,
        ["detector"],
        {
            **env,
            "NAZORG_DETECTOR_WEB_PORT": str(port),
            "NAZORG_DETECTOR_DATA_DIR": str(workdir / name),
        },
        f"http://127.0.0.1:{port}/readyz",
        workdir / f"{name}.log",
    )


def ledger_table(settings: DetectorSettings) -> dict[str, object]:
    """The loans' ledgers as the changelog holds them: the last value per loan, none if
    deleted, and no partition marks."""
    table: dict[str, object] = {}
    for record in read_topic(settings, f"{settings.detector_app_id}-ledgers-changelog"):
        key = json.loads(record.key)
        if record.value is None:
            table.pop(key, None)
        else:
            table[key] = json.loads(record.value)
    return ledgers_only(table)
