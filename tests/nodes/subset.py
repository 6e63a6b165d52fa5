"""The chain subset, run on other nodes than the suite's instant-mining Anvil, as on a consortium chain.

Each leg's module (test_hardhat.py, test_block_time.py: two files, so xdist runs them side by side) defines a
`node` fixture and imports these tests: deploy the contracts (bytecode checked against the EVM version), decode a
revert, anchor with the leg's confirmations and page the checkpoint events, and run API writes through the
outbox and a purchase to an audit that verifies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from eth_account import Account
from sqlmodel import Session, SQLModel, col, create_engine, select

from ledger.anchor import Anchorer, AnchorPolicy
from ledger.anvil import DEV_DEPLOYER_KEY, Anvil
from ledger.compiler import compile_contracts
from ledger.errors import ChainError, ContractRevert
from ledger.forwarder import Relayer
from ledger.hardhat import Hardhat
from ledger.records import LedgerCheckpoint
from ledger.runtime import ChainConfig, ChainRuntime
from ledger.toolchain import REPO_ROOT
from ledger.verify import chain_checkpoints
from tests.ledger.conftest import append
from tests.utils.builders import make_product
from tests.utils.server import Server, audit_verify, start_server, wait_anchored
from tests.utils.trading import bought, make_offer, mint

PUSH0, PUSH1, PUSH32 = 0x5F, 0x60, 0x7F


@dataclass
class Node:
    kind: str
    evm_version: str
    confirmations: int
    runtime: ChainRuntime
    tmp: Path


def opcodes(code: bytes) -> Iterator[int]:
    """The opcodes of runtime `code`, PUSH data skipped, the CBOR metadata trailer (its length in the last two
    bytes) left out."""
    end = len(code) - 2 - int.from_bytes(code[-2:], "big") if len(code) >= 2 else 0
    pc = 0
    while pc < end:
        op = code[pc]
        yield op
        pc += 1 + (op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0)


def start_node(kind: str, tmp: Path, build_cache: Path) -> Iterator[Node]:
    """Start the leg's node and deploy the contracts on it (the body of each leg's `node` fixture)."""
    proc: Hardhat | Anvil
    if kind == "hardhat-paris":
        proc, evm, confirmations = Hardhat(tmp / "hardhat.log", hardfork="paris").start(), "paris", 0
    else:
        proc, evm, confirmations = Anvil(block_time=1, log_file=tmp / "anvil.log").start(), "cancun", 1
    runtime = ChainRuntime(ChainConfig(home=tmp / "home", rpc_url=proc.url, deployer_key=DEV_DEPLOYER_KEY,
                                       evm_version=evm, build_cache=build_cache, persist_state=False))
    try:
        yield Node(kind, evm, confirmations, runtime.start(), tmp)
    finally:
        runtime.stop()
        proc.stop()


def test_bytecode_fits_the_evm(node: Node, build_cache: Path) -> None:
    """Paris contracts carry no PUSH0 (and a cancun build is refused by a Paris node); the walker does see
    PUSH0 in cancun code, so its silence on Paris code means something."""
    ledger = node.runtime.ledger
    assert ledger is not None and node.runtime.build is not None
    assert node.runtime.build.evm_version == node.evm_version
    codes = {name: bytes(ledger.client.w3.eth.get_code(c.address)) for name, c in ledger.contracts.items()}
    assert all(codes.values()) and len(codes) >= 5
    with_push0 = sorted(name for name, code in codes.items() if PUSH0 in set(opcodes(code)))
    if node.evm_version == "paris":
        assert with_push0 == []
        cancun = compile_contracts(REPO_ROOT / "contracts", build_cache, evm_version="cancun")
        assert cancun.evm_version == "cancun", "a build for another EVM version is never reused"
        assert cancun.artifacts["Settlement"].bytecode != node.runtime.build.artifacts["Settlement"].bytecode
        forwarder = cancun.artifacts["ProvexForwarder"]
        factory = ledger.client.w3.eth.contract(abi=forwarder.abi, bytecode=forwarder.bytecode)
        assert node.runtime.deployer is not None
        with pytest.raises(ChainError):
            ledger.client.transact(node.runtime.deployer, factory.constructor())
    else:
        assert with_push0, "cancun code uses PUSH0"


def test_revert_decoded(node: Node) -> None:
    """A refused transaction is decoded to the contract's custom error before anything is sent."""
    ledger, deployer = node.runtime.ledger, node.runtime.deployer
    assert ledger is not None and deployer is not None
    before = ledger.checkpoint_count()
    with pytest.raises(ContractRevert) as err:
        ledger.anchor(deployer, 1, b"\x01" * 32)
    assert err.value.name == "AccessControlUnauthorizedAccount"
    assert err.value.args_by_name["account"] == deployer.address
    assert ledger.checkpoint_count() == before


