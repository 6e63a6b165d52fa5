"""Real API servers (uvicorn subprocesses) on a given Anvil, one per database backend, and their fixtures.

`servers`/`server` are fixtures: a test package's conftest imports them to run its tests against the servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount

from api.client.signer import SigningTransport, make_binding
from api.demo.processes import listening_socket
from ledger.client import ChainClient
from ledger.contracts import AUTHORITY_ROLE, EXCHANGE_ROLE, Ledger
from ledger.deploy import Deployment
from ledger.runtime import ChainRuntime
from ledger.statements import statement_domain
from tests.utils.common import repo_root

PG_URL = os.environ.get("PROVEX_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
VENV_BIN = Path(sys.executable).parent


@dataclass
class Server:
    backend: str
    url: str
    db_url: str
    home: Path
    ledger: Ledger
    proc: subprocess.Popen[bytes]
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, LocalAccount] = field(default_factory=dict)  # each participant's own key (the test's)
    signers: dict[str, LocalAccount] = field(default_factory=dict)  # account id -> its holder's own key

    def client(self, role: str | None = None, key: str | None = None,
               signer: LocalAccount | None = None) -> httpx.Client:
        """A participant's client: its API key, and its own key signing its requests (`role`'s, or `signer`)."""
        headers = {}
        token = key or (self.keys[role] if role else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        signer = signer or (self.accounts.get(role) if role and not key else self.signer_of(token))
        transport = SigningTransport(signer) if signer is not None else None
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, transport=transport)

    def signer_of(self, api_key: str | None) -> LocalAccount | None:
        """The own key of the account `api_key` belongs to (asked of the API: keys rotate), if the test holds it."""
        if not api_key:
            return None
        r = httpx.get(self.url + "/accounts/me", headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
        return self.signers.get(r.json().get("id", "")) if r.status_code == 200 else None

    def binding(self, account: LocalAccount, role: str, name: str) -> dict[str, Any]:
        """`account`'s signed binding to a `role` account named `name` here."""
        return make_binding(account, statement_domain(self.ledger.deployment), role, name)

    def onboard(self, role: str, name: str, account: LocalAccount | None = None) -> dict[str, Any]:
        """A new participant account (the exchange onboards it; the participant's key signs the binding)."""
        account = account or Account.create()
        with self.client("exchange") as c:
            r = c.post("/accounts", json={"role": role, "name": name, **self.binding(account, role, name)})
            assert r.status_code == 201, r.text
        self.signers[r.json()["id"]] = account
        return {**r.json(), "account": account}

    def db(self) -> sa.Engine:
        return sa.create_engine(self.db_url)


