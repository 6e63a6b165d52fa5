"""Session fixtures shared by every test package: a real Anvil with the contracts deployed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.contracts import AUTHORITY_ROLE, EXCHANGE_ROLE, RECORDER_ROLE, Ledger
from ledger.runtime import ChainConfig, ChainRuntime
from tests.utils.common import uid

__all__ = ["uid"]  # tests/ledger imports it from here; new code imports tests.utils.common


# Folders whose tests share one costly session fixture (the demo: ~65 s to start; the query cluster: ~18 s). Under
# `--dist loadfile` each xdist worker that runs one of their files starts its own; scheduled as one unit, one does.
SHARED_SESSION_FOLDERS = ("tests/demo/", "tests/registry/queries/")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, except that each of SHARED_SESSION_FOLDERS is one unit of work."""
    from xdist.scheduler import LoadFileScheduling

    class SharedSessionScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            folder = next((f for f in SHARED_SESSION_FOLDERS if nodeid.startswith(f)), None)
            return folder or str(super()._split_scope(nodeid))

    return SharedSessionScheduling(config, log) if config.getoption("dist") == "loadfile" else None


@pytest.fixture(scope="session")
def build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compile cache for the whole session (each test chain has its own home)."""
    return tmp_path_factory.mktemp("build-cache")


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory, build_cache: Path) -> Iterator[ChainRuntime]:
    """Anvil on a free port with all contracts deployed (no state file)."""
    home = tmp_path_factory.mktemp("chain-home")
    runtime = ChainRuntime(ChainConfig(home=home, persist_state=False, build_cache=build_cache)).start()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def ledger(chain: ChainRuntime) -> Ledger:
    assert chain.ledger is not None
    return chain.ledger


@pytest.fixture(scope="session")
def deployer(chain: ChainRuntime) -> LocalAccount:
    """Pays for deployment and gas; holds no role on any contract."""
    assert chain.deployer is not None
    return chain.deployer


@pytest.fixture(scope="session")
def governance(chain: ChainRuntime) -> LocalAccount:
    """The contracts' admin (a dev key the test chain generated); grants roles and mints test fen."""
    assert chain.governance is not None
    return chain.governance


@pytest.fixture(scope="session")
def minter(chain: ChainRuntime) -> LocalAccount:
    """Mints dev test fen (a dev key of its own: never governance, never the deployer)."""
    assert chain.minter is not None
    return chain.minter


def account_factory(ledger: Ledger, deployer: LocalAccount) -> Callable[[], LocalAccount]:
    """Make fresh accounts funded with 1 ETH for gas (the session deployer's 10,000 ETH serve every test)."""

    def make() -> LocalAccount:
        acct: LocalAccount = Account.create()
        ledger.client.fund(deployer, acct.address, 10**18)
        return acct

    return make


def grant_roles(ledger: Ledger, governance: LocalAccount, make: Callable[[], LocalAccount]) -> dict[str, LocalAccount]:
    """Authority, exchange and recorder accounts with their roles granted by governance on every contract."""
    accts = {"authority": make(), "exchange": make(), "recorder": make()}
    for contract in ("DataRegistry", "Settlement"):
        ledger.grant_role(governance, contract, AUTHORITY_ROLE, accts["authority"].address)
        ledger.grant_role(governance, contract, EXCHANGE_ROLE, accts["exchange"].address)
    ledger.grant_role(governance, "CheckpointLog", RECORDER_ROLE, accts["recorder"].address)
    return accts


@pytest.fixture(scope="session")
def new_account(ledger: Ledger, deployer: LocalAccount) -> Callable[[], LocalAccount]:
    return account_factory(ledger, deployer)


@pytest.fixture(scope="session")
def roles(ledger: Ledger, governance: LocalAccount, new_account: Callable[[], LocalAccount]) -> dict[str, LocalAccount]:
    return grant_roles(ledger, governance, new_account)
