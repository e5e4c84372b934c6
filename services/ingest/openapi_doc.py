"""The OpenAPI description of the ingest API, and its export to ``docs/openapi/ingest.json``.

The request body is read by hand (size limit, NDJSON, per-event verdicts), so FastAPI cannot
infer it; it is described here from the ``schemas/`` contracts, with the payment-event models
placed in ``components/schemas`` so that every ``$ref`` resolves inside the document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.ingest_api import ErrorResponse, IngestResponse
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.common import json_docs
from services.common.json_docs import render as render  # re-exported for the drift tests

DOC_PATH: Final = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "ingest.json"
_REF: Final = "#/components/schemas/{model}"
_SECURITY_SCHEMES: Final = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "A token from settings."},
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Nazorg-Signature",
        "description": (
            '"sha256=" + hex HMAC-SHA-256, keyed with a key from settings, over the '
            'X-Nazorg-Timestamp value + "." + the exact body bytes.'
        ),
    },
    "signatureTimestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Nazorg-Timestamp",
        "description": "Unix time in seconds; refused when off our clock by > 300 s (default).",
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


def post_events_doc() -> dict[str, Any]:
    """Keyword arguments of the ``POST /v1/events`` route that describe it."""
    batch = {"type": "array", "items": {"$ref": _REF.format(model="PaymentEvent")}}
    ndjson = {"type": "string", "description": "One payment event (JSON object) per line."}
    return {
        "summary": "Submit a batch of payment events",
        "operation_id": "postEvents",
        "response_description": "Each event's fate; every accepted event is acknowledged",
        "description": (
            "Each event is judged on its own: `accepted` (published, acknowledged by the "
            "broker), `duplicate` (seen within the dedupe window; not published again) or "
            "`rejected` (with field paths and reasons). Rejected events are not dead-lettered: "
            "the answer is the caller's record of them."
        ),
        "response_model": IngestResponse,
        "responses": {
            400: _error("The body is not JSON at all (not UTF-8, or no valid line of NDJSON)"),
            401: _error("No valid bearer token, or no fresh valid signature"),
            413: _error("Body or event count over the configured limit"),
            415: _error("Content type is not application/json or application/x-ndjson"),
            503: {
                **_error(
                    "The broker did not acknowledge every accepted event; nothing is confirmed. "
                    "Send the whole batch again (Retry-After)."
                ),
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait before sending the batch again",
                        "schema": {"type": "integer", "minimum": 0},
                    }
                },
            },
        },
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": batch},
                    "application/x-ndjson": {"schema": ndjson},
                },
            },
            "security": [{"bearer": []}, {"signature": [], "signatureTimestamp": []}],
        },
    }


def customise_openapi(app: FastAPI) -> None:
    """Add the payment-event schemas and the security schemes to the app's document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            event = PAYMENT_EVENT_ADAPTER.json_schema(mode="validation", ref_template=_REF)
            definitions = event.pop("$defs")
            clashes = set(definitions) & set(schemas)
            if clashes:
                raise RuntimeError(f"OpenAPI schema names clash: {sorted(clashes)}")
            schemas.update(definitions)
            schemas["PaymentEvent"] = {"title": "PaymentEvent", **event}
            components["schemas"] = dict(sorted(schemas.items()))
            components["securitySchemes"] = _SECURITY_SCHEMES
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def sync(document: dict[str, Any], check: bool, path: Path = DOC_PATH) -> bool:
    """Write ``document`` to ``path`` (or only compare when ``check``); True if it differed."""
    return json_docs.sync(document, check, path)
