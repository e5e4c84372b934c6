"""Settings of every service: one pydantic-settings class per service, env prefix ``NAZORG_``.

Defaults are production-sane (Apache Kafka, a 45 s consumer-group session). Tests and the demo
shorten the group timeouts through the environment, because a consumer-group join waits about
half the session timeout (docs/decisions/0003-embedded-broker.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from schemas import topics

MIN_SECRET_LENGTH = 16
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class CommonSettings(BaseSettings):
    """What every service is told: where Kafka is, the topic names, logging."""

    model_config = SettingsConfigDict(
        env_prefix="NAZORG_", extra="ignore", frozen=True, validate_default=True
    )

    bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None

    topic_inbound: str = topics.PAYMENTS_INBOUND
    topic_payment_events: str = topics.PAYMENT_EVENTS
    topic_dlq: str = topics.PAYMENTS_DLQ
    topic_signals: str = topics.ARREARS_SIGNALS
    topic_enrolments: str = topics.PILOT_ENROLMENTS
    topic_preferences: str = topics.PILOT_PREFERENCES
    topic_outcomes: str = topics.OUTCOMES
    topic_partitions: int = Field(default=4, ge=1)
    topic_replication_factor: int = Field(default=3, ge=1)
    create_topics: bool = True

    kafka_end_offsets_from_fetch: bool = False
    """Faust's table recovery takes each changelog's end from a fetch's high watermark, not
    from ListOffsets. For brokers whose ListOffsets answers with the last batch's base offset
    (Tansu 0.6, docs/decisions/0007); on Apache Kafka the two agree and this is off."""

    kafka_fetch_max_wait_ms: int | None = Field(default=None, ge=0, le=60_000)
    """How long the broker may hold a consumer's fetch while nothing new is there. None keeps
    the clients' own (Faust's workers 1,500 ms, kafka-python 500 ms): Apache Kafka answers as
    soon as data arrives. Tansu 0.6 holds a fetch of several partitions for the whole wait
    (services/common/fetch_wait.py), so the embedded broker sets 20."""

    consumer_session_timeout_s: float = Field(default=45.0, gt=0)
    consumer_heartbeat_interval_s: float = Field(default=3.0, gt=0)
    consumer_max_poll_interval_s: float = Field(default=300.0, gt=0)
    faust_stall_log_after_s: float = Field(default=300.0, gt=0)
    """A Faust worker logs an error naming a partition it lags on and has fetched, processed
    or committed nothing of for this long (Faust's ``stream_processing_timeout`` and
    ``broker_commit_livelock_soft_timeout``, checked every 2.5 commit intervals): the log line
    that says which partition of which worker is stuck, and why."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers_listed(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers or any(":" not in s for s in servers):
            raise ValueError("expected host:port[,host:port...]")
        return ",".join(servers)

    @property
    def bootstrap_list(self) -> list[str]:
        return self.bootstrap_servers.split(",")

    def display(self) -> dict[str, Any]:
        """Settings as printable data: secrets masked, passwords removed from URLs."""
        shown = self.model_dump(mode="json")
        for name, value in shown.items():
            if isinstance(value, str) and "://" in value and "@" in value:
                shown[name] = make_url(value).render_as_string(hide_password=True)
        return shown

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display()!r})"

    __str__ = __repr__


class IngestSettings(CommonSettings):
    """The ingest service: HTTP API, inbound topic consumer, ISO 20022 import."""

    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8080, ge=0, le=65535)
    ingest_api_tokens: list[SecretStr] = Field(default_factory=list)
    ingest_hmac_keys: list[SecretStr] = Field(default_factory=list)
    ingest_max_batch_events: int = Field(default=5000, ge=1)
    ingest_max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    ingest_publish_timeout_s: float = Field(default=10.0, gt=0)
    ingest_dedupe_window: int = Field(default=1_000_000, ge=0)
    ingest_hmac_max_skew_s: int = Field(default=300, ge=1, le=3600)
    """A signed request's timestamp may differ this much from our clock (replay window)."""
    ingest_inbound_enabled: bool = True
    """Consume ``topic_inbound`` in a background thread next to the HTTP server."""
    ingest_inbound_group_id: str = Field(default="nazorg-ingest-inbound", min_length=1)
    ingest_inbound_max_records: int = Field(default=500, ge=1, le=10_000)
    """Records per poll; one poll is validated, published and committed as one batch."""
    ingest_inbound_poll_timeout_s: float = Field(default=0.5, gt=0, le=10)
    ingest_inbound_retry_backoff_s: float = Field(default=1.0, gt=0, le=60)
    """Pause before a batch whose publish failed is tried again (doubled up to 30 s)."""
    ingest_dlq_max_payload_bytes: int = Field(default=256 * 1024, ge=1024, le=768 * 1024)
    """Larger payloads are cut in the dead letter (it names the source offset of the original),
    so one huge bad record cannot block the consumer with a record the broker refuses."""

    @field_validator("ingest_api_tokens", "ingest_hmac_keys")
    @classmethod
    def _strong_secrets(cls, values: list[SecretStr]) -> list[SecretStr]:
        if any(len(value.get_secret_value()) < MIN_SECRET_LENGTH for value in values):
            raise ValueError(f"every token and key needs at least {MIN_SECRET_LENGTH} characters")
        return values


