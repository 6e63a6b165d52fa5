"""Verify the record log against the checkpoints on chain and name the first divergence.

Works from the database rows or from an export folder (`records.jsonl` + `deployment.json`), so
an auditor can verify without the exchange's database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger.canonical import RecordFormatError, decode_record
from ledger.client import ChainClient
from ledger.contracts import Checkpoint, Ledger
from ledger.events import read_events
from ledger.merkle import CompactTree, leaf_hash
from ledger.record_signatures import RecordSignatures
from ledger.statements import StatementDomain

INDEXED_FIELDS = ("kind", "actor", "subject", "authorization")


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: its body and, from a database, the indexed columns and leaf hash."""

    seq: int
    body: str
    columns: dict[str, Any] | None = None
    leaf_hash: str | None = None


@dataclass(frozen=True)
class Divergence:
    """The first place where the stored log and the chain disagree."""

    kind: str
    table: str
    row: int | str | None  # a row's integer pk, or its key (an id) when the table has none
    field: str | None
    checkpoint: int | None
    detail: str
    record: int | None = None  # the record that says what the row must hold
    tx: str | None = None  # the transaction (hash) that does


@dataclass
class VerifyReport:
    """Outcome of a verification run."""

    ok: bool
    records: int
    anchored: int
    checkpoints: int
    seconds: float
    divergence: Divergence | None = None
    unanchored: int = 0
    notes: list[str] = field(default_factory=list)
    also: list[Divergence] = field(default_factory=list)  # further divergences found after the first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chain_checkpoints(client: ChainClient, ledger: Ledger, page: int = 10_000) -> list[Checkpoint]:
    """Every checkpoint on chain, read from events in block pages."""
    found = [
        Checkpoint(int(ev.args["index"]), int(ev.args["treeSize"]), 0, bytes(ev.args["root"]))
        for ev in read_events(client, "CheckpointLog", ledger.checkpoints, ledger.deployment.deployment_block,
                              page=page, names={"CheckpointAnchored"})
    ]
    return sorted(found, key=lambda c: c.index)


def _record_leaf(rec: StoredRecord, expected: int, signatures: RecordSignatures | None = None) -> bytes | Divergence:
    """The record's leaf hash, or how it diverges from a faithful log at position `expected`."""
    if rec.seq != expected:
        kind = "record_deleted" if rec.seq > expected else "record_inserted"
        return Divergence(kind, "ledger_records", expected, "seq", None, f"expected record {expected}, found {rec.seq}")
    raw = rec.body.encode("utf-8")
    try:
        body = decode_record(raw)
    except RecordFormatError as exc:
        return Divergence("record_edited", "ledger_records", rec.seq, "body", None, f"not a canonical record: {exc}")
    if body.get("seq") != rec.seq:
        return Divergence("record_reordered", "ledger_records", rec.seq, "seq", None,
                          f"row {rec.seq} holds the body of record {body.get('seq')}")
    if rec.columns is not None:
        bad = next((f for f in INDEXED_FIELDS if rec.columns.get(f) != body.get(f)), None)
        if bad is not None:
            return Divergence("record_edited", "ledger_records", rec.seq, bad, None,
                              f"column {bad}={rec.columns.get(bad)!r} but the record says {body.get(bad)!r}")
    problem = signatures.check(body) if signatures is not None else None
    if problem is not None:
        return Divergence("signature_invalid", "ledger_records", rec.seq, "data.signed", None, problem)
    leaf = leaf_hash(raw)
    if rec.leaf_hash is not None and rec.leaf_hash != leaf.hex():
        return Divergence("record_edited", "ledger_records", rec.seq, "body", None,
                          "body does not hash to the stored leaf hash")
    return leaf


def verify_log(
    records: Iterable[StoredRecord],
    checkpoints: list[Checkpoint],
    progress: Callable[[int], None] | None = None,
    domain: StatementDomain | None = None,
) -> VerifyReport:
    """Recompute every leaf in order and compare the tree heads with the anchored checkpoints; check that every
    participant act is signed by its participant's bound address (`domain`: the trusted deployment's)."""
    signatures = RecordSignatures(domain)
    started = time.perf_counter()
    tree = CompactTree()
    cps = iter(checkpoints)
    nxt = next(cps, None)
    divergence: Divergence | None = None
    last_anchored = 0
    for rec in records:
        leaf = _record_leaf(rec, tree.size, signatures)
        if isinstance(leaf, Divergence):
            divergence = leaf
            break
        tree.append(leaf)
        while nxt is not None and nxt.tree_size == tree.size:
            if tree.root() != nxt.root:
                divergence = Divergence(
                    "root_mismatch", "ledger_records", None, None, nxt.index,
                    f"records {last_anchored}..{tree.size - 1} do not hash to checkpoint #{nxt.index}'s root "
                    f"(an edit, insertion or reordering in that range)")
                break
            last_anchored = tree.size
            nxt = next(cps, None)
        if divergence is not None:
            break
        if progress is not None and tree.size % 10_000 == 0:
            progress(tree.size)
    if divergence is None and nxt is not None:
        divergence = Divergence("record_deleted", "ledger_records", tree.size, None, nxt.index,
                                f"checkpoint #{nxt.index} covers {nxt.tree_size} records, the log has {tree.size}")
    return VerifyReport(ok=divergence is None, records=tree.size, anchored=last_anchored,
                        checkpoints=len(checkpoints), seconds=round(time.perf_counter() - started, 3),
                        divergence=divergence, unanchored=tree.size - last_anchored)


# ------------------------------------------------------------------ export folder

RECORDS_FILE = "records.jsonl"
MANIFEST_FILE = "deployment.json"


def export_log(records: Iterable[StoredRecord], manifest_json: str, folder: Path) -> int:
    """Write records (one canonical body per line, in order) and the deployment manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(folder / RECORDS_FILE, "w", encoding="utf-8") as out:
        for rec in records:
            out.write(rec.body + "\n")
            n += 1
    (folder / MANIFEST_FILE).write_text(manifest_json)
    return n


def read_export(folder: Path) -> Iterator[StoredRecord]:
    """Records from an export folder; the position in the file is the expected sequence number."""
    with open(folder / RECORDS_FILE, encoding="utf-8") as src:
        for i, line in enumerate(src):
            body = line.rstrip("\n")
            try:
                seq = int(json.loads(body).get("seq", i))
            except (ValueError, AttributeError):
                seq = i
            yield StoredRecord(seq=seq, body=body)
