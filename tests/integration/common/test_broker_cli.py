"""`nazorg broker`: starts Tansu on loopback, prints the address, stops cleanly on a signal."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from kafka import KafkaAdminClient

from services.common.broker import free_port, wait_for_port
from services.common.processes import nazorg_command

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_broker_serves_kafka_and_stops_on_signal(sig: signal.Signals) -> None:
    port = free_port()
    process = subprocess.Popen(
        nazorg_command("broker", "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"127.0.0.1:{port}"
        assert wait_for_port("127.0.0.1", port, timeout=5)
        tansu = _children(process.pid)
        assert len(tansu) == 1

        admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}")
        assert isinstance(admin.list_topics(), list)
        admin.close()

        process.send_signal(sig)
        assert process.wait(timeout=15) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        assert _children(process.pid) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_broker_listens_on_loopback_only() -> None:
    port = free_port()
    process = subprocess.Popen(
        nazorg_command("broker", "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        local = [line.split()[3] for line in listening.splitlines() if f":{port}" in line]
        assert local == [f"127.0.0.1:{port}"]
    finally:
        process.terminate()
        process.wait(timeout=15)
