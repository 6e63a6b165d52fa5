"""Witness cosignatures: read from the `Cosigned` events of the trusted CheckpointLog only, and what verify says
about them.

Every report lists, per checkpoint, the witnesses that cosigned it. Witnesses the auditor expects (learned out of
band, like the authority's address) are checked: a checkpoint one of them did not cosign is a note, or, when
witnesses are required, a `witness_missing` divergence naming the first such checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from web3 import Web3

from ledger.contracts import Checkpoint, Ledger
from ledger.events import read_events
from ledger.verify import CheckpointCosigners, Divergence, VerifyReport


def cosignatures(ledger: Ledger, page: int = 10_000) -> dict[int, dict[str, bytes]]:
    """Checkpoint index → {witness address: root it cosigned}, from the log's `Cosigned` events."""
    found: dict[int, dict[str, bytes]] = {}
    for ev in read_events(ledger.client, "CheckpointLog", ledger.checkpoints, ledger.deployment.deployment_block,
                          page=page, names={"Cosigned"}):
        found.setdefault(int(ev.args["index"]), {})[str(ev.args["witness"])] = bytes(ev.args["root"])
    return found


def cosigners_of(ledger: Ledger, checkpoints: Sequence[Checkpoint]) -> list[CheckpointCosigners]:
    """Each checkpoint with the witnesses whose cosignature names its root."""
    found = cosignatures(ledger)
    return [CheckpointCosigners(cp.index, cp.tree_size, cp.root.hex(),
                                sorted(w for w, r in found.get(cp.index, {}).items() if r == cp.root))
            for cp in checkpoints]


def _ranges(indexes: list[int]) -> str:
    """`[0, 1, 2, 5]` → `#0..#2, #5`."""
    spans: list[list[int]] = []
    for i in indexes:
        if spans and spans[-1][1] == i - 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(f"#{a}" if a == b else f"#{a}..#{b}" for a, b in spans)


def add_witnesses(report: VerifyReport, ledger: Ledger, checkpoints: Sequence[Checkpoint],
                  expected: Sequence[str] = (), require: bool = False) -> VerifyReport:
    """Fill `report.witnesses`; note each checkpoint an `expected` witness lacks (a divergence when `require`)."""
    report.witnesses = cosigners_of(ledger, checkpoints)
    seen: dict[str, int] = {}
    for cp in report.witnesses:
        for w in cp.cosigners:
            seen[w] = seen.get(w, 0) + 1
    total = len(report.witnesses)
    report.notes.append("witnesses: " + (", ".join(f"{w} cosigned {n} of {total} checkpoints"
                                                   for w, n in sorted(seen.items())) or "none cosigned"))
    for address in dict.fromkeys(Web3.to_checksum_address(a) for a in expected):
        missing = [cp.index for cp in report.witnesses if address not in cp.cosigners]
        if not missing:
            continue
        report.notes.append(f"checkpoint {_ranges(missing)} lack{'s' if len(missing) == 1 else ''} a "
                            f"cosignature from {address}")
        if require:
            div = Divergence("witness_missing", "checkpoints", None, "cosigners", missing[0],
                             f"checkpoint #{missing[0]} lacks a cosignature from the expected witness {address}")
            if report.divergence is None:
                report.divergence, report.ok = div, False
            else:
                report.also.append(div)
    return report
