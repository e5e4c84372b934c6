"""The dev Sofie server and a webhook receiver on loopback, for the integration tests."""

from __future__ import annotations

import contextlib
import http.server
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from schemas.sofie_api import SofieDeliveryRequest, SofieStats
from services.sofie_dev.server import DevServerThread, SofieDevConfig

TOKEN = SecretStr(secrets.token_urlsafe(24))
CALLBACK_TOKEN = SecretStr(secrets.token_urlsafe(24))


def config(**overrides: Any) -> SofieDevConfig:
    return SofieDevConfig(token=TOKEN, **overrides)


@contextlib.contextmanager
def running_sofie(cfg: SofieDevConfig | None = None) -> Iterator[DevServerThread]:
    server = DevServerThread(cfg or config()).start()
    try:
        yield server
    finally:
        server.stop()


def new_key() -> str:
    return f"act-{secrets.token_hex(8)}"


def delivery(key: str | None = None, **overrides: Any) -> SofieDeliveryRequest:
    values: dict[str, Any] = {
        "idempotency_key": key or new_key(),
        "client_ref": "client-0001",
        "channel": "app",
        "action": "nudge_before_due",
        "payload": {"due_date": "2026-03-01", "amount_band": "M"},
    }
    values.update(overrides)
    return SofieDeliveryRequest.model_validate(values)


def headers(key: str, token: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token or TOKEN.get_secret_value()}",
        "Idempotency-Key": key,
        "Content-Type": "application/json",
    }


def stats(http: httpx.Client) -> SofieStats:
    return SofieStats.model_validate_json(http.get("/_dev/stats").content)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def unused_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Hit:
    authorization: str | None
    body: dict[str, Any]


@dataclass
class Receiver:
    """A tiny webhook: records every POST, answers with ``statuses`` in turn, then 204."""

    statuses: list[int] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 204

    def record(self, hit: Hit) -> None:
        with self.lock:
            self.hits.append(hit)

    def seen(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)


@contextlib.contextmanager
def running_receiver(statuses: list[int] | None = None) -> Iterator[tuple[str, Receiver]]:
    """``http.server`` on a free loopback port in a thread; yields its URL and its record."""
    receiver = Receiver(statuses=list(statuses or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            receiver.record(Hit(self.headers.get("Authorization"), body))
            self.send_response(receiver.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/sofie", receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
