"""``/_dev/``: steer and observe the dev server. Not Sofie's contract (docs/sofie.md).

No token: the dev server is served on loopback only.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from schemas.codec import encode
from schemas.errors import field_errors
from schemas.sofie_api import FaultConfig
from services.sofie_dev.actions import error_response, json_response
from services.sofie_dev.config import SofieDevState

MAX_PAGE: Final = 5000


def add_dev_routes(app: FastAPI, state: SofieDevState) -> None:
    @app.post("/_dev/faults", include_in_schema=False)
    async def set_faults(request: Request) -> Response:
        try:
            config = FaultConfig.model_validate_json(await request.body())
        except ValidationError as exc:
            return error_response(422, "invalid_body", "not a fault config", field_errors(exc))
        state.faults.set(config)
        return json_response(config)

    @app.get("/_dev/faults", include_in_schema=False)
    async def get_faults() -> Response:
        return json_response(state.faults.current())

    @app.get("/_dev/received", include_in_schema=False)
    async def received(
        since: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    ) -> Response:
        actions = state.store.received(since, limit)
        body = b"[" + b",".join(encode(action) for action in actions) + b"]"
        return Response(body, media_type="application/json")

    @app.get("/_dev/stats", include_in_schema=False)
    async def stats() -> Response:
        return json_response(state.counters.snapshot())

    @app.post("/_dev/reset", include_in_schema=False)
    async def reset() -> Response:
        state.reset()
        return json_response(state.counters.snapshot())
