"""The witness: follows the trusted CheckpointLog, checks that each new checkpoint extends the last one it
cosigned, and cosigns it on chain with its own key (`CheckpointLog.cosign`).

It trusts only the chain at the addresses of the authority's trust file and its own state file. Each checkpoint's
consistency proof is read from the calldata of the transaction that anchored it (the recorder's `anchor(size,
root, proof)`) and recomputed here (RFC 9162), from the (size, root) this witness cosigned last, kept in its state
file. When the chain disagrees with what it cosigned (the checkpoint it cosigned now reads differently or is gone,
or a new one does not extend it) it cosigns nothing and raises an alarm naming the checkpoints. Given the
recorder's promises (`provex-promise/1`, collected by participants), it also raises an alarm for each record not
anchored by its promised deadline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from ledger.contracts import Checkpoint, Ledger
from ledger.errors import ContractRevert
from ledger.events import read_events
from ledger.merkle import EMPTY_ROOT, verify_consistency
from ledger.promises import Promise, overdue
from ledger.secp256k1 import message_problem

STATE_FORMAT = "provex-witness-state/1"


class WitnessStateError(ValueError):
    """The state file is unreadable, or belongs to another chain, log or witness."""


@dataclass
class WitnessState:
    """What the witness cosigned last (index -1, size 0 and the empty root before its first cosignature)."""

    chain_id: int
    checkpoint_log: str
    witness: str
    index: int = -1
    tree_size: int = 0
    root: str = EMPTY_ROOT.hex()
    scan_from: int = 0  # the block from which anchor events are still to be read
    format: str = STATE_FORMAT

    @classmethod
    def load(cls, path: Path) -> WitnessState | None:
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            state = cls(**data)
        except (ValueError, TypeError) as exc:
            raise WitnessStateError(f"{path} is not a witness state file: {exc}") from None
        if state.format != STATE_FORMAT:
            raise WitnessStateError(f"{path}: format {state.format!r} is not {STATE_FORMAT!r}")
        return state

    def save(self, path: Path) -> None:
        """Written aside and renamed into place: a crash leaves the old state or the new, never half."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "tree_size": self.tree_size, "root": self.root}


@dataclass(frozen=True)
class Anchor:
    """The anchoring of one checkpoint as its transaction carried it."""

    tx_hash: str
    block_number: int
    tree_size: int | None  # None: the transaction is no direct `anchor` call, so its proof cannot be read
    root: bytes | None
    proof: list[bytes]


