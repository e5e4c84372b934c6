"""Sofie's public contract as OpenAPI 3.1, and its export to ``docs/openapi/sofie.json``.

The document is generated from the dev server's app so that the contract and the dev
implementation cannot drift apart; a unit test (and ``export(check=True)``) fails when the
committed file is stale. The request body is read by hand (auth before the body, exact error
answers), so FastAPI cannot infer it; it is described here from ``schemas.sofie_api``. The
``/_dev/`` routes are excluded: they are not Sofie's, only the dev server's (docs/sofie.md).

    python -m services.sofie_dev.openapi_doc           # rewrite the file
    python -m services.sofie_dev.openapi_doc --check   # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.actions import SofieActionResponse
from schemas.sofie_api import SofieDeliveryRequest, SofieError
from services.common import json_docs
from services.common.json_docs import render as render  # re-exported for the drift tests

DOC_PATH: Final = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "sofie.json"
_REF: Final = "#/components/schemas/{model}"
_SECURITY_SCHEMES: Final = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The token Sofie issued to nazorg (callbacks carry ours the other way).",
    }
}

_WEBHOOK_RESPONSES: Final = {
    "2XX": {"description": "Acknowledged; Sofie does not send this callback again"},
    "4XX": {
        "description": "Refused; Sofie gives up on this callback (except 408, 425, 429: retried)"
    },
    "5XX": {"description": "Retried a few times with backoff, then given up and counted"},
}
# Only FastAPI's own 422 answers refer to these; our routes answer with SofieError.
_FASTAPI_VALIDATION_SCHEMAS: Final = frozenset({"HTTPValidationError", "ValidationError"})


def _error(description: str) -> dict[str, Any]:
    return {"model": SofieError, "description": description}


def post_actions_doc() -> dict[str, Any]:
    """Keyword arguments of the ``POST /v1/actions`` route that describe it."""
    return {
        "summary": "Ask Sofie to deliver one action to one client",
        "operation_id": "postAction",
        "status_code": 202,
        "response_model": SofieActionResponse,
        "response_description": "Accepted: a new action (`status` = `accepted`)",
        "description": (
            "Idempotent per `Idempotency-Key`, which must equal the body's `idempotency_key`. "
            "The first request with a key creates an action (202, `accepted`); a repeat with "
            "an identical body (compared as validated JSON) gets 200, `duplicate` and the "
            "original `sofie_action_id`; a repeat with a different body gets 409 and changes "
            "nothing. Sofie never contacts the client before `deliver_after`. 408, 429, 5xx "
            "and timeouts may be retried with the same key and body."
        ),
        "responses": {
            200: {
                "model": SofieActionResponse,
                "description": "A repeat of an earlier request (`status` = `duplicate`); "
                "`sofie_action_id` names the original action",
            },
            400: _error(
                "The body is not JSON, or `Idempotency-Key` is missing or differs from the "
                "body's `idempotency_key`"
            ),
            401: _error("No bearer token, or not the right one"),
            409: _error("The key was used before with a different body; nothing was changed"),
            413: _error("The body is larger than Sofie accepts (64 KiB)"),
            422: _error("The body is not a valid SofieDeliveryRequest; `errors` names the fields"),
            500: _error("Sofie failed; retry with the same key and body"),
            503: _error("Sofie is unavailable; retry with the same key and body (Retry-After)"),
            504: _error("Sofie timed out; the request was not processed; retry"),
        },
        "openapi_extra": {
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "description": "Equal to the body's `idempotency_key`.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": _REF.format(model="SofieDeliveryRequest")}
                    }
                },
            },
            "security": [{"bearer": []}],
        },
    }


def _describe_webhook_answers(document: dict[str, Any]) -> None:
    # FastAPI adds its own 422 to every operation with a body; what Sofie does with our
    # webhook's answers is a retry policy, not a validation-error format.
    for path in document.get("webhooks", {}).values():
        for operation in path.values():
            operation["responses"] = _WEBHOOK_RESPONSES


def customise_openapi(app: FastAPI) -> None:
    """Add the request-body schema, the security scheme and the webhook to the document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                webhooks=app.webhooks.routes,
            )
            components = document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            request = SofieDeliveryRequest.model_json_schema(mode="validation", ref_template=_REF)
            definitions = request.pop("$defs", {})
            clashes = (set(definitions) | {"SofieDeliveryRequest"}) & set(schemas)
            if clashes:
                raise RuntimeError(f"OpenAPI schema names clash: {sorted(clashes)}")
            schemas.update(definitions)
            schemas["SofieDeliveryRequest"] = request
            _describe_webhook_answers(document)
            components["schemas"] = {
                name: schema
                for name, schema in sorted(schemas.items())
                if name not in _FASTAPI_VALIDATION_SCHEMAS
            }
            components["securitySchemes"] = _SECURITY_SCHEMES
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def sync(document: dict[str, Any], check: bool, path: Path = DOC_PATH) -> bool:
    """Write ``document`` to ``path`` (or only compare when ``check``); True if it differed."""
    return json_docs.sync(document, check, path)


def export(check: bool) -> bool:
    """Write docs/openapi/sofie.json from the dev server's app (or only compare when
    ``check``); True when the committed file differed."""
    from services.sofie_dev.server import openapi_document

    return sync(openapi_document(), check=check)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when stale")
    check = parser.parse_args(argv).check
    changed = export(check=check)
    if check and changed:
        print(f"{DOC_PATH} is stale; run `python -m services.sofie_dev.openapi_doc`")
        return 1
    print(f"{DOC_PATH} is up to date" if check or not changed else f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
