"""docs/openapi/sofie.json: current, self-contained, and without the dev-only routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from services.sofie_dev.actions import bearer_matches
from services.sofie_dev.openapi_doc import DOC_PATH, export, render, sync
from services.sofie_dev.server import SofieDevConfig, openapi_document


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def test_the_committed_document_is_current(document: dict[str, Any]) -> None:
    assert DOC_PATH.exists(), "run `python -m services.sofie_dev.openapi_doc`"
    assert DOC_PATH.read_text(encoding="utf-8") == render(document), (
        "docs/openapi/sofie.json is stale; run `python -m services.sofie_dev.openapi_doc`"
    )
    assert export(check=True) is False


def test_it_is_openapi_3_1_and_every_reference_resolves(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    found = set(refs(document))
    assert "#/components/schemas/SofieDeliveryRequest" in found
    assert "#/components/schemas/EngagementCallback" in found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


def test_the_action_endpoint_is_fully_described(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/actions"]["post"]
    assert set(post["responses"]) == {
        "200",
        "202",
        "400",
        "401",
        "409",
        "413",
        "422",
        "500",
        "503",
        "504",
    }
    assert post["security"] == [{"bearer": []}]
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    assert post["parameters"][0]["required"] is True
    body = document["components"]["schemas"]["SofieDeliveryRequest"]
    assert "deliver_after" in body["properties"]
    assert body["additionalProperties"] is False


def test_the_callback_is_a_webhook_and_dev_routes_are_not_in_the_contract(
    document: dict[str, Any],
) -> None:
    assert set(document["webhooks"]) == {"engagement"}
    webhook = document["webhooks"]["engagement"]["post"]
    assert set(webhook["responses"]) == {"2XX", "4XX", "5XX"}
    assert set(document["paths"]) == {"/v1/actions", "/healthz"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_sync_writes_and_check_only_compares(tmp_path: Path) -> None:
    target = tmp_path / "openapi" / "sofie.json"
    assert sync({"openapi": "3.1.0"}, check=True, path=target) is True
    assert not target.exists()
    assert sync({"openapi": "3.1.0"}, check=False, path=target) is True
    assert sync({"openapi": "3.1.0"}, check=True, path=target) is False
    assert sync({"openapi": "3.1.1"}, check=True, path=target) is True


def test_the_server_refuses_weak_tokens_and_a_callback_url_without_a_token() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        SofieDevConfig(token=SecretStr("short"))
    with pytest.raises(ValidationError, match="callback_token"):
        SofieDevConfig(token=SecretStr("x" * 16), callback_url="http://127.0.0.1:1/cb")
    with pytest.raises(ValidationError, match="engagement_rate"):
        SofieDevConfig(token=SecretStr("x" * 16), engagement_rate=1.5)


def test_the_server_compares_bearer_tokens_exactly() -> None:
    token = SecretStr("sofie-dev-token-0123")
    assert bearer_matches("Bearer sofie-dev-token-0123", token)
    assert not bearer_matches("Bearer sofie-dev-token-012", token)
    assert not bearer_matches("Token sofie-dev-token-0123", token)
    assert not bearer_matches(None, token)
