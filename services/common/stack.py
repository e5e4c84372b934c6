"""The whole pipeline on one machine: ingest, detector and intervention as separate processes.

Used by ``nazorg demo`` and by the end-to-end tests, so that both run the services exactly as they
run in production (their own processes, their own settings from the environment).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from services.common.broker import free_port
from services.common.processes import ServiceProcess
from services.common.settings import CommonSettings

# What the services need on the embedded broker (docs/decisions/0003, 0007): short group
# timeouts (a join waits about half the session timeout), one replica, changelog ends read by
# fetching (Tansu's ListOffsets answers short), short fetch waits (Tansu holds them).
EMBEDDED_BROKER_ENV = {
    "NAZORG_CONSUMER_SESSION_TIMEOUT_S": "6",
    "NAZORG_CONSUMER_HEARTBEAT_INTERVAL_S": "1",
    "NAZORG_CONSUMER_MAX_POLL_INTERVAL_S": "8",
    "NAZORG_TOPIC_REPLICATION_FACTOR": "1",
    "NAZORG_KAFKA_END_OFFSETS_FROM_FETCH": "true",
    "NAZORG_KAFKA_FETCH_MAX_WAIT_MS": "20",
    # Tests wait 120 s at most for a stage: a partition stuck for 20 s is logged by name.
    "NAZORG_FAUST_STALL_LOG_AFTER_S": "20",
}


TOPIC_SETTINGS = (
    "topic_inbound",
    "topic_payment_events",
    "topic_dlq",
    "topic_signals",
    "topic_enrolments",
    "topic_preferences",
    "topic_outcomes",
)


def namespaced_topics(namespace: str) -> dict[str, str]:
    """Topic settings with a prefix, so several stacks can share one broker without mixing."""
    defaults = CommonSettings.model_fields
    prefix = f"{namespace}." if namespace else ""
    return {name: f"{prefix}{defaults[name].default}" for name in TOPIC_SETTINGS}


def client_settings(bootstrap: str, namespace: str = "") -> CommonSettings:
    """Settings for a test's or the demo's own Kafka clients against a local broker."""
    settings = CommonSettings(
        bootstrap_servers=bootstrap,
        topic_replication_factor=1,
        consumer_session_timeout_s=6.0,
        consumer_heartbeat_interval_s=1.0,
        consumer_max_poll_interval_s=8.0,
        kafka_end_offsets_from_fetch=True,
        kafka_fetch_max_wait_ms=20,
    )
    return settings.model_copy(update=namespaced_topics(namespace))


@dataclass
class LocalStack:
    """Three service processes sharing one broker and one database."""

    bootstrap: str
    workdir: Path
    database_url: str
    database_schema: str | None = None
    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    study_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    namespace: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[ServiceProcess] = field(default_factory=list)
    ingest_port: int = 0
    sofie_port: int = 0
    intervention_port: int = 0
    sofie_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    callback_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sofie_args: list[str] = field(default_factory=list)
    """Extra options for ``nazorg sofie-dev`` (e.g. ``--engagement-rate 0``)."""

    def client_settings(self) -> CommonSettings:
        """Settings for clients that talk to this stack's topics."""
        return client_settings(self.bootstrap, self.namespace)

    def env(self) -> dict[str, str]:
        env = {
            **EMBEDDED_BROKER_ENV,
            "NAZORG_BOOTSTRAP_SERVERS": self.bootstrap,
            "NAZORG_DATABASE_URL": self.database_url,
            "NAZORG_INGEST_API_TOKENS": f'["{self.api_token}"]',
            "NAZORG_STUDY_KEY": self.study_key,
            "NAZORG_SOFIE_URL": self.sofie_url,
            "NAZORG_SOFIE_TOKEN": self.sofie_token,
            "NAZORG_SOFIE_CALLBACK_TOKEN": self.callback_token,
            "NAZORG_LOG_FORMAT": "json",
        }
        for name, topic in namespaced_topics(self.namespace).items():
            env[f"NAZORG_{name.upper()}"] = topic
        if self.namespace:
            env["NAZORG_DETECTOR_APP_ID"] = f"{self.namespace}-arrears-detector"
            env["NAZORG_INTERVENTION_APP_ID"] = f"{self.namespace}-intervention"
        if self.database_schema:
            env["NAZORG_DATABASE_SCHEMA"] = self.database_schema
        return {**env, **self.extra_env}

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def sofie_url(self) -> str:
        return f"http://127.0.0.1:{self.sofie_port}"

    @property
    def intervention_url(self) -> str:
        return f"http://127.0.0.1:{self.intervention_port}"

    def sofie_process(self) -> ServiceProcess:
        """The dev Sofie server; it posts engagement callbacks to the intervention worker."""
        return ServiceProcess(
            "sofie-dev",
            [
                "sofie-dev",
                "--port",
                str(self.sofie_port),
                "--callback-url",
                f"{self.intervention_url}/v1/sofie/engagements",
                *self.sofie_args,
            ],
            self.env(),
            f"{self.sofie_url}/healthz",
            self.workdir / "sofie-dev.log",
        )

    def intervention_process(self, name: str = "intervention") -> ServiceProcess:
        return ServiceProcess(
            name,
            ["intervention"],
            {
                **self.env(),
                "NAZORG_INTERVENTION_WEB_PORT": str(self.intervention_port),
                "NAZORG_INTERVENTION_DATA_DIR": str(self.workdir / name),
            },
            f"{self.intervention_url}/readyz",
            self.workdir / f"{name}.log",
        )

    def extra_worker(self, kind: str, name: str) -> ServiceProcess:
        """Another ``detector`` or ``intervention`` worker in the same group as the one
        ``start`` runs, on a web port and data directory of its own (not started; Sofie's
        callbacks keep going to the first intervention worker)."""
        if kind not in ("detector", "intervention"):
            raise ValueError(f"no worker kind {kind!r}")
        port = free_port()
        return ServiceProcess(
            name,
            [kind],
            {
                **self.env(),
                f"NAZORG_{kind.upper()}_WEB_PORT": str(port),
                f"NAZORG_{kind.upper()}_DATA_DIR": str(self.workdir / name),
            },
            f"http://127.0.0.1:{port}/readyz",
            self.workdir / f"{name}.log",
        )

    def start(self, ready_timeout: float = 90.0) -> LocalStack:
        """Start the dev Sofie server and ingest (it creates the topics), then the two workers,
        and wait for all."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ingest_port = free_port()
        self.sofie_port, self.intervention_port = free_port(), free_port()
        detector_port = free_port()
        base = self.env()
        sofie = self.sofie_process()
        self.processes.append(sofie.start())
        sofie.wait_ready(ready_timeout)
        ingest = ServiceProcess(
            "ingest",
            ["ingest"],
            {**base, "NAZORG_INGEST_PORT": str(self.ingest_port)},
            f"{self.ingest_url}/readyz",
            self.workdir / "ingest.log",
        )
        self.processes.append(ingest.start())
        ingest.wait_ready(ready_timeout)
        workers = [
            ServiceProcess(
                "detector",
                ["detector"],
                {
                    **base,
                    "NAZORG_DETECTOR_WEB_PORT": str(detector_port),
                    "NAZORG_DETECTOR_DATA_DIR": str(self.workdir / "detector"),
                },
                f"http://127.0.0.1:{detector_port}/readyz",
                self.workdir / "detector.log",
            ),
            self.intervention_process(),
        ]
        for worker in workers:
            self.processes.append(worker.start())
        for worker in workers:
            worker.wait_ready(ready_timeout)
        return self

    def stop(self) -> None:
        """Stop every process this stack started, newest first, by process group."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
