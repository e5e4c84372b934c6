"""``POST /v1/actions`` on the dev server: checks, dedupe, answers.

Order: injected fault (refuse, error_500, timeout) → bearer token (401) → ``Idempotency-Key``
present (400) → size (413) → JSON (400) → body (422) → header equals body key (400) → dedupe
(202 / 200 / 409) → injected latency → answer. Nothing of the request is echoed in an answer
or a log line except the idempotency key (``client_ref`` is personal data).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, SecretStr, ValidationError
from starlette.requests import ClientDisconnect

from schemas.actions import SofieActionResponse
from schemas.codec import encode
from schemas.errors import clip, field_errors
from schemas.ingest_api import FieldError
from schemas.sofie_api import MAX_DETAIL, SofieDeliveryRequest, SofieError
from services.sofie_dev.callbacks import callbacks_for
from services.sofie_dev.config import SofieDevConfig, SofieDevState
from services.sofie_dev.faults import delay_answer
from services.sofie_dev.store import CounterName

log = logging.getLogger(__name__)

RETRY_AFTER_S: Final = "1"


class RefusedError(Exception):
    """A request answered with a ``SofieError`` (and counted under ``counter``)."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        counter: CounterName = "invalid",
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.counter: CounterName = counter
        self.errors = tuple(errors)


def error_response(
    status: int,
    error: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = encode(SofieError(error=error, detail=clip(detail, MAX_DETAIL), errors=tuple(errors)))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(encode(model), status_code=status, media_type="application/json")


def bearer_matches(header: str | None, expected: SecretStr) -> bool:
    """``Authorization: Bearer <token>`` with the expected token, compared in constant time."""
    scheme, _, presented = (header or "").partition(" ")
    want = expected.get_secret_value().encode("utf-8")
    return (
        scheme.lower() == "bearer"
        and bool(want)
        and hmac.compare_digest(presented.strip().encode("utf-8"), want)
    )


async def _read_bounded(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RefusedError(413, "payload_too_large", f"limit is {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody will read the answer; count it and move on rather than log an error.
        raise RefusedError(400, "client_disconnected", "the client went away") from None
    return b"".join(chunks)


async def accept(request: Request, config: SofieDevConfig) -> SofieDeliveryRequest:
    """The validated body of ``POST /v1/actions``, or ``RefusedError``."""
    if not bearer_matches(request.headers.get("authorization"), config.token):
        raise RefusedError(401, "unauthorized", "a valid bearer token is required", "unauthorized")
    header_key = request.headers.get("idempotency-key")
    if not header_key:
        raise RefusedError(400, "missing_idempotency_key", "the Idempotency-Key header is required")
    body = await _read_bounded(request, config.max_body_bytes)
    try:
        parsed = SofieDeliveryRequest.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise RefusedError(400, "invalid_json", "the body is not a JSON object") from None
        raise RefusedError(
            422, "invalid_body", "the body is not a valid request", errors=field_errors(exc)
        ) from None
    if header_key != parsed.idempotency_key:
        raise RefusedError(
            400, "idempotency_key_mismatch", "Idempotency-Key differs from idempotency_key"
        )
    return parsed


def decide(state: SofieDevState, action: SofieDeliveryRequest) -> Response:
    """Record the action (or recognise a repeat) and queue its callbacks; the answer.

    Synchronous on purpose: nothing can interleave between the dedupe decision and the
    callbacks of an accepted action.
    """
    submission = state.store.submit(action, datetime.now(UTC))
    key = action.idempotency_key
    log.debug("action %s", submission.outcome, extra={"idempotency_key": key})
    if submission.outcome == "conflict":
        state.counters.add("conflicts")
        return error_response(
            409, "idempotency_conflict", "this Idempotency-Key was used with a different body"
        )
    sofie_action_id = submission.action.sofie_action_id
    if submission.outcome == "duplicate":
        state.counters.add("duplicates")
        duplicate = SofieActionResponse(
            idempotency_key=key, sofie_action_id=sofie_action_id, status="duplicate"
        )
        return json_response(duplicate)
    state.counters.add("accepted")
    config = state.config
    state.callbacks.submit(callbacks_for(submission.action, config.seed, config.engagement_rate))
    accepted = SofieActionResponse(
        idempotency_key=key, sofie_action_id=sofie_action_id, status="accepted"
    )
    return json_response(accepted, 202)


async def post_action(request: Request, state: SofieDevState) -> Response:
    """The whole of ``POST /v1/actions`` (see the module docstring for the order)."""
    state.counters.add("requests")
    fault, generation = state.faults.take()
    if fault is not None:
        state.counters.add("faults_injected")
        refusal = await state.faults.act(fault, generation)
        if refusal is not None:
            retry = {"Retry-After": RETRY_AFTER_S} if refusal.status == 503 else None
            return error_response(refusal.status, refusal.error, refusal.detail, headers=retry)
    try:
        action = await accept(request, state.config)
    except RefusedError as refused:
        state.counters.add(refused.counter)
        headers = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else None
        return error_response(
            refused.status, refused.error, refused.detail, refused.errors, headers
        )
    answer = decide(state, action)
    await delay_answer(fault)
    return answer
