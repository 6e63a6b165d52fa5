"""Verify the record log against the checkpoints on chain and name the first divergence.

Works from the database rows or from an export folder (`records.jsonl` + `deployment.json`), so
an auditor can verify without the exchange's database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ledger.check_workers import checked_chunks
from ledger.client import ChainClient
from ledger.contracts import Checkpoint, Ledger
from ledger.events import read_events
from ledger.merkle import CompactTree
from ledger.promises import Promise, PromiseBook, read_promises
from ledger.record_check import CHUNK, Checked, Row, workers_for
from ledger.record_signatures import RecordSignatures, SignedFacts
from ledger.role_history import RoleHistory
from ledger.statements import StatementDomain


class StoredRecord(NamedTuple):
    """A record as stored: its body and, from a database, its stored leaf hash, indexed columns and promise. A
    plain tuple in the database's column order (a million are read per verification, straight from the cursor);
    the shape `ledger.record_check` takes."""

    seq: int
    body: str
    leaf_hash: str | None = None  # None: from an export (no stored hash, no indexed columns)
    kind: str | None = None
    actor: str | None = None
    subject: str | None = None
    authorization: str | None = None
    promise: str | None = None  # the promise made when it was written (ledger.promises), as stored


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


@dataclass(frozen=True)
class CheckpointCosigners:
    """A checkpoint and the witnesses that cosigned it (`Cosigned` events of the trusted CheckpointLog)."""

    index: int
    tree_size: int
    root: str  # hex
    cosigners: list[str]  # checksummed addresses, sorted


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
    witnesses: list[CheckpointCosigners] = field(default_factory=list)  # per checkpoint, who cosigned it
    promises: dict[str, int] = field(default_factory=dict)  # checked promises: kept, pending, broken

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


class _Walk:
    """Folds checked chunks into the tree in order: judges signatures at their records, compares the root at each
    checkpoint's size, checks the chain roles of the acts each checkpoint anchors. Stops at the first divergence."""

    def __init__(self, checkpoints: list[Checkpoint], signatures: RecordSignatures, roles: RoleHistory | None) -> None:
        self.tree = CompactTree()
        self.cps = iter(checkpoints)
        self.nxt = next(self.cps, None)
        self.signatures, self.roles = signatures, roles
        self.last_anchored = 0

    def take(self, chunk: Checked) -> Divergence | None:
        facts = iter(chunk.signed)
        fact = next(facts, None)
        pos = 0
        while True:
            base = self.tree.size
            stop = base + len(chunk.leaves) - pos  # extend to the next record with a signature, or checkpoint
            if fact is not None and fact.seq >= base:
                stop = min(stop, fact.seq)
            if self.nxt is not None and self.nxt.tree_size > base:
                stop = min(stop, self.nxt.tree_size)
            self.tree.extend(chunk.leaves[pos:pos + stop - base])
            pos += stop - base
            divergence = self._checkpoints()
            if divergence is None and fact is not None and fact.seq == self.tree.size:
                divergence = self._judge(fact)
                fact = next(facts, None)
            elif divergence is None and pos == len(chunk.leaves):
                break
            if divergence is not None:
                return divergence
        p = chunk.problem
        return None if p is None else Divergence(p.kind, "ledger_records", p.seq, p.field, None, p.detail)

    def _judge(self, fact: SignedFacts) -> Divergence | None:
        problem = self.signatures.judge(fact)
        if problem is None:
            return None
        return Divergence("signature_invalid", "ledger_records", fact.seq, "data.signed", None, problem)

    def _checkpoints(self) -> Divergence | None:
        while self.nxt is not None and self.nxt.tree_size == self.tree.size:
            nxt = self.nxt
            if self.tree.root() != nxt.root:
                return Divergence("root_mismatch", "ledger_records", None, None, nxt.index,
                                  f"records {self.last_anchored}..{self.tree.size - 1} do not hash to checkpoint "
                                  f"#{nxt.index}'s root (an edit, insertion or reordering in that range)")
            self.last_anchored = self.tree.size
            self.nxt = next(self.cps, None)
            divergence = _role_divergence(self.signatures, self.roles, nxt)
            if divergence is not None:
                return divergence
        return None


def verify_log(
    records: Iterable[Row],
    checkpoints: list[Checkpoint],
    progress: Callable[[int], None] | None = None,
    domain: StatementDomain | None = None,
    roles: RoleHistory | None = None,
    promises: PromiseBook | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
) -> VerifyReport:
    """Recompute every leaf in order and compare the tree heads with the anchored checkpoints (`records`: StoredRecords,
    or plain tuples in their column order); check that every
    participant act is signed by its participant's bound address (`domain`: the trusted deployment's) and, given
    the chain's `roles`, that the signer held the chain role the act needs; with `promises`, every promise stored
    or collected (a broken one is `promise_broken`, after the log's own). Big logs are checked in `workers`
    processes (default: by the anchored size), `chunk` records at a time."""
    started = time.perf_counter()
    signatures = RecordSignatures(domain)
    walk = _Walk(checkpoints, signatures, roles)
    if workers is None:
        workers = workers_for(checkpoints[-1].tree_size if checkpoints else 0)
    divergence: Divergence | None = None
    for checked in checked_chunks(records, domain, workers, chunk):
        before = walk.tree.size
        divergence = walk.take(checked)
        if promises is not None:
            _show_promises(promises, before, checked.leaves, dict(checked.promises))
        if divergence is not None:
            break
        if progress is not None:
            progress(walk.tree.size)
    if divergence is None:
        divergence = _role_divergence(signatures, roles, None)
    size, nxt = walk.tree.size, walk.nxt
    if divergence is None and nxt is not None:
        divergence = Divergence("record_deleted", "ledger_records", size, None, nxt.index,
                                f"checkpoint #{nxt.index} covers {nxt.tree_size} records, the log has {size}")
    report = VerifyReport(ok=divergence is None, records=size, anchored=walk.last_anchored,
                          checkpoints=len(checkpoints), seconds=round(time.perf_counter() - started, 3),
                          divergence=divergence, unanchored=size - walk.last_anchored)
    if promises is not None and divergence is None:
        _judge_promises(report, promises, checkpoints)
    return report