class DetectorSettings(CommonSettings):
    """The arrears detector (a Faust worker)."""

    detector_app_id: str = "nazorg-arrears-detector"
    detector_web_host: str = "127.0.0.1"
    detector_web_port: int = Field(default=6066, ge=0, le=65535)
    detector_data_dir: str = "var/detector"
    detector_store: str = "memory://"


class InterventionSettings(CommonSettings):
    """The intervention service (a Faust worker writing SQL and the outcome topic)."""

    intervention_app_id: str = "nazorg-intervention"
    intervention_web_host: str = "127.0.0.1"
    intervention_web_port: int = Field(default=6067, ge=0, le=65535)
    intervention_data_dir: str = "var/intervention"
    database_url: SecretStr = SecretStr("sqlite:///var/nazorg.db")
    database_schema: str | None = None
    study_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key that pseudonymises client ids on the outcome topic",
    )
    experiment_key: str = "sofie-pilot-2026"
    treatment_share: float = Field(
        default=0.375,
        gt=0,
        lt=1,
        description="Intended share of enrolled clients assigned to treatment (3:5 = 0.375)",
    )
    followup_days: int = Field(default=365, ge=1)
    pilot_end_date: date | None = Field(
        default=None,
        description="Business date at which open follow-ups close as censored (none: never)",
    )
    playbook_path: str | None = Field(
        default=None, description="A playbook YAML file; the packaged playbook_v1 when unset"
    )
    sofie_url: str = "http://127.0.0.1:8070"
    sofie_token: SecretStr = Field(
        default=SecretStr("dev-sofie-token-change-me"),
        description="Bearer token for Sofie's action API",
    )
    sofie_timeout_s: float = Field(default=5.0, gt=0)
    sofie_callback_token: SecretStr = Field(
        default=SecretStr("dev-callback-token-change-me"),
        description="Bearer token Sofie presents on engagement callbacks to our webhook",
    )
    dispatch_interval_s: float = Field(default=0.2, gt=0)
    intervention_signal_batch: int = Field(
        default=500, ge=1, description="Signals stored per transaction (at most)"
    )
    intervention_signal_batch_within_s: float = Field(
        default=0.05, gt=0, description="Longest wait to fill a signal or enrolment batch"
    )
    intervention_enrolment_batch: int = Field(
        default=50,
        ge=1,
        description="Enrolments stored per transaction (at most); each may decide on a year "
        "of its client's earlier signals, so batches are smaller than the signals'",
    )
    dispatch_batch: int = Field(default=50, ge=1)
    dispatch_concurrency: int = Field(
        default=8, ge=1, le=64, description="Actions delivered to Sofie at the same time"
    )
    dispatch_lease_s: float = Field(default=30.0, gt=0)
    dispatch_max_attempts: int = Field(default=8, ge=1)
    dispatch_backoff_base_s: float = Field(default=0.5, gt=0)
    dispatch_backoff_cap_s: float = Field(default=60.0, gt=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=10.0, gt=0)
    relay_interval_s: float = Field(default=0.1, gt=0)
    srm_interval_s: float = Field(default=30.0, gt=0)
    srm_alpha: float = Field(default=0.001, gt=0, lt=1)

    @field_validator("study_key")
    @classmethod
    def _study_key_strong(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("set NAZORG_STUDY_KEY to a secret of at least 16 characters")
        return value

    @model_validator(mode="after")
    def _no_dev_tokens_beyond_loopback(self) -> Self:
        # The dev defaults let `make demo` talk to the dev Sofie server; a real Sofie must
        # never be called, or call us, with a token that is printed in our source code.
        host = urlsplit(self.sofie_url).hostname or ""
        if host not in LOOPBACK_HOSTS:
            for name in ("sofie_token", "sofie_callback_token"):
                secret: SecretStr = getattr(self, name)
                if secret.get_secret_value().startswith("dev-"):
                    raise ValueError(f"set NAZORG_{name.upper()} for a Sofie outside loopback")
        return self

    def display(self) -> dict[str, Any]:
        shown = super().display()
        shown["database_url"] = make_url(self.database_url.get_secret_value()).render_as_string(
            hide_password=True
        )
        return shown
