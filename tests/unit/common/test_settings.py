"""Settings: read from NAZORG_ variables, validated at start-up, secrets never printed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from services.cli import main
from services.common.settings import CommonSettings, IngestSettings, InterventionSettings

STUDY_KEY = "a-study-key-of-enough-length"


def test_values_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAZORG_BOOTSTRAP_SERVERS", "k1:9092, k2:9093")
    monkeypatch.setenv("NAZORG_INGEST_PORT", "9999")
    monkeypatch.setenv("NAZORG_TOPIC_PARTITIONS", "12")
    settings = IngestSettings()
    assert settings.bootstrap_list == ["k1:9092", "k2:9093"]
    assert settings.ingest_port == 9999
    assert settings.topic_partitions == 12


@pytest.mark.parametrize("servers", ["", "no-port", "k1:9092,nohost"])
def test_bootstrap_servers_must_be_host_port_pairs(servers: str) -> None:
    with pytest.raises(ValidationError, match="bootstrap_servers"):
        CommonSettings(bootstrap_servers=servers)


def test_intervention_refuses_a_missing_or_short_study_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NAZORG_STUDY_KEY", raising=False)
    with pytest.raises(ValidationError, match="NAZORG_STUDY_KEY"):
        InterventionSettings()
    monkeypatch.setenv("NAZORG_STUDY_KEY", "short")
    with pytest.raises(ValidationError, match="at least 16"):
        InterventionSettings()


def test_secrets_are_masked_in_display_repr_and_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAZORG_STUDY_KEY", STUDY_KEY)
    monkeypatch.setenv("NAZORG_DATABASE_URL", "postgresql+psycopg://nazorg:db-pass-123@db:5432/n")
    monkeypatch.setenv("NAZORG_KAFKA_SASL_PASSWORD", "kafka-pass-456")
    settings = InterventionSettings()
    shown = [json.dumps(settings.display()), repr(settings), str(settings)]
    for text in shown:
        for secret in (STUDY_KEY, "db-pass-123", "kafka-pass-456"):
            assert secret not in text
    assert settings.display()["database_url"] == "postgresql+psycopg://nazorg:***@db:5432/n"
    assert settings.study_key.get_secret_value() == STUDY_KEY


def test_ingest_tokens_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAZORG_INGEST_API_TOKENS", '["token-abc-1234567"]')
    monkeypatch.setenv("NAZORG_INGEST_HMAC_KEYS", '["hmac-key-789012345"]')
    settings = IngestSettings()
    assert settings.ingest_api_tokens[0].get_secret_value() == "token-abc-1234567"
    text = json.dumps(settings.display())
    assert "token-abc-1234567" not in text
    assert "hmac-key-789012345" not in text


def test_settings_command_prints_masked_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAZORG_STUDY_KEY", STUDY_KEY)
    result = CliRunner().invoke(main, ["settings", "intervention"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["study_key"] == "**********"
    assert STUDY_KEY not in result.output


@pytest.mark.parametrize("variable", ["NAZORG_INGEST_API_TOKENS", "NAZORG_INGEST_HMAC_KEYS"])
def test_ingest_refuses_short_tokens_and_keys(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, '["too-short"]')
    with pytest.raises(ValidationError, match="at least 16"):
        IngestSettings()


def test_dev_sofie_tokens_are_refused_for_a_sofie_beyond_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NAZORG_STUDY_KEY", STUDY_KEY)
    monkeypatch.setenv("NAZORG_SOFIE_URL", "https://api.sofie.example/")
    with pytest.raises(ValidationError, match="NAZORG_SOFIE_TOKEN"):
        InterventionSettings()
    monkeypatch.setenv("NAZORG_SOFIE_TOKEN", "a-real-token-from-the-vault")
    monkeypatch.setenv("NAZORG_SOFIE_CALLBACK_TOKEN", "another-real-token-from-the-vault")
    settings = InterventionSettings()
    assert "a-real-token-from-the-vault" not in repr(settings)
    monkeypatch.setenv("NAZORG_SOFIE_URL", "http://127.0.0.1:8070")
    monkeypatch.delenv("NAZORG_SOFIE_TOKEN")
    assert InterventionSettings().sofie_token.get_secret_value().startswith("dev-")
