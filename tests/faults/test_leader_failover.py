"""Scale-out drill: two API workers (`uvicorn --workers 2`, PROVEX_WORKER=external) and two `provex worker`
processes on one database. Under mixed load the leading worker is killed: the other takes over within
seconds, nothing accepted is lost, nothing is anchored twice, and the audit verification passes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount

from api.background import LEADING
from ledger.runtime import ChainRuntime
from tests.utils.common import repo_root
from tests.utils.drills import Load, settle_and_verify
from tests.utils.server import PG_URL, VENV_BIN, Server, drop_database, start_server

BACKEND = "postgres" if PG_URL else "sqlite"  # the drill is about PostgreSQL; SQLite (a file lock) without one
TAKEOVER_S = 5.0


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def leads(self) -> bool:
        return LEADING in self.log.read_text(errors="replace")


@dataclass
class Fleet:
    server: Server
    workers: list[Worker] = field(default_factory=list)


def _start_worker(name: str, env: dict[str, str], folder: Path) -> Worker:
    log = folder / f"worker-{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(VENV_BIN / "provex"), "worker", "--poll", "0.3"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=repo_root())
    return Worker(name, proc, log)


def _wait(check: object, timeout: float, what: str) -> float:
    """Seconds until `check()` holds; fails after `timeout`."""
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, what
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def fleet(chain: ChainRuntime, deployer: LocalAccount, tmp_path: Path) -> Iterator[Fleet]:
    workers: list[Worker] = []

    def start_workers(env: dict[str, str]) -> None:
        first = _start_worker("a", env, tmp_path)
        workers.append(first)
        _wait(first.leads, 120, f"the first worker never led: {first.log.read_text()[-2000:]}")
        workers.append(_start_worker("b", env, tmp_path))

    server, pg_name = start_server(BACKEND, chain, deployer, tmp_path, workers=2, before_onboarding=start_workers,
                                   env_extra={"PROVEX_WORKER": "external", "PROVEX_ANCHOR_MAX_AGE": "0.3"})
    try:
        yield Fleet(server, workers)
    finally:
        for proc in [server.proc, *(w.proc for w in workers)]:
            proc.terminate()
        for proc in [server.proc, *(w.proc for w in workers)]:
            proc.wait(15)
        if pg_name:
            drop_database(pg_name)


def _onboard(server: Server, stop: threading.Event, made: list[str], bad: list[str]) -> None:
    """The exchange onboarding buyers meanwhile: each new account is a chain action of the exchange's own (gas)."""
    while not stop.is_set():
        account = Account.create()
        name = f"buyer {len(made)}"
        with server.client("exchange") as c:
            r = c.post("/accounts", json={"role": "buyer", "name": name, **server.binding(account, "buyer", name)})
        if r.status_code == 201:
            made.append(r.json()["id"])
        elif r.status_code != 503:
            bad.append(f"POST /accounts: {r.status_code} {r.text[:200]}")


def _settled_accounts(server: Server, ids: list[str]) -> bool:
    with server.db().connect() as conn:
        states = conn.execute(sa.text("SELECT chain_state FROM accounts WHERE id IN :ids")
                              .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}).scalars().all()
    return len(states) == len(ids) and all(s == "confirmed" for s in states)


def _read(server: Server, stop: threading.Event, bad: list[str]) -> None:
    """An auditor reading while the authority writes: every answer must be a 200."""
    with server.client("auditor") as c:
        while not stop.is_set():
            for path in ("/catalog", "/resources", "/audit/checkpoints", "/ledger/records/1"):
                r = c.get(path)
                if r.status_code != 200:
                    bad.append(f"GET {path}: {r.status_code} {r.text[:200]}")


def test_leader_killed_mid_load(fleet: Fleet) -> None:
    server = fleet.server
    first, second = fleet.workers
    load, stop_others, bad, accounts = Load(server), threading.Event(), [], []
    threads = [threading.Thread(target=load.run), threading.Thread(target=_read, args=(server, stop_others, bad)),
               threading.Thread(target=_onboard, args=(server, stop_others, accounts, bad))]
    for t in threads:
        t.start()
    try:
        load.wait_for_more(3, "the load writes before the kill")
        assert first.leads() and not second.leads(), "one leader at a time: the second worker waited"
        first.proc.kill()  # the leader dies mid-anchoring, mid-dispatch
        took = _wait(second.leads, TAKEOVER_S, f"no new leader within {TAKEOVER_S} s: {second.log.read_text()[-2000:]}")
        onboarded = len(accounts)
        load.wait_for_more(3, "the load kept writing after the takeover")
        _wait(lambda: len(accounts) >= onboarded + 2, 60, "the exchange kept onboarding after the takeover")
    finally:
        load.stop.set()
        stop_others.set()
        for t in threads:
            t.join(30)
    assert not load.bad and not bad, (load.bad + bad)[:5]
    settle_and_verify(server, load)
    _wait(lambda: _settled_accounts(server, accounts), 30, "every onboarded account's chain setup confirmed")
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    print(f"takeover in {took:.2f} s; {len(load.accepted)} registrations and {len(accounts)} accounts accepted")
