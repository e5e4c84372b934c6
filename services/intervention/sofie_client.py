"""Our client for Sofie's action API (docs/sofie.md, docs/openapi/sofie.json).

The outbox calls ``SofieClient.deliver`` and decides from the ``DeliveryResult`` alone:
``delivered``/``duplicate`` mark the action sent, ``retryable`` keeps it in the outbox for a
later try with the same idempotency key and body, ``permanent`` parks it for a human. So
``deliver`` never raises for HTTP or network problems, and a timeout is retryable: Sofie may
have accepted the action, and the retry then comes back as a duplicate with the original id.

Nothing personal leaves this module in logs or errors: results and log lines name the
idempotency key, status and Sofie's error code, never ``client_ref`` or the payload.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, Self

import httpx
from pydantic import SecretStr, ValidationError

from schemas.actions import SofieActionResponse
from schemas.codec import encode
from schemas.sofie_api import SofieDeliveryRequest, SofieError

log = logging.getLogger(__name__)

DeliveryOutcome = Literal["delivered", "duplicate", "retryable", "permanent"]

ACTIONS_PATH: Final = "/v1/actions"
_RETRYABLE_STATUS: Final = frozenset({408, 425, 429})
_MAX_ERROR: Final = 120


@dataclass(frozen=True)
class DeliveryResult:
    """The fate of one ``deliver`` call; ``error`` is a short code, never personal data."""

    outcome: DeliveryOutcome
    sofie_action_id: str | None
    status_code: int | None
    error: str | None
    elapsed_s: float
    retry_after_s: float | None = None
    """Sofie's ``Retry-After`` (seconds) on a retryable answer, when it sent one."""

    @property
    def sent(self) -> bool:
        """Sofie has the action (new or a repeat): the outbox may mark it sent."""
        return self.outcome in ("delivered", "duplicate")


def retryable_status(status: int) -> bool:
    """408, 425, 429 and 5xx: Sofie may answer differently later."""
    return status in _RETRYABLE_STATUS or status >= 500


def _error_code(content: bytes) -> str | None:
    """Sofie's machine-readable ``error`` code, if the body is a ``SofieError``."""
    try:
        return SofieError.model_validate_json(content).error
    except ValidationError:
        return None


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def classify(
    status: int, content: bytes, idempotency_key: str
) -> tuple[DeliveryOutcome, str | None, str | None]:
    """(outcome, sofie_action_id, error) of one HTTP answer to ``POST /v1/actions``.

    A 2xx whose body we cannot read is retryable: Sofie probably has the action, and the
    retry will answer ``duplicate`` with its id. A 2xx naming another key is a Sofie bug
    that retrying will not fix, so it is permanent.
    """
    if status in (200, 201, 202):
        try:
            answer = SofieActionResponse.model_validate_json(content)
        except ValidationError:
            return "retryable", None, f"unreadable_response:http_{status}"
        if answer.idempotency_key != idempotency_key:
            return "permanent", None, "response_key_mismatch"
        outcome: DeliveryOutcome = "duplicate" if answer.status == "duplicate" else "delivered"
        return outcome, answer.sofie_action_id, None
    code = _error_code(content)
    error = f"http_{status}" + (f":{code}" if code else "")
    if retryable_status(status):
        return "retryable", None, error[:_MAX_ERROR]
    return "permanent", None, error[:_MAX_ERROR]


class SofieClient:
    """A synchronous client for one Sofie base URL; reuse it (connection pooling), close it."""

    def __init__(self, base_url: str, token: SecretStr, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._token = token
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"User-Agent": "nazorg-sofie-client/1"},
        )

    def deliver(self, request: SofieDeliveryRequest) -> DeliveryResult:
        """Send one action; the answer classified (see module docstring). Never raises for
        HTTP or network problems."""
        key = request.idempotency_key
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        try:
            answer = self._http.post(ACTIONS_PATH, content=encode(request), headers=headers)
        except httpx.TimeoutException as exc:
            result = self._failed(f"timeout:{type(exc).__name__}", started)
        except httpx.HTTPError as exc:
            result = self._failed(f"network:{type(exc).__name__}", started)
        else:
            elapsed = time.perf_counter() - started
            outcome, action_id, error = classify(answer.status_code, answer.content, key)
            retry_after = (
                _retry_after(answer.headers.get("retry-after")) if outcome == "retryable" else None
            )
            result = DeliveryResult(
                outcome, action_id, answer.status_code, error, elapsed, retry_after
            )
        # Successes are routine (metrics count them); failures are what on-call reads.
        log.log(
            logging.DEBUG if result.sent else logging.WARNING,
            "sofie delivery",
            extra={
                "idempotency_key": key,
                "outcome": result.outcome,
                "status_code": result.status_code,
                "error": result.error,
                "elapsed_s": round(result.elapsed_s, 4),
            },
        )
        return result

    @staticmethod
    def _failed(error: str, started: float) -> DeliveryResult:
        return DeliveryResult("retryable", None, None, error, time.perf_counter() - started)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def verify_callback_token(header_value: str | None, expected: SecretStr) -> bool:
    """True when an ``Authorization`` header is ``Bearer <expected>``; compared in constant
    time so the webhook does not leak the token byte by byte. An empty expected token never
    matches (a misconfigured webhook must refuse everything)."""
    scheme, _, presented = (header_value or "").partition(" ")
    want = expected.get_secret_value().encode("utf-8")
    if scheme.lower() != "bearer" or not want:
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), want)
