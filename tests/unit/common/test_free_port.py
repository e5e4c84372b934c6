"""Ports for the local stack come from below the kernel's ephemeral range.

A restarted worker rebinds its port; a port from the ephemeral range could meanwhile be the
local end of some outgoing connection (a CI run failed that way).
"""

from __future__ import annotations

import socket

import pytest

from services.common import broker


def test_ports_are_below_the_ephemeral_range_and_never_repeat() -> None:
    first, end = broker._candidate_range()
    ports = [broker.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(first <= port < end for port in ports)


def test_a_port_in_use_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", broker.free_port()))
        taken = holder.getsockname()[1]
        holder.listen()
        monkeypatch.setattr(broker, "_candidate_range", lambda: (taken, taken + 1))
        monkeypatch.setattr(broker, "_handed_out", set())
        assert broker.free_port() != taken
