"""The ingest HTTP API: ``POST /v1/events`` plus health, readiness and metrics.

Order of checks: bearer token (401, before the body is read) → size (413) → signature (401) →
content type (415) → JSON (400) → batch count (413) → per-event validation and dedupe → publish
with acks (503 unless every accepted event is acknowledged) → 200 with each event's fate.
Every non-2xx answer is an ``ErrorResponse`` that echoes nothing of the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from schemas.codec import encode
from schemas.ingest_api import ErrorResponse
from services.common.metrics import CONTENT_TYPE_LATEST, render
from services.common.settings import IngestSettings
from services.ingest import metrics
from services.ingest.answer import encode_answer
from services.ingest.auth import AuthResult, check_bearer, check_signature, offers_signature
from services.ingest.batch import (
    BodyNotJsonError,
    Item,
    split_json_array,
    split_ndjson,
    split_valid_json_array,
)
from services.ingest.dedupe import DedupeWindow
from services.ingest.intake import Assessment
from services.ingest.openapi_doc import customise_openapi, post_events_doc
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import Outgoing, PublishError

log = logging.getLogger(__name__)

JSON_TYPES: Final = frozenset({"application/json"})
NDJSON_TYPES: Final = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
MAX_DETAIL: Final = 2048
RETRY_AFTER_S: Final = "5"


class BodyTooLargeError(Exception):
    """The body exceeds the configured byte limit."""


class RequestRefusedError(Exception):
    """A request answered with an ``ErrorResponse``."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """A non-2xx answer; ``detail`` is cut to the contract's 2,048 characters."""
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    body = encode(ErrorResponse(error=error, detail=detail))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_unauthenticated(result: AuthResult) -> None:
    if result is not AuthResult.OK:
        metrics.AUTH_FAILURES.labels(reason=result.value).inc()
        raise RequestRefusedError(401, "unauthorized", result.detail)


def _split(media_type: str, body: bytes) -> list[Item]:
    try:
        if media_type in JSON_TYPES:
            # The usual body, all valid events, is read and validated in one native pass (before
            # the count check: a batch over the limit is still refused whole, nothing published).
            valid = split_valid_json_array(body)
            return valid if valid is not None else split_json_array(body)
        if media_type in NDJSON_TYPES:
            return split_ndjson(body)
    except BodyNotJsonError as exc:
        raise RequestRefusedError(400, "invalid_json", str(exc)) from None
    raise RequestRefusedError(
        415, "unsupported_media_type", "use application/json (an array) or application/x-ndjson"
    )


