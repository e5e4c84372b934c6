from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.settings import IngestSettings
from services.ingest.api import openapi_document
from services.ingest.openapi_doc import DOC_PATH, render, sync


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


def test_the_committed_openapi_document_is_current(document: dict[str, Any]) -> None:
    assert DOC_PATH.exists(), "run `nazorg ingest openapi`"
    assert DOC_PATH.read_text(encoding="utf-8") == render(document), (
        "docs/openapi/ingest.json is stale; run `nazorg ingest openapi`"
    )


def test_every_reference_resolves_inside_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    found = set(refs(document))
    assert "#/components/schemas/PaymentEvent" in found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


def test_the_document_describes_auth_limits_and_every_answer(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/events"]["post"]
    assert set(post["responses"]) == {"200", "400", "401", "413", "415", "503"}
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert post["security"] == [{"bearer": []}, {"signature": [], "signatureTimestamp": []}]
    assert set(document["components"]["securitySchemes"]) == {
        "bearer",
        "signature",
        "signatureTimestamp",
    }
    assert {"/healthz", "/readyz", "/metrics"} <= set(document["paths"])


def test_sync_writes_and_check_only_compares(tmp_path: Path) -> None:
    target = tmp_path / "openapi" / "ingest.json"
    document = {"openapi": "3.1.0"}
    assert sync(document, check=True, path=target) is True
    assert not target.exists()
    assert sync(document, check=False, path=target) is True
    assert sync(document, check=True, path=target) is False
    assert sync({"openapi": "3.1.1"}, check=True, path=target) is True


def test_short_tokens_and_keys_are_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        IngestSettings(ingest_api_tokens=["short"])
    with pytest.raises(ValidationError, match="at least 16"):
        IngestSettings(ingest_hmac_keys=[""])
