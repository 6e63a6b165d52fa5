"""Anchoring worker against a real Anvil: batching, crash recovery, chain outage, reorg, rewritten history."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ledger.anchor import Anchorer, AnchorPolicy
from ledger.contracts import Ledger
from ledger.merkle import CompactTree, inclusion_proof, leaf_hash, root, verify_inclusion
from ledger.records import LedgerCheckpoint, LedgerRecord
from ledger.runtime import ChainRuntime
from tests.ledger.conftest import append


def chain_sizes(ledger: Ledger) -> list[int]:
    return [ledger.checkpoint(i).tree_size for i in range(ledger.checkpoint_count())]


def assert_all_anchored_once(engine: Engine, ledger: Ledger) -> None:
    with Session(engine) as s:
        leaves = [bytes.fromhex(r.leaf_hash) for r in s.exec(select(LedgerRecord).order_by(LedgerRecord.seq))]
        rows = s.exec(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size)).all()
    sizes = chain_sizes(ledger)
    assert sizes == sorted(set(sizes)), "no checkpoint anchored twice"
    assert sizes[-1] == len(leaves)
    assert [r.tree_size for r in rows] == sizes and all(r.confirmed for r in rows)
    for i, row in enumerate(rows):
        on_chain = ledger.checkpoint(i)
        assert on_chain.root == bytes.fromhex(row.root) == root(leaves[: row.tree_size])


def test_batches_by_size_and_age(rt: ChainRuntime, engine: Engine) -> None:
    assert rt.ledger and rt.recorder
    worker = Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=64, max_age=3600))
    append(engine, 150)
    assert worker.run_once() == 64 and worker.run_once() == 64
    assert worker.run_once() == 0, "22 young records wait for a full batch"
    assert worker.run_once(force=True) == 22
    assert chain_sizes(rt.ledger) == [64, 128, 150]
    assert_all_anchored_once(engine, rt.ledger)
    with Session(engine) as s:
        leaves = [bytes.fromhex(r.leaf_hash) for r in s.exec(select(LedgerRecord).order_by(LedgerRecord.seq))]
    proof = inclusion_proof(leaves, 77, 128)
    assert verify_inclusion(leaves[77], 77, 128, proof, rt.ledger.checkpoint(1).root)


class CrashAfterSend(Anchorer):
    """Sends the anchoring transaction, then dies before recording it."""

    def _send(self, session: Session, row: LedgerCheckpoint, proof: list[bytes] | None = None) -> None:
        self.ledger.anchor(self.recorder, row.tree_size, bytes.fromhex(row.root),
                           self._proof_for(session, row) if proof is None else proof)
        raise KeyboardInterrupt("killed")


class CrashBeforeSend(Anchorer):
    def _send(self, session: Session, row: LedgerCheckpoint, proof: list[bytes] | None = None) -> None:
        raise KeyboardInterrupt("killed")


@pytest.mark.parametrize("crasher", [CrashAfterSend, CrashBeforeSend])
def test_crash_between_append_and_anchor(rt: ChainRuntime, engine: Engine, crasher: type[Anchorer]) -> None:
    assert rt.ledger and rt.recorder
    append(engine, 10)
    with pytest.raises(KeyboardInterrupt):
        crasher(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=8)).run_once()
    append(engine, 5)
    Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=8)).drain(timeout=30)
    assert_all_anchored_once(engine, rt.ledger)


def test_chain_outage_then_everything_anchored(rt: ChainRuntime, engine: Engine) -> None:
    assert rt.ledger and rt.recorder and rt.anvil
    worker = Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=16, max_age=0.01))
    append(engine, 20)
    worker.drain(timeout=30)
    rt.anvil.stop()
    for _ in range(3):  # records keep arriving while the chain is down
        append(engine, 7)
        assert worker.run_once(force=True) == 0
    rt.anvil.start()
    worker.drain(timeout=30)
    assert_all_anchored_once(engine, rt.ledger)


def test_reorg_reanchors_dropped_checkpoint(rt: ChainRuntime, engine: Engine) -> None:
    assert rt.ledger and rt.recorder
    w3 = rt.ledger.client.w3
    worker = Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=10))
    append(engine, 10)
    worker.drain()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    append(engine, 10)
    worker.drain()
    assert chain_sizes(rt.ledger) == [10, 20]
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    assert chain_sizes(rt.ledger) == [10]
    worker.drain(timeout=30)  # the node forgot the reverted transactions; nonces re-sync on the way
    assert chain_sizes(rt.ledger) == [10, 20]
    assert_all_anchored_once(engine, rt.ledger)


def test_rewritten_history_is_never_anchored(rt: ChainRuntime, engine: Engine, caplog: pytest.LogCaptureFixture,
                                             ) -> None:
    """An insider rewrites an anchored record and the checkpoint rows to match: the contract refuses it."""
    assert rt.ledger and rt.recorder
    worker = Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=10))
    append(engine, 10)
    worker.drain()
    honest = rt.ledger.checkpoint(0).root
    with Session(engine) as s:
        rec = s.exec(select(LedgerRecord).where(LedgerRecord.seq == 3)).one()
        rec.leaf_hash = leaf_hash(b"rewritten").hex()
        s.add(rec)
        s.commit()
        leaves = [bytes.fromhex(r.leaf_hash) for r in s.exec(select(LedgerRecord).order_by(LedgerRecord.seq))]
        row = s.exec(select(LedgerCheckpoint)).one()
        tree = CompactTree()
        tree.extend(leaves)
        row.root, row.frontier = tree.root().hex(), json.dumps(tree.to_state())
        s.add(row)
        s.commit()
    append(engine, 5)
    for _ in range(3):
        worker.run_once(force=True)
    assert chain_sizes(rt.ledger) == [10] and rt.ledger.checkpoint(0).root == honest
    assert "InconsistentCheckpoint" in caplog.text
