"""The anchoring worker: puts (tree size, Merkle root) checkpoints of the record log on chain.

Each checkpoint carries the RFC 9162 consistency proof from the previous one, which the contract
verifies; the proof comes from the previous checkpoint's stored frontier and the batch's own leaves
(O(batch + log n) hashes, no rebuild of the tree).

Crash safety: a checkpoint row is committed *before* its transaction is sent, with the compact
tree frontier it produces. On every pass the worker first reconciles its rows with the chain:
a checkpoint found on chain is adopted (never sent twice); one whose transaction vanished (chain
restart, reorg) is sent again; a confirmed one that disappeared from the chain is un-confirmed
and sent again. Only then does it cut a new batch. One worker per database: the leader (api.background).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.contracts import Ledger
from ledger.errors import ChainError, ChainUnavailable
from ledger.events import read_events
from ledger.merkle import CompactTree
from ledger.records import LedgerCheckpoint, LedgerRecord, record_count

log = logging.getLogger("provex.anchor")


@dataclass(frozen=True)
class AnchorPolicy:
    """When to cut a batch: `batch_size` records, or the oldest waiting one is `max_age` s old."""

    batch_size: int = 1024
    max_age: float = 2.0
    confirmations: int = 0


class Anchorer:
    """Anchors batches of records; call `run_once` repeatedly or `start` a background thread."""

    def __init__(self, engine: Engine, ledger: Ledger, recorder: LocalAccount,
                 policy: AnchorPolicy | None = None) -> None:
        self.engine = engine
        self.ledger = ledger
        self.recorder = recorder
        self.policy = policy or AnchorPolicy()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ passes

    def run_once(self, force: bool = False) -> int:
        """Reconcile with the chain, then anchor at most one batch. Returns records newly covered.

        While the chain is unavailable nothing is sent and 0 is returned; records keep waiting.
        """
        with Session(self.engine) as session:
            try:
                if not self._reconcile(session):
                    return 0
                return self._cut_batch(session, force)
            except ChainUnavailable as exc:
                log.info("chain unavailable, anchoring paused: %s", exc)
                return 0

    def drain(self, timeout: float = 60.0) -> None:
        """Anchor everything appended so far (forcing partial batches); raise on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            progressed = self.run_once(force=True)
            with Session(self.engine) as session:
                total = record_count(session)
                pending = session.exec(select(LedgerCheckpoint).where(~col(LedgerCheckpoint.confirmed))).first()
                done = self._confirmed_size(session)
            if done >= total and pending is None:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"anchored {done} of {total} records within {timeout}s")
            if progressed == 0:
                time.sleep(0.1)

    def _confirmed_size(self, session: Session) -> int:
        last = session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.confirmed))
                            .order_by(col(LedgerCheckpoint.tree_size).desc()).limit(1)).first()
        return last.tree_size if last else 0

    def _reconcile(self, session: Session) -> bool:
        """Bring checkpoint rows in line with the chain. False while one is still unconfirmed."""
        pending = list(session.exec(select(LedgerCheckpoint).where(~col(LedgerCheckpoint.confirmed))
                                    .order_by(col(LedgerCheckpoint.tree_size))))
        latest = session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.confirmed))
                              .order_by(col(LedgerCheckpoint.tree_size).desc()).limit(1)).first()
        if not pending and (latest is None or self._still_on_chain(latest)):
            return True  # the common case: one eth_call, no event scan
        confirmed = session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.confirmed))
                                 .order_by(col(LedgerCheckpoint.tree_size).desc())).all()
        on_chain = self._chain_checkpoints()
        vanished = []
        for row in confirmed:  # newest first: stop at the first one the chain still has
            if (row.tree_size, row.root) in on_chain:
                break
            log.warning("checkpoint %s vanished from the chain (reorg); re-anchoring", row.tree_size)
            vanished.append(row)
        if vanished:
            self.ledger.client.forget_nonce(self.recorder.address)
        head = self.ledger.client.block_number()
        settled = True
        for row in sorted(vanished + pending, key=lambda r: r.tree_size):
            match = on_chain.get((row.tree_size, row.root))
            if match is None:
                if row.tx_hash and self._in_flight(row.tx_hash):
                    settled = False
                    continue
                row.confirmed, row.chain_index, row.tx_hash, row.block_number = False, None, None, None
                self._send(session, row)
            else:
                row.chain_index, row.block_number = match
                row.confirmed = head - match[1] >= self.policy.confirmations
            settled = settled and row.confirmed
            session.add(row)
        session.commit()
        return settled

    def _still_on_chain(self, row: LedgerCheckpoint) -> bool:
        if row.chain_index is None:
            return False
        if row.chain_index >= self.ledger.checkpoint_count():
            return False
        cp = self.ledger.checkpoint(row.chain_index)
        return (cp.tree_size, cp.root.hex()) == (row.tree_size, row.root)

    def _in_flight(self, tx_hash: str) -> bool:
        """True when the node still knows the transaction but has not mined it."""
        try:
            tx = self.ledger.client.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except Exception:
            return False
        return tx is not None and tx.get("blockNumber") is None

    def _chain_checkpoints(self) -> dict[tuple[int, str], tuple[int, int]]:
        """(tree size, root hex) → (index, block) for every checkpoint event on chain, read in block pages (a
        node may refuse one eth_getLogs over its whole history)."""
        events = read_events(self.ledger.client, "CheckpointLog", self.ledger.checkpoints,
                             self.ledger.deployment.deployment_block, names={"CheckpointAnchored"})
        return {(int(ev.args["treeSize"]), bytes(ev.args["root"]).hex()): (int(ev.args["index"]), ev.block_number)
                for ev in events}

    def _cut_batch(self, session: Session, force: bool) -> int:
        last = session.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.tree_size).desc())
                            .limit(1)).first()
        tree = CompactTree.from_state(*json.loads(last.frontier)) if last else CompactTree()
        waiting = session.exec(
            select(LedgerRecord.seq, LedgerRecord.leaf_hash, LedgerRecord.created_at)
            .where(LedgerRecord.seq >= tree.size).order_by(col(LedgerRecord.seq)).limit(self.policy.batch_size)
        ).all()
        if not waiting:
            return 0
        oldest_age = (datetime.now(UTC) - _aware(waiting[0][2])).total_seconds()
        if not force and len(waiting) < self.policy.batch_size and oldest_age < self.policy.max_age:
            return 0
        leaves: list[bytes] = []
        for seq, leaf, _ in waiting:
            if seq != tree.size + len(leaves):
                break  # a gap: stop at the contiguous prefix
            leaves.append(bytes.fromhex(leaf))
        if not leaves:
            return 0
        proof = tree.consistency_proof(leaves)  # from the previous checkpoint, confirmed on chain
        tree.extend(leaves)
        row = LedgerCheckpoint(tree_size=tree.size, root=tree.root().hex(),
                               frontier=json.dumps(tree.to_state()), created_at=datetime.now(UTC))
        session.add(row)
        session.commit()  # intent first: a crash from here on is reconciled, never duplicated
        self._send(session, row, proof)
        session.commit()
        return len(leaves)

    def _proof_for(self, session: Session, row: LedgerCheckpoint) -> list[bytes]:
        """Consistency proof to `row` from the checkpoint row before it (the chain's latest when sent in order)."""
        prev = session.exec(select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size < row.tree_size)
                            .order_by(col(LedgerCheckpoint.tree_size).desc()).limit(1)).first()
        tree = CompactTree.from_state(*json.loads(prev.frontier)) if prev else CompactTree()
        leaves = session.exec(select(LedgerRecord.leaf_hash).where(LedgerRecord.seq >= tree.size)
                              .where(LedgerRecord.seq < row.tree_size).order_by(col(LedgerRecord.seq))).all()
        return tree.consistency_proof([bytes.fromhex(h) for h in leaves])

    def _send(self, session: Session, row: LedgerCheckpoint, proof: list[bytes] | None = None) -> None:
        if proof is None:
            proof = self._proof_for(session, row)
        try:
            receipt = self.ledger.anchor(self.recorder, row.tree_size, bytes.fromhex(row.root), proof)
        except ChainUnavailable:
            log.info("chain unavailable; checkpoint %s stays pending", row.tree_size)
            return
        except ChainError as exc:  # e.g. TreeSizeNotIncreasing or InconsistentCheckpoint after a partial reorg
            log.error("checkpoint %s refused: %s", row.tree_size, exc)
            return
        row.tx_hash, row.block_number = receipt.tx_hash, receipt.block_number
        row.chain_index = next(int.from_bytes(bytes(lg["topics"][1]), "big") for lg in receipt.logs
                               if receipt.log_index is not None and int(lg["logIndex"]) == receipt.log_index)
        row.confirmed = self.policy.confirmations == 0
        session.add(row)

    # ----------------------------------------------------------------- thread

    def start(self, interval: float = 0.2) -> None:
        """Run passes in a daemon thread until `stop`."""
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception:  # keep the worker alive; the next pass reconciles
                    log.exception("anchoring pass failed")
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="provex-anchor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
