"""The ingest HTTP API: ``POST /v1/events`` plus health, readiness and metrics.

Order of checks: size (413) → authentication (401) → content type (415) → JSON (400) → batch
count (413) → per-event validation and dedupe → publish with acks → 200 with each event's fate.
Publishing is serialised by a lock so that a duplicate can never be reported for an event whose
first copy is still in flight (and might yet fail).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from schemas.ingest_api import ErrorResponse, IngestResponse
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.common.metrics import CONTENT_TYPE_LATEST, render
from services.common.settings import IngestSettings
from services.ingest import metrics
from services.ingest.auth import authorised
from services.ingest.batch import BodyNotJsonError, Item, split_json_array, split_ndjson
from services.ingest.dedupe import DedupeWindow
from services.ingest.intake import Assessment, assess
from services.ingest.publisher import Publisher, PublishError

JSON_TYPES = {"application/json"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl"}


class BodyTooLargeError(Exception):
    """The body exceeds the configured byte limit."""


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse(
        ErrorResponse(error=error, detail=detail).model_dump(mode="json"), status_code=status
    )


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _request_body_doc() -> dict[str, Any]:
    batch = {"type": "array", "items": PAYMENT_EVENT_ADAPTER.json_schema(mode="validation")}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": batch},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "401": {"description": "no valid bearer token or signature"},
            "413": {"description": "body or batch over the configured limit"},
            "415": {"description": "content type is not JSON or NDJSON"},
            "400": {"description": "body is not JSON at all"},
            "503": {"description": "broker unreachable; nothing was acknowledged"},
        },
    }


def create_app(settings: IngestSettings, publisher: Publisher) -> FastAPI:
    """The ASGI app around a publisher; the caller owns the publisher's lifetime."""
    app = FastAPI(
        title="nazorg ingest",
        version="1.0.0",
        description="Payment events from the bank's payment pipeline into nazorg.",
    )
    window = DedupeWindow(settings.ingest_dedupe_window)
    publish_lock = threading.Lock()

    def decide_and_publish(items: list[Item]) -> Assessment:
        with publish_lock:
            assessment = assess(items, window)
            if assessment.to_publish:
                started = time.perf_counter()
                publisher.publish(assessment.to_publish)
                metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
                window.remember(assessment.keys)
            return assessment

    @app.post(
        "/v1/events",
        response_model=IngestResponse,
        openapi_extra=_request_body_doc(),
        summary="Submit a batch of payment events",
    )
    async def post_events(request: Request) -> Response:
        try:
            body = await _read_bounded(request, settings.ingest_max_body_bytes)
        except BodyTooLargeError:
            return _error(413, "body_too_large", f"limit is {settings.ingest_max_body_bytes} bytes")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not authorised(
            headers, body, settings.ingest_api_tokens, settings.ingest_hmac_keys, time.time()
        ):
            return _error(401, "unauthorised", "a valid bearer token or body signature is needed")
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if media_type in JSON_TYPES:
                items = split_json_array(body)
            elif media_type in NDJSON_TYPES:
                items = split_ndjson(body)
            else:
                return _error(415, "unsupported_media_type", "use application/json or x-ndjson")
        except BodyNotJsonError as exc:
            return _error(400, "body_not_json", str(exc))
        if len(items) > settings.ingest_max_batch_events:
            return _error(413, "batch_too_large", f"limit is {settings.ingest_max_batch_events}")
        metrics.BATCH_EVENTS.observe(len(items))
        try:
            assessment = await run_in_threadpool(decide_and_publish, items)
        except PublishError as exc:
            metrics.PUBLISH_FAILURES.inc()
            return _error(503, "broker_unavailable", f"{exc}; retry the whole batch")
        response = IngestResponse.from_results(assessment.results)
        metrics.record(assessment)
        return JSONResponse(response.model_dump(mode="json"), status_code=200)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        ready = await run_in_threadpool(publisher.reachable)
        metrics.READY.labels(service="ingest").set(1 if ready else 0)
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(render(), media_type=CONTENT_TYPE_LATEST)

    return app
