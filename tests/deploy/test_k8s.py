"""deploy/k8s/, checked structurally: the Deployments, Services and ConfigMap fit together and fit
the services' settings (no cluster here)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.catalogue import DEPLOY
from tests.deploy.settings_env import ANY_SERVICE, known_env

K8S = DEPLOY / "k8s"
SECRET = "nazorg-secrets"
SECRET_KEYS = {
    "ingest-api-tokens",
    "kafka-sasl-password",
    "database-url",
    "study-key",
    "sofie-token",
    "sofie-callback-token",
}
"""The keys of the Secret the platform creates (docs/operations.md lists them)."""
WEB_PORT = {
    "ingest": "NAZORG_INGEST_PORT",
    "detector": "NAZORG_DETECTOR_WEB_PORT",
    "intervention": "NAZORG_INTERVENTION_WEB_PORT",
}


@functools.cache
def documents() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            found.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return found


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents() if doc["kind"] == kind]


@pytest.fixture(scope="module")
def config() -> dict[str, str]:
    (config_map,) = of_kind("ConfigMap")
    data: dict[str, str] = config_map["data"]
    return data


def deployment(name: str) -> dict[str, Any]:
    (found,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == name]
    return found


def container(name: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment(name)["spec"]["template"]["spec"]["containers"]
    (found,) = containers
    return found


def named_port(spec: dict[str, Any], port: int | str) -> int:
    """A container port by number or name."""
    for candidate in spec.get("ports", []):
        if port in (candidate["containerPort"], candidate.get("name")):
            return int(candidate["containerPort"])
    raise AssertionError(f"no container port {port!r}")


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    assert {image["name"] for image in kustomization["images"]} == {"nazorg"}


def test_every_document_is_a_known_kind() -> None:
    kinds = {doc["kind"] for doc in documents()}
    assert kinds == {"Namespace", "ConfigMap", "Deployment", "Service"}
    for doc in documents():
        assert doc["apiVersion"] in {"v1", "apps/v1"}
        assert doc["metadata"]["name"]


def test_the_config_map_holds_settings_only(config: dict[str, str]) -> None:
    unknown = set(config) - ANY_SERVICE
    assert not unknown, f"no setting reads {sorted(unknown)}"
    secrets = {name for name in config if re.search(r"TOKEN|PASSWORD|KEY|DATABASE_URL", name)}
    assert not secrets, f"secrets belong in {SECRET}: {sorted(secrets)}"


@pytest.mark.parametrize("name", sorted(WEB_PORT))
def test_each_deployment_is_wired(name: str, config: dict[str, str]) -> None:
    spec = deployment(name)["spec"]
    template = spec["template"]
    labels = template["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    main = container(name)

    assert main["args"] == [name]
    image, _, tag = main["image"].rpartition(":")
    assert image == "nazorg"
    assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: pin the image tag"

    port = int(config[WEB_PORT[name]])
    assert named_port(main, port) == port
    liveness, readiness = main["livenessProbe"]["httpGet"], main["readinessProbe"]["httpGet"]
    assert liveness["path"] == "/healthz"
    assert readiness["path"] == "/readyz"
    assert named_port(main, liveness["port"]) == port
    assert named_port(main, readiness["port"]) == port

    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port
    assert annotations["prometheus.io/path"] == "/metrics"

    requests = main["resources"]["requests"]
    assert {"cpu", "memory"} <= set(requests)
    assert "memory" in main["resources"]["limits"]

    (env_from,) = main["envFrom"]
    assert env_from["configMapRef"]["name"] == of_kind("ConfigMap")[0]["metadata"]["name"]
    names = {variable["name"] for variable in main.get("env", [])}
    assert names <= known_env(name), f"{name}: unknown variables {names - known_env(name)}"
    for variable in main.get("env", []):
        reference = variable["valueFrom"]["secretKeyRef"]
        assert reference["name"] == SECRET
        assert reference["key"] in SECRET_KEYS, reference


def test_the_secrets_each_service_needs_are_referenced() -> None:
    def secret_vars(name: str) -> set[str]:
        return {v["name"] for v in container(name).get("env", []) if "valueFrom" in v}

    assert {"NAZORG_INGEST_API_TOKENS"} <= secret_vars("ingest")
    assert {
        "NAZORG_DATABASE_URL",
        "NAZORG_STUDY_KEY",
        "NAZORG_SOFIE_TOKEN",
        "NAZORG_SOFIE_CALLBACK_TOKEN",
    } <= secret_vars("intervention")


def test_services_select_pods_and_ports_of_a_deployment() -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    for service in of_kind("Service"):
        name = service["metadata"]["name"]
        selector = service["spec"]["selector"]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
        for port in service["spec"]["ports"]:
            assert named_port(container(name), port["targetPort"]) == port["port"], name


def test_detector_workers_do_not_outnumber_partitions(config: dict[str, str]) -> None:
    replicas = deployment("detector")["spec"]["replicas"]
    assert 1 < replicas <= int(config["NAZORG_TOPIC_PARTITIONS"])


def test_writable_paths_are_volumes(config: dict[str, str]) -> None:
    for name in ("detector", "intervention"):
        main = container(name)
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = [Path(m["mountPath"]) for m in main["volumeMounts"]]
        data_dir = Path(config[f"NAZORG_{name.upper()}_DATA_DIR"])
        assert any(data_dir.is_relative_to(mount) for mount in mounts), name