def _role_divergence(signatures: RecordSignatures, roles: RoleHistory | None,
                     cp: Checkpoint | None) -> Divergence | None:
    """The first act so far (anchored by `cp`, or not yet anchored) whose signer lacked its chain role."""
    acts, signatures.role_acts = signatures.role_acts, []
    if roles is None or not acts:
        return None
    until = roles.anchored_by(cp)
    for act in acts:
        problem = roles.problem(act, until)
        if problem is not None:
            return Divergence("role_missing", "ledger_records", act.seq, "data.signed",
                              cp.index if cp else None, problem)
    return None


def _show_promises(book: PromiseBook, first: int, leaves: list[bytes], stored: dict[int, str]) -> None:
    """Let the book see the records `first`, `first + 1`, ... just checked: those with a stored promise, or every
    one when promises were collected (a collected promise may name any record)."""
    end = first + len(leaves)
    seqs = range(first, end) if book.collected else sorted(s for s in stored if first <= s < end)
    for seq in seqs:
        book.see(seq, leaves[seq - first], stored.get(seq))


def _judge_promises(report: VerifyReport, book: PromiseBook, checkpoints: list[Checkpoint]) -> None:
    broken = [Divergence("promise_broken", "ledger_records", b.seq, b.field, b.checkpoint, b.detail)
              for b in book.finish(report.records, checkpoints)]
    report.promises = {"kept": book.kept, "pending": book.pending, "broken": len(broken)}
    if broken:
        report.ok, report.divergence, report.also = False, broken[0], [*report.also, *broken[1:]]


def export_promises(folder: Path) -> list[Promise]:
    """The promises in an export's promises.jsonl (none when absent); PromiseError names a bad line."""
    path = folder / PROMISES_FILE
    return read_promises(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else []


def promise_book(ledger: Ledger, collected: Iterable[Promise] = ()) -> PromiseBook:
    """A book for `ledger`'s CheckpointLog: promises must be signed by a recorder of it (holding RECORDER_ROLE
    now, or having anchored a checkpoint: a recorder governance replaced still answers for its promises), and
    are judged by each anchoring checkpoint's timestamp and, for records not anchored yet, the chain's time now."""
    recorders: dict[str, bool] = {}

    def is_recorder(address: str) -> bool:
        if address not in recorders:
            recorders[address] = ledger.is_recorder(address)
        return recorders[address]

    times: dict[int, int] = {}

    def time_of(cp: Checkpoint) -> int:
        if cp.timestamp:
            return cp.timestamp
        if cp.index not in times:  # read from events, which carry no time: ask the contract
            times[cp.index] = ledger.checkpoint(cp.index).timestamp
        return times[cp.index]

    book = PromiseBook(ledger.client.chain_id, ledger.checkpoints.address, is_recorder,
                       ledger.client.chain_time(), time_of)
    book.collect(collected)
    return book


# ------------------------------------------------------------------ export folder

RECORDS_FILE = "records.jsonl"
PROMISES_FILE = "promises.jsonl"
MANIFEST_FILE = "deployment.json"


def export_log(records: Iterable[StoredRecord], manifest_json: str, folder: Path) -> int:
    """Write records (one canonical body per line, in order), their promises (one per line, in order) and the
    deployment manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(folder / RECORDS_FILE, "w", encoding="utf-8") as out, \
            open(folder / PROMISES_FILE, "w", encoding="utf-8") as promised:
        for rec in records:
            out.write(rec.body + "\n")
            if rec.promise is not None:
                promised.write(rec.promise + "\n")
            n += 1
    (folder / MANIFEST_FILE).write_text(manifest_json)
    return n


def read_export(folder: Path) -> Iterator[StoredRecord]:
    """Records from an export folder; the position in the file is the expected sequence number. (Their promises
    are in `promises.jsonl`: `read_promises`.)"""
    with open(folder / RECORDS_FILE, encoding="utf-8") as src:
        for i, line in enumerate(src):
            body = line.rstrip("\n")
            yield StoredRecord(seq=_claimed_seq(body, i), body=body)


def _claimed_seq(body: str, position: int) -> int:
    """The sequence number a canonical body gives itself, without parsing it: its last `"seq":` key is the top-level
    one (keys are sorted and none after it holds an object; a quote inside a string is escaped). Anything else is
    taken at its position, and the record check then says what is wrong with it."""
    at = body.rfind('"seq":')
    digits = _DIGITS.match(body, at + 6) if at >= 0 else None
    return int(digits.group()) if digits else position


_DIGITS = re.compile(r"\d{1,18}")