def create_app(
    settings: IngestSettings,
    pipeline: IngestPipeline,
    *,
    alive: Callable[[], bool] = lambda: True,
) -> FastAPI:
    """The ASGI app around a pipeline; the caller owns the pipeline's publisher.

    ``alive`` is the liveness of the rest of the process (the inbound consumer thread).
    """
    app = FastAPI(
        title="nazorg ingest",
        version="1.0.0",
        description=(
            "Payment events from the bank's payment pipeline into nazorg. A 200 is sent only "
            "after the broker acknowledged every accepted event; on 503 nothing was "
            "acknowledged and the whole batch must be sent again (duplicates are reported "
            "as such, never published twice within the dedupe window)."
        ),
    )
    customise_openapi(app)

    async def accept(request: Request) -> tuple[str, bytes]:
        """The media type and body of an authenticated request within the byte limit."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        bearer = check_bearer(headers, settings.ingest_api_tokens)
        if bearer is None and not offers_signature(headers):
            _refuse_unauthenticated(AuthResult.MISSING)
        if bearer is not None:
            _refuse_unauthenticated(bearer)
        try:
            body = await _read_bounded(request, settings.ingest_max_body_bytes)
        except BodyTooLargeError:
            limit = settings.ingest_max_body_bytes
            raise RequestRefusedError(413, "payload_too_large", f"limit is {limit} bytes") from None
        if bearer is None:
            _refuse_unauthenticated(
                check_signature(
                    headers,
                    body,
                    settings.ingest_hmac_keys,
                    time.time(),
                    settings.ingest_hmac_max_skew_s,
                )
            )
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        return media_type, body

    def judge_body(media_type: str, body: bytes) -> Assessment:
        """Split (and maybe validate) the body, check its size, then submit it: CPU work, done
        in a worker thread rather than on the event loop."""
        items = _split(media_type, body)
        if len(items) > settings.ingest_max_batch_events:
            limit = settings.ingest_max_batch_events
            raise RequestRefusedError(413, "batch_too_large", f"limit is {limit} events")
        return pipeline.submit(items, "http")

    @app.post("/v1/events", **post_events_doc())
    async def post_events(request: Request) -> Response:
        with metrics.HTTP_REQUEST_SECONDS.time():
            return await answer_events(request)

    async def answer_events(request: Request) -> Response:
        try:
            media_type, body = await accept(request)
            assessment = await run_in_threadpool(judge_body, media_type, body)
        except RequestRefusedError as refused:
            metrics.REQUESTS.labels(outcome=refused.error).inc()
            return error_response(refused.status, refused.error, refused.detail)
        except PublishError:
            metrics.REQUESTS.labels(outcome="broker_unavailable").inc()
            return error_response(
                503,
                "broker_unavailable",
                "the broker did not acknowledge the batch; send the whole batch again",
                headers={"Retry-After": RETRY_AFTER_S},
            )
        metrics.REQUESTS.labels(outcome="ok").inc()
        answer = encode_answer(assessment.verdicts)
        return Response(answer, status_code=200, media_type="application/json")

    @app.get(
        "/healthz",
        summary="Liveness",
        operation_id="healthz",
        response_model=dict[str, str],
        responses={
            503: {
                "description": "The inbound consumer thread has stopped",
                "model": dict[str, str],
            }
        },
    )
    async def healthz() -> Response:
        """200 while the process can do its work (including the inbound consumer, if on)."""
        ok = alive()
        body = b'{"status":"ok"}' if ok else b'{"status":"inbound consumer stopped"}'
        return Response(body, status_code=200 if ok else 503, media_type="application/json")

    @app.get(
        "/readyz",
        summary="Readiness",
        operation_id="readyz",
        response_model=dict[str, bool],
        responses={503: {"description": "The broker is not reachable", "model": dict[str, bool]}},
    )
    async def readyz() -> Response:
        """200 while the broker is reachable; 503 otherwise (posts would get 503 too)."""
        ready = await run_in_threadpool(pipeline.reachable)
        metrics.READY.labels(service="ingest").set(1 if ready else 0)
        body = b'{"ready":true}' if ready else b'{"ready":false}'
        return Response(body, status_code=200 if ready else 503, media_type="application/json")

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        operation_id="metrics",
        response_class=Response,
        responses={
            200: {
                "description": "The Prometheus text exposition format",
                "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
            }
        },
    )
    async def prometheus_metrics() -> Response:
        return Response(render(), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
        metrics.REQUESTS.labels(outcome="internal_error").inc()
        return error_response(
            500, "internal_error", "an unexpected error; send the whole batch again"
        )

    return app


class _NoBroker:
    """A sink for building the document only: it never publishes."""

    def publish(self, records: Sequence[Outgoing]) -> None:
        raise PublishError("no broker: this app only describes the API")

    def reachable(self, timeout: float = 1.0) -> bool:
        return False


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, built without settings from the environment or a broker."""
    settings = IngestSettings.model_construct()
    pipeline = IngestPipeline(
        _NoBroker(),
        DedupeWindow(0),
        inbound_topic=settings.topic_inbound,
        dlq_topic=settings.topic_dlq,
        dlq_max_payload_bytes=settings.ingest_dlq_max_payload_bytes,
    )
    return create_app(settings, pipeline).openapi()
