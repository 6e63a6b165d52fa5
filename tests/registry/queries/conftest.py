"""A real API on the session Anvil with real provider nodes registered by their provider accounts
(see tests/utils/queries.py), and a buyer funded with test fen."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount

from ledger.runtime import ChainRuntime
from tests.utils.queries import QueryEnv, register_nodes, start_nodes, write_data
from tests.utils.server import start_server, wait_confirmed


@pytest.fixture(scope="session")
def qenv(chain: ChainRuntime, deployer: LocalAccount, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryEnv]:
    server, _ = start_server("sqlite", chain, deployer, tmp_path_factory.mktemp("queries-api"))
    env = QueryEnv(server)
    try:
        data = tmp_path_factory.mktemp("provider-data")
        files = {f"node-{i}": write_data(data / f"p{i}.csv", 60 + 15 * i, seed=100 + i) for i in range(3)}
        register_nodes(env, start_nodes(server, files, tmp_path_factory.mktemp("nodes")))
        yield env
    finally:
        for node in env.nodes.values():
            node.kill()
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()


@pytest.fixture(scope="session")
def funded_buyer(qenv: QueryEnv) -> None:
    wait_confirmed(qenv.server, "buyer")
    wait_confirmed(qenv.server, "operator")
    with qenv.server.client("exchange") as ex:
        r = ex.post("/dev/mint", json={"account_id": qenv.server.ids["buyer"], "amount_fen": 10**9})
        assert r.status_code == 200, r.text
