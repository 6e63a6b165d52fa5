"""Fault drills under load: the chain stops, the API process is killed. Nothing accepted is lost,
every record is anchored exactly once, requests during the fault get 201-pending or 503 + Retry-After
(never a 500 or a hang), and the audit verification passes afterwards."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import sqlalchemy as sa

from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.errors import ContractRevert
from ledger.runtime import ChainConfig, ChainRuntime
from tests.api.builders import resource_body
from tests.api.conftest import Server, launch_api, start_server


@dataclass
class Stack:
    anvil: Anvil
    server: Server
    runtime: ChainRuntime


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


@dataclass
class Load:
    """Authority keeps registering resources; every answer is classified."""

    server: Server
    accepted: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with self.server.client("authority") as c:
                    r = c.post("/resources", json=resource_body(), timeout=15)
            except httpx.TransportError as exc:  # the API itself is down (kill drill)
                self.statuses.append(0)
                if "timed out" in str(exc).lower():
                    self.bad.append(f"hang: {exc}")
                time.sleep(0.05)
                continue
            self.statuses.append(r.status_code)
            if r.status_code == 201:
                self.accepted.append(r.json()["id"])
            elif r.status_code == 503:
                if "retry-after" not in r.headers:
                    self.bad.append("503 without Retry-After")
            else:
                self.bad.append(f"{r.status_code}: {r.text[:200]}")


def drive(stack: Stack, fault: threading.Thread) -> Load:
    load = Load(stack.server)
    worker = threading.Thread(target=load.run)
    worker.start()
    time.sleep(1.0)
    fault.start()
    fault.join()
    time.sleep(1.5)
    load.stop.set()
    worker.join(30)
    return load


def _on_chain(server: Server, resource_id: str) -> bool:
    try:
        server.ledger.resource(resource_id)
        return True
    except ContractRevert:
        return False


def settle_and_verify(stack: Stack, load: Load, timeout: float = 60) -> None:
    """Outbox drained, every accepted write present and on chain, all records anchored once, verify ok."""
    server = stack.server
    deadline = time.monotonic() + timeout
    with server.client("auditor") as c:
        while True:
            states = [c.get(f"/resources/{rid}").json()["chain_state"] for rid in load.accepted]
            with server.db().connect() as conn:
                records = conn.execute(sa.text("SELECT count(*) FROM ledger_records")).scalar_one()
                anchored = conn.execute(sa.text(
                    "SELECT coalesce(max(tree_size), 0) FROM ledger_checkpoints WHERE confirmed")).scalar_one()
            if all(s == "confirmed" for s in states) and anchored == records and all(
                    _on_chain(server, rid) for rid in load.accepted):
                break
            assert time.monotonic() < deadline, f"not settled: {states.count('pending')} pending, {anchored}/{records}"
            time.sleep(0.5)
        for rid in load.accepted:
            assert server.ledger.resource(rid)  # on chain, with the same id
        sizes = [server.ledger.checkpoint(i).tree_size for i in range(server.ledger.checkpoint_count())]
        assert sizes == sorted(set(sizes)), "no checkpoint anchored twice"
        report = c.post("/audit/verify").json()
        assert report["ok"], report


def test_chain_stops_mid_load(stack: Stack) -> None:
    port = stack.anvil.port

    def outage() -> None:
        stack.anvil.stop()  # graceful: Anvil writes its state file
        time.sleep(3)
        stack.anvil.port = port
        stack.anvil.start()

    load = drive(stack, threading.Thread(target=outage))
    assert not load.bad, load.bad[:5]
    assert len(load.accepted) >= 5
    settle_and_verify(stack, load)


def test_api_killed_mid_load(stack: Stack) -> None:
    server = stack.server
    port = int(urlparse(server.url).port or 0)

    def crash() -> None:
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        time.sleep(1)
        server.proc = launch_api(server.env, server.home, port)

    load = drive(stack, threading.Thread(target=crash))
    assert not load.bad, load.bad[:5]
    assert 0 in load.statuses, "some requests met the dead API"
    settle_and_verify(stack, load)


def test_chain_losing_blocks_requeues_confirmed_writes(stack: Stack) -> None:
    """A chain that forgets blocks (restart from an older state, reorg): confirmed writes are sent again."""
    w3 = stack.server.ledger.client.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    with stack.server.client("authority") as c:
        r = c.post("/resources", json=resource_body())
        assert r.status_code == 201 and r.json()["chain_state"] == "confirmed", r.text
        rid = r.json()["id"]
    assert _on_chain(stack.server, rid)
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert not _on_chain(stack.server, rid)
    deadline = time.monotonic() + 60
    while not _on_chain(stack.server, rid):
        assert time.monotonic() < deadline, "the lost registration was not sent again"
        time.sleep(0.3)
    with stack.server.client("auditor") as c:
        assert c.get(f"/resources/{rid}").json()["chain_state"] == "confirmed"
