"""Witnesses: `CheckpointLog.cosign` names exactly the root checked, once per witness; `provex witness` checks each new
checkpoint's proof from its anchor transaction, cosigns with its own key, and refuses and alarms when the log
disagrees with what it cosigned; verify lists the cosigners and notes the expected ones missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.contracts import Checkpoint, Ledger
from ledger.cosignatures import add_witnesses, cosigners_of
from ledger.errors import ContractRevert
from ledger.merkle import consistency_proof, leaf_hash, root
from ledger.promises import Promise, Promiser
from ledger.trust import contract_checkpoints
from ledger.verify import VerifyReport
from ledger.witness import Anchor, Witness, WitnessState, WitnessStateError, trusted_promises

LEAVES = [leaf_hash(b"record %d" % i) for i in range(32)]
FORGED = [*LEAVES[:3], leaf_hash(b"rewritten record 3"), *LEAVES[4:]]




def anchor(log: Ledger, recorder: LocalAccount, sizes: list[int]) -> None:
    prev = log.checkpoint(log.checkpoint_count() - 1).tree_size if log.checkpoint_count() else 0
    for size in sizes:
        log.anchor(recorder, size, root(LEAVES[:size]), consistency_proof(LEAVES, prev, size))
        prev = size


def test_cosign_names_the_checkpoints_root_once_per_witness(log: Ledger, roles: dict[str, LocalAccount],
                                                            new_account: Callable[[], LocalAccount]) -> None:
    anchor(log, roles["recorder"], [5])
    w = new_account()

    def refused(index: int, r: bytes) -> tuple[str, dict[str, object]]:
        with pytest.raises(ContractRevert) as exc:
            log.cosign(w, index, r)
        return exc.value.name, exc.value.args_by_name

    assert refused(0, root(FORGED[:5])) == ("CosignedRootMismatch", {"index": 0, "root": root(FORGED[:5]),
                                                                     "checkpointRoot": root(LEAVES[:5])})
    assert refused(1, root(LEAVES[:5])) == ("UnknownCheckpoint", {"index": 1, "count": 1})
    receipt = log.cosign(w, 0, root(LEAVES[:5]))
    assert log.tx_events("CheckpointLog", "Cosigned", receipt.tx_hash) == [
        {"index": 0, "witness": w.address, "root": root(LEAVES[:5])}]
    assert log.cosigned(0, w.address) and not log.cosigned(0, roles["recorder"].address)
    assert refused(0, root(LEAVES[:5])) == ("AlreadyCosigned", {"index": 0, "witness": w.address})
    assert receipt.gas_used < 60_000, receipt.gas_used


def test_a_witness_cosigns_new_checkpoints_and_verify_lists_it(log: Ledger, roles: dict[str, LocalAccount],
                                                               new_account: Callable[[], LocalAccount],
                                                               tmp_path: Path) -> None:
    w, other = new_account(), new_account()
    witness = Witness(log, w, tmp_path / "state.json")
    assert list(witness.run_once()) == []  # nothing anchored yet
    anchor(log, roles["recorder"], [5, 8])
    lines = list(witness.run_once())
    assert [(x["cosigned"], x["tree_size"]) for x in lines] == [(0, 5), (1, 8)]
    assert all(x["witness"] == w.address and x["gas_used"] > 0 for x in lines)
    anchor(log, roles["recorder"], [17])
    assert [x["cosigned"] for x in witness.run_once()] == [2]
    assert list(witness.run_once()) == []
    state = json.loads((tmp_path / "state.json").read_text())
    assert (state["index"], state["tree_size"], state["root"]) == (2, 17, root(LEAVES[:17]).hex())
    log.cosign(other, 1, root(LEAVES[:8]))  # a second witness cosigns only #1

    cps = contract_checkpoints(log)
    assert [c.cosigners for c in cosigners_of(log, cps)] == [[w.address], sorted([w.address, other.address]),
                                                              [w.address]]
    noted = add_witnesses(VerifyReport(True, 17, 17, 3, 0.0), log, cps, [w.address, other.address.lower()])
    assert noted.ok and noted.notes[-1] == f"checkpoint #0, #2 lack a cosignature from {other.address}"
    required = add_witnesses(VerifyReport(True, 17, 17, 3, 0.0), log, cps, [other.address], require=True)
    assert not required.ok and required.divergence is not None
    assert (required.divergence.kind, required.divergence.checkpoint) == ("witness_missing", 0)
    with pytest.raises(WitnessStateError, match="not of"):
        Witness(log, other, tmp_path / "state.json").state()  # another witness's state file is refused


def test_a_witness_refuses_and_alarms_on_a_rewritten_log(log: Ledger, roles: dict[str, LocalAccount],
                                                         new_account: Callable[[], LocalAccount],
                                                         tmp_path: Path) -> None:
    w = new_account()
    path = tmp_path / "state.json"
    anchor(log, roles["recorder"], [8])
    assert [x["cosigned"] for x in Witness(log, w, path).run_once()] == [0]
    anchor(log, roles["recorder"], [12, 20])
    # what the witness cosigned at size 8 was a history with record 3 rewritten: the log it now sees differs
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "root": root(FORGED[:8]).hex()}))
    for _ in range(2):  # it keeps alarming, and never cosigns
        [alarm] = list(Witness(log, w, path).run_once())
        assert (alarm["alarm"], alarm["cosigned"]["index"], alarm["refused"]) == ("inconsistent", 0, [1, 2])
        assert "checkpoint #0 now reads size 8" in alarm["detail"] and root(FORGED[:8]).hex() in alarm["detail"]
    assert not log.cosigned(1, w.address) and not log.cosigned(2, w.address)
    # a witness whose state is ahead of the log (the log shrank: another chain, a reorg) alarms too
    path.write_text(json.dumps({**state, "index": 5}))
    [gone] = list(Witness(log, w, path).run_once())
    assert gone["alarm"] == "inconsistent" and "checkpoint #5, which this witness cosigned, is gone" in gone["detail"]


def test_a_proof_that_does_not_extend_the_cosigned_checkpoint_is_refused(log: Ledger,
                                                                         new_account: Callable[[], LocalAccount],
                                                                         tmp_path: Path) -> None:
    """The rule the contract also enforces, checked again by the witness on the calldata it read (the contract is
    not taken on trust): a proof built over a rewritten history, or calldata naming another root, is refused."""
    witness = Witness(log, new_account(), tmp_path / "state.json")
    state = WitnessState(1, log.checkpoints.address, witness.account.address, 0, 8, root(LEAVES[:8]).hex())
    cp = Checkpoint(1, 12, 0, root(LEAVES[:12]))
    good = Anchor("0xaa", 1, 12, cp.root, consistency_proof(LEAVES, 8, 12))
    assert witness.check(state, cp, good) is None
    rewritten = [*LEAVES[:9], leaf_hash(b"rewritten record 9"), *LEAVES[10:]]
    forged = Anchor("0xbb", 1, 12, cp.root, consistency_proof(rewritten, 8, 12))
    kind, detail = witness.check(state, cp, forged) or ("", "")
    assert kind == "inconsistent" and "does not extend checkpoint #0 (size 8" in detail and "0xbb" in detail
    other_root = Anchor("0xcc", 1, 12, root(FORGED[:12]), good.proof)
    assert (witness.check(state, cp, other_root) or ("",))[0] == "inconsistent"
    assert (witness.check(state, cp, Anchor("0xdd", 1, None, None, [])) or ("",))[0] == "unverifiable"
    assert (witness.check(state, cp, None) or ("",))[0] == "unverifiable"


def test_a_witness_alarms_once_for_each_record_not_anchored_by_its_promise(
        log: Ledger, roles: dict[str, LocalAccount], new_account: Callable[[], LocalAccount], tmp_path: Path) -> None:
    recorder, chain_id, now = roles["recorder"], log.client.chain_id, log.client.chain_time()
    anchor(log, recorder, [5])

    def promise(seq: int, issued: int, delay: int, by: LocalAccount = recorder) -> Promise:
        at = datetime.fromtimestamp(issued, UTC)
        return Promiser(by, chain_id, log.checkpoints.address, delay).promise(seq, LEAVES[seq].hex(), at)

    held = [promise(2, now - 5, 600),  # anchored within its delay: kept
            promise(7, now - 100, 10),  # not anchored 90 s past its deadline
            promise(9, now, 600),  # not anchored, still in time
            promise(8, now - 100, 10, by=new_account())]  # a stranger's word binds nobody
    trusted, refused = trusted_promises(log, held)
    assert [p.seq for p in trusted] == [2, 7, 9]
    assert [(r["seq"], "not a recorder" in r["detail"]) for r in refused] == [(8, True)]
    witness = Witness(log, new_account(), tmp_path / "state.json")
    alarms = list(witness.promise_alarms(trusted))
    assert [(a["alarm"], a["seq"], a["deadline"]) for a in alarms] == [("promise_broken", 7, now - 90)]
    assert list(witness.promise_alarms(trusted)) == []  # named once
