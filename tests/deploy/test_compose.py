"""deploy/compose.yaml, checked without a Docker engine: pinned images, environment variables the
settings know (and accept), and ports that agree between the services, their health checks,
Prometheus and Grafana."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.catalogue import DEPLOY, PROMETHEUS_CONFIG, load_yaml
from tests.deploy.settings_env import SETTINGS, known_env

COMPOSE = DEPLOY / "compose.yaml"
EXAMPLE_ENV = DEPLOY / "compose.env.example"
NAZORG_SERVICES = ("ingest", "detector", "intervention", "sofie-dev")
WEB_PORT = {
    "ingest": "NAZORG_INGEST_PORT",
    "detector": "NAZORG_DETECTOR_WEB_PORT",
    "intervention": "NAZORG_INTERVENTION_WEB_PORT",
}
WEB_HOST = {
    "ingest": "NAZORG_INGEST_HOST",
    "detector": "NAZORG_DETECTOR_WEB_HOST",
    "intervention": "NAZORG_INTERVENTION_WEB_HOST",
}
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ``${X}``, ``${X:-default}``, ``${X:?error}``, ``$$``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        value = env.get(name)
        operator, argument = match.group(2), match.group(3)
        if operator and operator.endswith("-") and not value:
            return str(argument)
        if operator and operator.endswith("?") and not value:
            raise KeyError(f"{name} is required: {argument}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    """Substitute variables in every string of a parsed compose file (compose substitutes
    after parsing, so a value stays a string whatever it looks like)."""
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    return interpolate(node, env) if isinstance(node, str) else node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as docker compose sees it with deploy/.env = compose.env.example."""
    document = interpolate_tree(yaml.safe_load(COMPOSE.read_text()), read_env_file(EXAMPLE_ENV))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def container_ports(service: dict[str, Any]) -> set[int]:
    ports = {int(str(p).split(":")[-1].split("/")[0]) for p in service.get("ports", [])}
    return ports | {int(p) for p in service.get("expose", [])}


def health_url(service: dict[str, Any]) -> str:
    command = " ".join(service["healthcheck"]["test"])
    found = re.search(r"http://[^'\" ]+", command)
    assert found, command
    return found.group(0)


def command_option(service: dict[str, Any], option: str) -> str:
    command = [str(part) for part in service["command"]]
    return command[command.index(option) + 1]


def test_the_required_services_are_there(services: dict[str, Any]) -> None:
    expected = {"kafka", "postgres", "prometheus", "grafana", *NAZORG_SERVICES}
    assert expected <= set(services)
    assert services["sofie-dev"]["profiles"] == ["dev"], "the dev Sofie server is optional"
    assert services["detector"]["deploy"]["replicas"] >= 2
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"], "Kafka runs in KRaft mode"
    assert services["kafka"]["image"].startswith("apache/kafka:"), "the official image"


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = str(service["image"])
        repository, _, tag = image.rpartition(":")
        pinned = "@sha256:" in image or (
            bool(repository) and tag != "latest" and re.fullmatch(r"v?\d+(\.\d+)+(-[\w.]+)?", tag)
        )
        assert pinned, f"{name}: image {image!r} is not pinned to a version"


def test_our_services_are_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    for name in NAZORG_SERVICES:
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).is_file(), name
        assert services[name]["command"][0] in {"ingest", "detector", "intervention", "sofie-dev"}


def test_every_environment_variable_is_a_setting(services: dict[str, Any]) -> None:
    for name in NAZORG_SERVICES:
        command = str(services[name]["command"][0])
        unknown = set(services[name]["environment"]) - known_env(command)
        assert not unknown, f"{name}: variables no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("command", sorted(SETTINGS))
