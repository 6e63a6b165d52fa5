"""Fixtures for ledger tests that need a chain and a record database of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from ledger.contracts import Ledger
from ledger.records import append_record
from ledger.runtime import ChainConfig, ChainRuntime
from tests.conftest import account_factory, grant_roles
from tests.ledger.checkpoint_helpers import fresh_log


@pytest.fixture
def rt(tmp_path: Path, build_cache: Path) -> Iterator[ChainRuntime]:
    """A chain of its own (checkpoint sizes are global to a CheckpointLog)."""
    runtime = ChainRuntime(ChainConfig(home=tmp_path / "home", persist_state=True, build_cache=build_cache)).start()
    assert runtime.ledger is not None and runtime.recorder is not None
    yield runtime
    runtime.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    SQLModel.metadata.create_all(eng)
    return eng


def append(engine: Engine, n: int, kind: str = "query") -> None:
    with Session(engine) as s:
        for i in range(n):
            append_record(s, kind=kind, actor="acct-1", subject=f"prod-{i % 3}", data={"i": i})
        s.commit()


@dataclass
class Isolated:
    """A chain of the test's own, for tests that move chain time (the shared chain's clock must not jump)."""

    ledger: Ledger
    deployer: LocalAccount
    governance: LocalAccount
    minter: LocalAccount
    roles: dict[str, LocalAccount]
    new_account: Callable[[], LocalAccount]


@pytest.fixture
def isolated(tmp_path: Path, build_cache: Path) -> Iterator[Isolated]:
    runtime = ChainRuntime(ChainConfig(home=tmp_path / "isolated", persist_state=False,
                                       build_cache=build_cache)).start()
    assert runtime.ledger is not None and runtime.deployer is not None and runtime.governance is not None
    assert runtime.minter is not None
    make = account_factory(runtime.ledger, runtime.deployer)
    yield Isolated(runtime.ledger, runtime.deployer, runtime.governance, runtime.minter,
                   grant_roles(runtime.ledger, runtime.governance, make), make)
    runtime.stop()


@pytest.fixture
def log(chain: ChainRuntime, ledger: Ledger, deployer: LocalAccount, governance: LocalAccount,
        roles: dict[str, LocalAccount]) -> Ledger:
    """A CheckpointLog of the test's own on the session chain, its recorder `roles['recorder']`."""
    assert chain.build is not None
    return fresh_log(ledger, chain.build, deployer, governance, roles["recorder"])
