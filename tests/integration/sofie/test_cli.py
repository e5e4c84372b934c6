"""``sofie-dev`` as a process: the bound URL is the first stdout line; SIGTERM stops it."""

from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
from typing import IO

import httpx
import pytest

from schemas.codec import encode
from tests.integration.sofie.helpers import delivery

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

COMMAND = [sys.executable, "-m", "services.sofie_dev.cli"]


def first_line(stream: IO[bytes], timeout: float) -> str:
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=timeout).decode().strip()


def test_port_zero_prints_the_url_first_and_sigterm_stops_it() -> None:
    token = secrets.token_urlsafe(24)
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--seed", "3"],
        env={**os.environ, "NAZORG_SOFIE_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = first_line(process.stdout, timeout=20)
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        with httpx.Client(base_url=url, timeout=5) as http:
            assert http.get("/healthz").status_code == 200
            request = delivery()
            answer = http.post(
                "/v1/actions",
                content=encode(request),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": request.idempotency_key,
                },
            )
            assert answer.status_code == 202
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it captured.
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def test_a_weak_token_or_a_callback_url_without_token_is_a_usage_error() -> None:
    weak = subprocess.run(
        [*COMMAND, "--token", "short"], capture_output=True, timeout=30, check=False
    )
    assert weak.returncode == 2
    assert b"at least 16" in weak.stderr
    env = {k: v for k, v in os.environ.items() if k != "NAZORG_SOFIE_CALLBACK_TOKEN"}
    no_callback_token = subprocess.run(
        [*COMMAND, "--token", "x" * 16, "--callback-url", "http://127.0.0.1:1/cb"],
        capture_output=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert no_callback_token.returncode == 2
    assert b"callback_token" in no_callback_token.stderr