def test_the_environment_is_valid_for_the_settings(
    services: dict[str, Any], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [v for v in os.environ if v.startswith("NAZORG_")]:
        monkeypatch.delenv(variable)
    for variable, value in services[command]["environment"].items():
        monkeypatch.setenv(variable, str(value))
    settings = SETTINGS[command]()  # validators run: tokens, study key, URLs
    host = getattr(settings, WEB_HOST[command].removeprefix("NAZORG_").lower())
    assert host == "0.0.0.0", f"{command} must listen beyond the container's loopback"
    assert settings.bootstrap_servers == "kafka:9092"


def test_web_ports_agree_with_health_checks_and_scrapes(services: dict[str, Any]) -> None:
    scrape = {job["job_name"]: job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    for name, variable in WEB_PORT.items():
        service = services[name]
        port = int(service["environment"][variable])
        assert container_ports(service) == {port}, name
        url = urlsplit(health_url(service))
        assert (url.port, url.path) == (port, "/readyz"), name
        job = scrape[name]
        if "dns_sd_configs" in job:
            (sd,) = job["dns_sd_configs"]
            assert (sd["names"], sd["port"]) == ([name], port), name
        else:
            (static,) = job["static_configs"]
            assert static["targets"] == [f"{name}:{port}"], name
        assert job.get("metrics_path", "/metrics") == "/metrics"


def test_kafka_and_postgres_addresses_agree(services: dict[str, Any]) -> None:
    kafka = services["kafka"]["environment"]
    advertised = urlsplit(kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")[0])
    bootstrap = f"{advertised.hostname}:{advertised.port}"
    for name in ("ingest", "detector", "intervention"):
        assert services[name]["environment"]["NAZORG_BOOTSTRAP_SERVERS"] == bootstrap, name
        assert "kafka" in services[name]["depends_on"] or name != "ingest"

    postgres = services["postgres"]["environment"]
    database = urlsplit(services["intervention"]["environment"]["NAZORG_DATABASE_URL"])
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres['POSTGRES_DB']}"


def test_the_dev_sofie_server_and_the_intervention_find_each_other(
    services: dict[str, Any],
) -> None:
    sofie, intervention = services["sofie-dev"], services["intervention"]
    port = int(command_option(sofie, "--port"))
    assert command_option(sofie, "--host") == "0.0.0.0"
    assert container_ports(sofie) == {port}
    assert urlsplit(health_url(sofie)).port == port
    sofie_url = urlsplit(intervention["environment"]["NAZORG_SOFIE_URL"])
    assert (sofie_url.hostname, sofie_url.port) == ("sofie-dev", port)
    callback = urlsplit(command_option(sofie, "--callback-url"))
    web_port = int(intervention["environment"]["NAZORG_INTERVENTION_WEB_PORT"])
    assert (callback.hostname, callback.port) == ("intervention", web_port)
    assert callback.path == "/v1/sofie/engagements"
    for variable in ("NAZORG_SOFIE_TOKEN", "NAZORG_SOFIE_CALLBACK_TOKEN"):
        assert sofie["environment"][variable] == intervention["environment"][variable]


def test_prometheus_and_grafana_are_provisioned(services: dict[str, Any]) -> None:
    prometheus = services["prometheus"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in prometheus["volumes"]}
    assert (DEPLOY / mounts["/etc/prometheus"]).resolve() == PROMETHEUS_CONFIG.parent
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert container_ports(prometheus) == {9090}

    grafana = services["grafana"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in grafana["volumes"]}
    provisioning = DEPLOY / mounts["/etc/grafana/provisioning"]
    datasource = load_yaml(provisioning / "datasources" / "prometheus.yaml")["datasources"][0]
    url = urlsplit(datasource["url"])
    assert (url.hostname, url.port) == ("prometheus", 9090)
    (provider,) = load_yaml(provisioning / "dashboards" / "nazorg.yaml")["providers"]
    dashboards_path = provider["options"]["path"]
    assert (DEPLOY / mounts[dashboards_path]).resolve() == DEPLOY / "grafana" / "dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DEPLOY / "grafana" / "dashboards" / Path(home).name).is_file()