def test_a_signers_acts_relayed_back_to_back(node: Node) -> None:
    """A signer's second request is relayed while its first is sent but not yet mined (a block every second):
    it is checked against the pending state, not refused as ahead of the mined nonce, and both execute."""
    ledger, deployer = node.runtime.ledger, node.runtime.deployer
    assert ledger is not None and deployer is not None
    relayer = Relayer(ledger, Account.create())
    ledger.client.transact(deployer, to=relayer.account.address, value=10**18)
    signer = Account.create()
    acts = [ledger.acts.approve_settlement(amount) for amount in (1, 2)]
    signed = [relayer.sign(signer, relayer.prepare(signer.address, act, pending=i)) for i, act in enumerate(acts)]
    sent = ledger.client.w3.eth.get_transaction_count(relayer.account.address, "pending")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(relayer.relay, signed[0], acts[0])
        deadline = time.monotonic() + 10
        while ledger.client.w3.eth.get_transaction_count(relayer.account.address, "pending") == sent:
            assert time.monotonic() < deadline and not first.done(), "the first request was never sent"
            time.sleep(0.01)
        relayer.relay(signed[1], acts[1])
        first.result(timeout=20)
    assert relayer.nonce(signer.address) == 2


def test_anchoring_waits_for_confirmations(node: Node, tmp_path: Path) -> None:
    rt = node.runtime
    assert rt.ledger is not None and rt.recorder is not None
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    SQLModel.metadata.create_all(engine)
    worker = Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=5, confirmations=node.confirmations))
    append(engine, 7)
    assert worker.run_once() == 5
    with Session(engine) as s:
        assert [r.confirmed for r in s.exec(select(LedgerCheckpoint))] == [node.confirmations == 0]
    worker.drain(timeout=20)
    with Session(engine) as s:
        ordered = select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.tree_size))
        rows = [(r.tree_size, r.confirmed) for r in s.exec(ordered)]
    assert rows == [(5, True), (7, True)]
    paged = chain_checkpoints(rt.ledger.client, rt.ledger, page=1)  # one block per eth_getLogs call
    assert [c.tree_size for c in paged] == [5, 7]
    assert [c.root for c in paged] == [rt.ledger.checkpoint(i).root for i in range(2)]


@pytest.fixture(scope="module")
def api(node: Node) -> Iterator[Server]:
    assert node.runtime.deployer is not None
    server, _ = start_server("sqlite", node.runtime, node.runtime.deployer, node.tmp / "api", env_extra={
        "PROVEX_EVM_VERSION": node.evm_version, "PROVEX_CONFIRMATIONS": str(node.confirmations),
        "PROVEX_OUTBOX_INTERVAL": "0.2", "PROVEX_ANCHOR_MAX_AGE": "0.5"},
        participants=("operator", "provider", "buyer", "auditor"))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


def test_purchase_anchored_and_verified(node: Node, api: Server) -> None:
    """A listed product, an offer, a buyer with test fen, a purchase: the chain acts go through the outbox,
    the records are anchored with the leg's confirmations and the audit verifies against the chain."""
    product = make_product(api, stage="listed")
    offer = make_offer(api, product, tiers=[(1, 500)])
    mint(api, api.ids["buyer"], 2_000)
    buyer = {"id": api.ids["buyer"], "api_key": api.keys["buyer"]}
    lic = bought(api, buyer, offer)
    assert api.ledger.balance_of(api.accounts["buyer"].address) == 1_500
    assert lic["id"]
    with api.db().connect() as conn:
        seq = int(conn.execute(sa.text("SELECT max(seq) FROM ledger_records")).scalar_one())
    receipt = wait_anchored(api, seq, timeout=30)
    cp = receipt["checkpoint"]
    assert api.ledger.checkpoint(cp["index"]).root.hex() == cp["root"]
    report = audit_verify(api)
    assert report["ok"], report
