"""Fault drills under load: the stack under test, a load of resource registrations that classifies every
answer, and the check that everything accepted settled on chain, anchored once, and verifies."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from ledger.anvil import Anvil
from ledger.errors import ContractRevert
from ledger.ids import chain_id_of
from ledger.runtime import ChainRuntime
from tests.utils.builders import resource_body
from tests.utils.server import Server


@dataclass
class Stack:
    anvil: Anvil
    server: Server
    runtime: ChainRuntime


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

    def wait_for_more(self, n: int, what: str, timeout: float = 60) -> None:
        """Wait until `n` more writes are accepted: drills count writes, never time them (a loaded machine is slow)."""
        target, deadline = len(self.accepted) + n, time.monotonic() + timeout
        while len(self.accepted) < target:
            assert not self.stop.is_set() and time.monotonic() < deadline, f"{what}: {self.statuses[-5:]}"
            time.sleep(0.05)


def drive(stack: Stack, fault: threading.Thread) -> Load:
    """Run the load, inject the fault once writes flow, and stop once writes flow again after it."""
    load = Load(stack.server)
    worker = threading.Thread(target=load.run)
    worker.start()
    try:
        load.wait_for_more(2, "the load writes before the fault")
        fault.start()
        fault.join()
        load.wait_for_more(3, "the load kept writing after the fault")
    finally:
        load.stop.set()
        worker.join(30)
    return load


def on_chain(server: Server, resource_id: str) -> bool:
    try:
        server.ledger.resource(resource_id)
        return True
    except ContractRevert:
        return False


def settle_and_verify(server: Server, load: Load, timeout: float = 60) -> None:
    """Outbox drained, every accepted write present and on chain, all records anchored once, verify ok."""
    deadline = time.monotonic() + timeout
    with server.client("auditor") as c:
        while True:
            states = [c.get(f"/resources/{rid}").json()["chain_state"] for rid in load.accepted]
            with server.db().connect() as conn:
                records = conn.execute(sa.text("SELECT count(*) FROM ledger_records")).scalar_one()
                anchored = conn.execute(sa.text(
                    "SELECT coalesce(max(tree_size), 0) FROM ledger_checkpoints WHERE confirmed")).scalar_one()
            if all(s == "confirmed" for s in states) and anchored == records and all(
                    on_chain(server, rid) for rid in load.accepted):
                break
            assert time.monotonic() < deadline, f"not settled: {states.count('pending')} pending, {anchored}/{records}"
            time.sleep(0.5)
        for rid in load.accepted:
            assert server.ledger.resource(rid)  # on chain, with the same id
        sizes = [server.ledger.checkpoint(i).tree_size for i in range(server.ledger.checkpoint_count())]
        assert sizes == sorted(set(sizes)), "no checkpoint anchored twice"
        report = c.post("/audit/verify").json()
        assert report["ok"] or all(_orphaned(d, load) for d in [report["divergence"], *report["also"]]), report


def _orphaned(d: dict[str, Any], load: Load) -> bool:
    """A registration the outage orphaned: relayed on chain, but the request's database commit failed and the
    client was told to retry (never accepted). Verify names it as chain-only activity, as it must; the exchange
    does not yet reconcile such acts itself (a known gap: relay only after the outbox entry is committed)."""
    accepted = {"0x" + chain_id_of(rid).hex() for rid in load.accepted}
    return d["kind"] == "chain_only" and d["table"] == "resources" and d["row"] not in accepted
