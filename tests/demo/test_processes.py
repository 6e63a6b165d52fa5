"""The demo's supervisor never takes another server for its own: it holds the API's listening socket from the
start (a taken preferred port gives a free one), and a 200 without the run's token is refused at once."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.demo.processes import Supervisor, listening_socket
from tests.utils.demo import start_impostor


@pytest.fixture
def impostor() -> Iterator[int]:
    server = start_impostor()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_taken_port_gives_a_free_one_and_the_socket_is_held(impostor: int) -> None:
    sock = listening_socket("127.0.0.1", impostor)
    try:
        port = sock.getsockname()[1]
        assert port != impostor
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # inherited by every accepted connection
        with socket.socket() as other, pytest.raises(OSError):  # held: nobody else can take it meanwhile
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            other.bind(("127.0.0.1", port))
    finally:
        sock.close()
    again = listening_socket("127.0.0.1", port)  # free again: the preferred port is taken when it can be
    try:
        assert again.getsockname()[1] == port
    finally:
        again.close()


def test_another_servers_answer_is_refused(impostor: int, tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "logs", {})
    child = sup.spawn("api", [sys.executable, "-c", "import time; time.sleep(30)"], f"http://127.0.0.1:{impostor}")
    try:
        with pytest.raises(RuntimeError, match="another server listens there"):
            sup.wait_http(child, "/health", timeout=10, expect={"instance": "this-run"})
        sup.wait_http(child, "/health", timeout=10)  # without a token any 200 would do: what the demo did
    finally:
        sup.stop(timeout=5)
