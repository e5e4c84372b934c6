"""The dev Sofie server: a faithful stand-in for Sofie's action API, run over loopback.

``create_app`` builds the FastAPI app (contract in docs/openapi/sofie.json, dev controls in
docs/sofie.md); ``run`` serves it in the foreground (``nazorg sofie-dev``);
``start_dev_server`` serves it from a daemon thread for tests and the demo. The socket is
bound before uvicorn starts, so the URL is known up front even for port 0.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import clip
from schemas.ingest_api import FieldError
from schemas.sofie_api import EngagementCallback
from services.sofie_dev.actions import error_response, post_action
from services.sofie_dev.config import MIN_TOKEN_LENGTH, SofieDevConfig, SofieDevState
from services.sofie_dev.dev_routes import add_dev_routes
from services.sofie_dev.faults import NO_FAULT
from services.sofie_dev.openapi_doc import customise_openapi, post_actions_doc

__all__ = ["DevServerThread", "SofieDevConfig", "create_app", "run", "start_dev_server"]

log = logging.getLogger(__name__)

_STATUS_ERRORS: Final = {404: "not_found", 405: "method_not_allowed"}
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})


def create_app(config: SofieDevConfig) -> FastAPI:
    """The dev Sofie ASGI app; its state (store, faults, counters) is ``app.state.sofie``."""
    state = SofieDevState.build(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.callbacks.close()

    app = FastAPI(
        title="Sofie action API",
        version="1.0.0",
        description=(
            "Sofie delivers coaching actions to clients of the mortgage lender's pilot "
            "(treatment arm) and reports engagement back through a webhook. Written by "
            "nazorg as the contract between the two systems; see docs/sofie.md."
        ),
        lifespan=lifespan,
    )
    app.state.sofie = state
    customise_openapi(app)

    @app.post("/v1/actions", **post_actions_doc())
    async def post_actions(request: Request) -> Response:
        return await post_action(request, state)

    @app.webhooks.post(
        "engagement",
        summary="Engagement callback (Sofie → nazorg)",
        operation_id="engagementCallback",
        status_code=204,
        openapi_extra={"security": [{"bearer": []}]},
    )
    def engagement(body: EngagementCallback) -> None:
        """Sofie posts one of these to nazorg's webhook per engagement, with nazorg's bearer
        token. Retried (a few times, with backoff) on 408, 425, 429, 5xx and network errors;
        `callback_id` is the same on every try, so the receiver drops repeats. Any 2xx
        acknowledges it."""

    @app.get("/healthz", summary="Liveness", operation_id="healthz", response_model=dict[str, str])
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    add_dev_routes(app, state)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every error answer is a ``SofieError`` that echoes nothing of the request."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            FieldError(
                loc=clip(".".join(str(part) for part in error["loc"]) or "$", 512),
                msg=clip(str(error["msg"]) or "is invalid", 1024),
            )
            for error in exc.errors()[:20]
        ]
        return error_response(422, "invalid_request", "the request is not valid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = _STATUS_ERRORS.get(exc.status_code, "http_error")
        return error_response(exc.status_code, error, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
        return error_response(500, "internal_error", "an unexpected error; retry")


def dev_state(app: FastAPI) -> SofieDevState:
    """The state of an app made by ``create_app``."""
    state = app.state.sofie
    assert isinstance(state, SofieDevState)
    return state


def openapi_document() -> dict[str, Any]:
    """The public contract, built without a real token or callback target."""
    return create_app(SofieDevConfig(token=SecretStr("x" * MIN_TOKEN_LENGTH))).openapi()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one. Listening before uvicorn starts, so
    connections made as soon as the URL is known queue in the backlog instead of failing."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn(app: FastAPI, graceful_s: int) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=graceful_s,
        )
    )


def run(
    config: SofieDevConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    on_bound: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; ``on_bound`` gets the URL first."""
    if host not in _LOOPBACK:
        log.warning("the /_dev/ controls need no token; serve the dev server on loopback only")
    sock = bind_socket(host, port)
    try:
        url = url_of(sock)
        if on_bound is not None:
            on_bound(url)
        log.info(
            "sofie dev server listening",
            extra={"url": url, "callbacks": config.callback_url is not None},
        )
        _uvicorn(create_app(config), graceful_s=5).run(sockets=[sock])
    finally:
        sock.close()


class DevServerThread:
    """The dev server on a daemon thread; ``url`` is known from construction."""

    def __init__(self, config: SofieDevConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_app(config)
        self.state = dev_state(self.app)
        self._sock = bind_socket(host, port)
        self.url = url_of(self._sock)
        self._server = _uvicorn(self.app, graceful_s=2)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="sofie-dev",
            daemon=True,
        )

    def start(self, timeout: float = 10.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the sofie dev server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Release held requests, stop uvicorn, join the thread. Safe to call twice."""
        self.state.faults.set(NO_FAULT)
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
        if self._thread.is_alive():
            raise RuntimeError("the sofie dev server thread did not stop")


def start_dev_server(
    config: SofieDevConfig, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Start the dev server on a daemon thread; returns its URL and the function that stops
    it (call it in a ``finally``)."""
    server = DevServerThread(config, host, port).start()
    return server.url, server.stop
