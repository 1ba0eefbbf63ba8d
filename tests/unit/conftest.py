"""Unit tests run with no network: any attempt to open an internet socket fails the test at once,
so a unit test that needs a server (moto, a browser, a registry) shows up as one."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class NetworkInUnitTest(RuntimeError):
    """A unit test tried to connect somewhere: it belongs in tests/integration or tests/e2e."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkInUnitTest(f"a unit test connected to {address!r}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