class Witness:
    """One witness (its own key and state file) of one CheckpointLog; `run_once` yields a JSON line per event."""

    def __init__(self, ledger: Ledger, account: LocalAccount, state_path: Path) -> None:
        self.ledger = ledger
        self.account = account
        self.state_path = state_path
        self._checkpoints: list[Checkpoint] = []  # read so far (they never change once anchored)
        self._reported: set[int] = set()  # records whose broken promise was already alarmed

    def promise_alarms(self, promises: list[Promise]) -> Iterator[dict[str, Any]]:
        """A `promise_broken` alarm, once each, for every promise whose record was not anchored by its deadline
        (by the anchoring checkpoint's block time, or the chain's time while it is not anchored)."""
        count = self.ledger.checkpoint_count()
        self._checkpoints += [self.ledger.checkpoint(i) for i in range(len(self._checkpoints), count)]
        for p in overdue(promises, self._checkpoints, self.ledger.client.chain_time()):
            if p.seq not in self._reported:
                self._reported.add(p.seq)
                yield {"alarm": "promise_broken", "checkpoint_log": p.log, "seq": p.seq, "leaf_hash": p.leaf_hash,
                       "deadline": p.deadline, "detail": f"record {p.seq} was promised anchored by {p.deadline} "
                       f"(unix s) and is not in a checkpoint stamped by then"}

    def state(self) -> WitnessState:
        """The saved state, checked to be this chain's, this log's and this witness's; a fresh one when none."""
        log, chain_id = self.ledger.checkpoints.address, self.ledger.client.chain_id
        state = WitnessState.load(self.state_path)
        if state is None:
            return WitnessState(chain_id, log, self.account.address, scan_from=self.ledger.deployment.deployment_block)
        mine = (chain_id, log.lower(), self.account.address.lower())
        if (state.chain_id, state.checkpoint_log.lower(), state.witness.lower()) != mine:
            raise WitnessStateError(
                f"{self.state_path} is the state of witness {state.witness} of CheckpointLog {state.checkpoint_log} "
                f"on chain {state.chain_id}, not of {self.account.address} of {log} on chain {chain_id}")
        return state

    def run_once(self) -> Iterator[dict[str, Any]]:
        """Check and cosign every checkpoint anchored since the last one cosigned; stop at the first alarm."""
        state = self.state()
        count = self.ledger.checkpoint_count()
        drift = self._drift(state, count)
        if drift is not None:
            yield alarm(state, "inconsistent", drift, list(range(state.index + 1, count)))
            return
        if count <= state.index + 1:
            return
        anchors = self._anchors(state.scan_from)
        for index in range(state.index + 1, count):
            cp = self.ledger.checkpoint(index)
            problem = self.check(state, cp, anchors.get(index))
            if problem is not None:
                yield alarm(state, *problem, list(range(index, count)))
                return
            yield self._cosign(state, cp, anchors[index])

    def _drift(self, state: WitnessState, count: int) -> str | None:
        """How the checkpoint this witness cosigned last now differs on chain, if it does."""
        if state.index < 0:
            return None
        if state.index >= count:
            return (f"checkpoint #{state.index}, which this witness cosigned, is gone: the log has {count} "
                    f"checkpoints (a rewritten or reorganised chain)")
        cp = self.ledger.checkpoint(state.index)
        if (cp.tree_size, cp.root.hex()) != (state.tree_size, state.root):
            return (f"checkpoint #{state.index} now reads size {cp.tree_size} root {cp.root.hex()}; this witness "
                    f"cosigned size {state.tree_size} root {state.root} (the log was rewritten)")
        return None

    def check(self, state: WitnessState, cp: Checkpoint, anchor: Anchor | None) -> tuple[str, str] | None:
        """Why checkpoint `cp` may not be cosigned (alarm kind, detail), or None when its proof extends the state's
        checkpoint."""
        if anchor is None:
            return "unverifiable", f"no CheckpointAnchored event for checkpoint #{cp.index}: its proof cannot be read"
        if anchor.tree_size is None or anchor.root is None:
            return "unverifiable", (f"transaction {anchor.tx_hash} that anchored checkpoint #{cp.index} is no "
                                    "direct anchor call: its consistency proof cannot be read")
        if (anchor.tree_size, anchor.root) != (cp.tree_size, cp.root):
            return "inconsistent", (f"transaction {anchor.tx_hash} anchored size {anchor.tree_size} root "
                                    f"{anchor.root.hex()}, the contract holds size {cp.tree_size} root "
                                    f"{cp.root.hex()} for checkpoint #{cp.index}")
        if not verify_consistency(state.tree_size, cp.tree_size, bytes.fromhex(state.root), cp.root, anchor.proof):
            return "inconsistent", (f"checkpoint #{cp.index} (size {cp.tree_size}, root {cp.root.hex()}) does not "
                                    f"extend checkpoint #{state.index} (size {state.tree_size}, root {state.root}) "
                                    f"that this witness cosigned: the consistency proof in {anchor.tx_hash} fails")
        return None

    def _cosign(self, state: WitnessState, cp: Checkpoint, anchor: Anchor) -> dict[str, Any]:
        """Cosign `cp` (once: a cosignature sent before a crash is adopted), then save the state."""
        line: dict[str, Any] = {"cosigned": cp.index, "tree_size": cp.tree_size, "root": cp.root.hex(),
                                "witness": self.account.address}
        if self.ledger.cosigned(cp.index, self.account.address):
            line["already"] = True
        else:
            try:
                receipt = self.ledger.cosign(self.account, cp.index, cp.root)
                line.update(tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used)
            except ContractRevert as exc:
                if exc.name != "AlreadyCosigned":
                    raise
                line["already"] = True
        state.index, state.tree_size, state.root = cp.index, cp.tree_size, cp.root.hex()
        state.scan_from = anchor.block_number
        state.save(self.state_path)
        return line

    def _anchors(self, from_block: int) -> dict[int, Anchor]:
        """Checkpoint index → its anchoring, from the log's events and each transaction's calldata."""
        out: dict[int, Anchor] = {}
        log = self.ledger.checkpoints
        for ev in read_events(self.ledger.client, "CheckpointLog", log, from_block, names={"CheckpointAnchored"}):
            tx = self.ledger.client.rpc(lambda h=ev.tx_hash: self.ledger.client.w3.eth.get_transaction(h))
            size, root, proof = None, None, []
            if str(tx.get("to") or "").lower() == log.address.lower():
                try:
                    fn, args = log.decode_function_input(HexBytes(tx["input"]))
                except ValueError:
                    fn = None
                if fn is not None and fn.fn_name == "anchor":
                    size, root, proof = int(args["treeSize"]), bytes(args["root"]), [bytes(p) for p in args["proof"]]
            out[int(ev.args["index"])] = Anchor(ev.tx_hash, ev.block_number, size, root, proof)
        return out


def trusted_promises(ledger: Ledger, promises: list[Promise]) -> tuple[list[Promise], list[dict[str, Any]]]:
    """The promises made for this CheckpointLog and signed by one of its recorders (holding RECORDER_ROLE now, or
    having anchored a checkpoint), and a refusal line for each other one: only the recorder's word binds."""
    ok, refused = [], []
    for p in promises:
        problem = message_problem(p.message(), p.signature, p.signer)
        if (p.chain_id, p.log.lower()) != (ledger.client.chain_id, ledger.checkpoints.address.lower()):
            problem = f"made for chain {p.chain_id} log {p.log}, not this one"
        elif problem is None and not ledger.is_recorder(p.signer):
            problem = f"{p.signer} is not a recorder of this log"
        if problem is None:
            ok.append(p)
        else:
            refused.append({"error": "promise_refused", "seq": p.seq, "detail": problem})
    return ok, refused


def alarm(state: WitnessState, kind: str, detail: str, refused: list[int]) -> dict[str, Any]:
    """The alarm line: what is wrong (`inconsistent` or `unverifiable`), what this witness cosigned last, and the
    checkpoints it refuses to cosign."""
    return {"alarm": kind, "checkpoint_log": state.checkpoint_log, "witness": state.witness,
            "cosigned": state.describe(), "refused": refused, "detail": detail}