def _env(home: Path, db_url: str, rpc_url: str, key: str, governance: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVEX_")}
    env.update(PROVEX_HOME=str(home), PROVEX_DATABASE_URL=db_url, PROVEX_RPC_URL=rpc_url,
               PROVEX_DEPLOYER_KEY=key, PROVEX_KEYSTORE_SCRYPT_N="1024", PROVEX_OUTBOX_INTERVAL="0.3",
               PROVEX_ENV="dev", PROVEX_GOVERNANCE_ADDRESS=governance, PROVEX_DEV_FUND_WEI=str(10**17),
               PROVEX_NOTICE_DAYS="0")  # a zero-length public notice: `builders.approve_and_list` lists at once
    return env


def govern(server: Server) -> None:
    """Governance (the authority's own key, as in the embedded setup) grants the authority and exchange roles
    and the exchange's house key its role, each by its own transaction."""
    ledger, gov = server.ledger, server.accounts["authority"]
    house = httpx.get(server.url + "/signing", timeout=30).json()["house"]
    grants = [(c, AUTHORITY_ROLE, gov.address) for c in ("DataRegistry", "Settlement")] + [
        (c, EXCHANGE_ROLE, server.accounts["exchange"].address) for c in ("DataRegistry", "Settlement")] + [
        ("Settlement", EXCHANGE_ROLE, house)]
    sent = [ledger.client.send(gov, ledger.acts.grant_role(contract, role, address).fn)
            for contract, role, address in grants if not ledger.has_role(contract, role, address)]
    for tx in sent:  # sent together: one block on a chain with a block time
        ledger.client.wait_sent(tx)


def cli_account(env: dict[str, str], role: str, name: str, binding: dict[str, Any]) -> dict[str, Any]:
    """`provex accounts create` on the exchange's host, with the holder's binding on standard input."""
    out = subprocess.run([str(VENV_BIN / "provex"), "accounts", "create", "--role", role, "--name", name,
                          "--binding", "-", "--json"], env=env, capture_output=True, check=True, cwd=repo_root(),
                         input=json.dumps(binding).encode())
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def wait_confirmed(server: Server, role: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with server.client(role) as c:
        while True:
            state = c.get("/accounts/me").json().get("chain_state")
            if state == "confirmed":
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{role} account chain setup still {state}")
            time.sleep(0.1)


def wait_anchored(server: Server, seq: int, timeout: float = 30) -> dict[str, Any]:
    """The receipt of ledger record `seq` once it is anchored."""
    deadline = time.monotonic() + timeout
    with server.client("auditor") as c:
        while True:
            r = c.get(f"/ledger/records/{seq}")
            assert r.status_code == 200, r.text
            if r.json()["anchored"]:
                return dict(r.json())
            assert time.monotonic() < deadline, "record not anchored in time"
            time.sleep(0.3)


def audit_verify(server: Server) -> dict[str, Any]:
    """`POST /audit/verify` as the auditor: the report."""
    with server.client("auditor") as c:
        r = c.post("/audit/verify")
        assert r.status_code == 200, r.text
        return dict(r.json())


def _database(backend: str, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'provex.db'}", None
    assert PG_URL
    name = f"provex_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


def drop_database(name: str) -> None:
    assert PG_URL
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def launch_api(env: dict[str, str], tmp: Path, port: int = 0, timeout: float = 240,
               workers: int = 1) -> subprocess.Popen[bytes]:
    """Start uvicorn (`workers` processes) with `env` on a socket this process binds (`port`, or a free one when
    0) and hands over, and wait until /health answers. The port is `api_port(proc)`."""
    log = open(tmp / "uvicorn.log", "ab")  # noqa: SIM115
    sock = listening_socket("127.0.0.1", port, fallback=False)
    port = sock.getsockname()[1]
    with sock:
        proc = subprocess.Popen([str(VENV_BIN / "uvicorn"), "--factory", "api.app:app_from_env", "--fd",
                                 str(sock.fileno()), "--workers", str(workers), "--log-level", "warning"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=repo_root(),
                                pass_fds=(sock.fileno(),))
    _PORTS[proc.pid] = port
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"API did not start: {(tmp / 'uvicorn.log').read_text()[-3000:]}")
        time.sleep(0.2)


_PORTS: dict[int, int] = {}


def api_port(proc: subprocess.Popen[bytes]) -> int:
    """The port `launch_api` bound for `proc`."""
    return _PORTS[proc.pid]


PARTICIPANTS = ("operator", "provider", "buyer", "auditor", "operator2")


def start_server(backend: str, chain: ChainRuntime, deployer: LocalAccount, tmp: Path, *, workers: int = 1,
                 env_extra: dict[str, str] | None = None,
                 before_onboarding: Callable[[dict[str, str]], None] | None = None,
                 participants: tuple[str, ...] = PARTICIPANTS) -> tuple[Server, str | None]:
    """Own deployer key (funded by the session deployer: it relays every signed act and gives each account
    0.1 ETH of its own, PROVEX_DEV_FUND_WEI), own contracts, own database. The session deployer holds 10,000
    ETH for every server the session starts. `workers` uvicorn processes serve it; `before_onboarding(env)`
    runs once it answers (e.g. to start `provex worker` processes when `env_extra` sets PROVEX_WORKER=external).
    Besides authority and exchange, the `participants` are onboarded (each costs a block on a chain with a block
    time)."""
    assert chain.ledger is not None and chain.build is not None
    key: LocalAccount = Account.create()
    people = {role: Account.create() for role in ("authority", "exchange", "operator", "provider", "buyer",
                                                  "auditor", "operator2")}
    client = chain.ledger.client
    for tx in [client.send(deployer, to=key.address, value=200 * 10**18),
               client.send(deployer, to=people["authority"].address, value=10 * 10**18)]:  # governance's own gas
        client.wait_sent(tx)
    db_url, pg_name = _database(backend, tmp)
    (tmp / "build").mkdir(parents=True, exist_ok=True)
    for cached in chain.config.build_dir.glob("*.json"):  # the same sources: spare the server a compile
        shutil.copy(cached, tmp / "build" / cached.name)
    env = _env(tmp, db_url, chain.rpc_url, key.key.to_0x_hex(), people["authority"].address)
    env.update(env_extra or {})
    proc = launch_api(env, tmp, workers=workers)
    url = f"http://127.0.0.1:{api_port(proc)}"
    manifest = Deployment.load(tmp / "deployment.json")
    assert manifest is not None
    ledger = Ledger(ChainClient(chain.rpc_url, chain.ledger.client.decoder), manifest, chain.build)
    if before_onboarding is not None:
        before_onboarding(env)
    server = Server(backend, url, db_url, tmp, ledger, proc, env=env, accounts=people)
    for role in ("authority", "exchange"):
        name = f"{backend} {role}"
        acct = cli_account(env, role, name, server.binding(people[role], role, name))
        server.keys[role], server.ids[role] = acct["api_key"], acct["id"]
        server.signers[acct["id"]] = people[role]
    govern(server)
    for role in ("authority", "exchange"):
        wait_confirmed(server, role)
    for role in participants:
        out = server.onboard(role.rstrip("2"), f"{backend} {role}", people[role])
        server.keys[role], server.ids[role] = out["api_key"], out["id"]
    return server, pg_name


@pytest.fixture(scope="session")
def servers(chain: ChainRuntime, deployer: LocalAccount,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    pg_names: list[str] = []
    try:
        for backend in BACKENDS:
            server, pg_name = start_server(backend, chain, deployer, tmp_path_factory.mktemp(f"api-{backend}"))
            started[backend] = server
            if pg_name:
                pg_names.append(pg_name)
        yield started
    finally:
        for server in started.values():
            server.proc.terminate()
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
        for name in pg_names:
            drop_database(name)


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, servers: dict[str, Server]) -> Server:
    return servers[request.param]
