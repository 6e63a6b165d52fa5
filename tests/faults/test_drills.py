"""Fault drills under load: the chain stops, the API process is killed. Nothing accepted is lost,
every record is anchored exactly once, requests during the fault get 201-pending or 503 + Retry-After
(never a 500 or a hang), and the audit verification passes afterwards."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.runtime import ChainConfig, ChainRuntime
from tests.utils.builders import resource_body
from tests.utils.drills import Stack, drive, on_chain, settle_and_verify
from tests.utils.server import api_port, launch_api, start_server


@pytest.fixture
def stack(tmp_path: Path, build_cache: Path) -> Iterator[Stack]:
    anvil = Anvil(state_file=tmp_path / "anvil-state.json", state_interval=1).start()
    runtime = ChainRuntime(ChainConfig(home=tmp_path / "chain", rpc_url=anvil.url, deployer_key=DEV_DEPLOYER_KEY,
                                       build_cache=build_cache)).start()
    assert runtime.deployer is not None
    (tmp_path / "api").mkdir()
    server, _ = start_server("sqlite", runtime, runtime.deployer, tmp_path / "api")
    server.env["PROVEX_ANCHOR_MAX_AGE"] = "0.3"
    yield Stack(anvil, server, runtime)
    server.proc.terminate()
    server.proc.wait(10)
    anvil.stop()


def test_chain_stops_mid_load(stack: Stack) -> None:
    port = stack.anvil.port

    def outage() -> None:
        stack.anvil.stop()  # graceful: Anvil writes its state file
        time.sleep(3)
        stack.anvil.port = port
        stack.anvil.start()

    load = drive(stack, threading.Thread(target=outage))
    assert not load.bad, load.bad[:5]
    settle_and_verify(stack.server, load)


def test_api_killed_mid_load(stack: Stack) -> None:
    server = stack.server
    port = api_port(server.proc)

    def crash() -> None:
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        time.sleep(1)
        server.proc = launch_api(server.env, server.home, port)

    load = drive(stack, threading.Thread(target=crash))
    assert not load.bad, load.bad[:5]
    assert 0 in load.statuses, "some requests met the dead API"
    settle_and_verify(stack.server, load)


def test_chain_losing_blocks_requeues_confirmed_writes(stack: Stack) -> None:
    """A chain that forgets blocks (restart from an older state, reorg): confirmed writes are sent again."""
    w3 = stack.server.ledger.client.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    with stack.server.client("authority") as c:
        r = c.post("/resources", json=resource_body())
        assert r.status_code == 201 and r.json()["chain_state"] == "confirmed", r.text
        rid = r.json()["id"]
    assert on_chain(stack.server, rid)
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert not on_chain(stack.server, rid)
    deadline = time.monotonic() + 60
    while not on_chain(stack.server, rid):
        assert time.monotonic() < deadline, "the lost registration was not sent again"
        time.sleep(0.3)
    with stack.server.client("auditor") as c:
        assert c.get(f"/resources/{rid}").json()["chain_state"] == "confirmed"
