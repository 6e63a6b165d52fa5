"""The checks of each record that need no other record, a chunk of the log at a time: its place, canonical form,
indexed columns, stored leaf hash and signature facts. Pure, so that a big log's chunks run in worker processes
(ledger/check_workers.py) while the caller walks the results in order (ledger/verify.py)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.canonical import MAX_DEPTH, MAX_RECORD_BYTES, RecordFormatError, canonical_object, decode_text, quote
from ledger.record_signatures import SIGNED_KINDS, SignedFacts, signed_facts

if TYPE_CHECKING:
    from ledger.statements import StatementDomain as StatementDomain

INDEXED_FIELDS = ("kind", "actor", "subject", "authorization")
_sha256 = hashlib.sha256
_ESCAPED = re.compile(r'[\\"\x00-\x1f]')  # characters canonical JSON escapes inside a string
CHUNK = 8192  # records per unit of work
PARALLEL_FROM = 100_000  # records: below this, worker start-up costs more than it saves
# seq, body, stored leaf hash, the INDEXED_FIELDS columns, promise: a ledger.verify.StoredRecord (an export's
# rows have no leaf hash and no columns)
Row = tuple[Any, ...]
Domain = tuple[int, str] | None  # a StatementDomain's chain id and verifying contract (plain: cheap in a worker)


@dataclass(frozen=True)
class Problem:
    """The first record of a chunk that is wrong on its own."""

    kind: str
    seq: int
    field: str
    detail: str


@dataclass
class Checked:
    """A chunk's leaf hashes up to its first problem, the signature facts of those records (and of the problem
    record, which are judged first), their stored promises, and the problem."""

    leaves: list[bytes] = field(default_factory=list)
    signed: list[SignedFacts] = field(default_factory=list)
    promises: list[tuple[int, str]] = field(default_factory=list)
    problem: Problem | None = None


def check_chunk(domain: Domain, start: int, rows: list[Row]) -> Checked:
    """Check consecutive records expected to hold sequence numbers `start`, `start + 1`, ..."""
    out = Checked()
    leaves, signed, promises = out.leaves, out.signed, out.promises
    trusted: StatementDomain | None = None
    for seq, row in enumerate(rows, start):
        if row[0] != seq:
            kind = "record_deleted" if row[0] > seq else "record_inserted"
            out.problem = Problem(kind, seq, "seq", f"expected record {seq}, found {row[0]}")
            return out
        stored = row[2] if len(row) > 2 else None
        fast = _as_columns_say(seq, row) if stored is not None else None
        if fast is not None:
            raw, record = fast
        else:
            problem, raw, record = _in_full(seq, row, stored is not None)
            if problem is not None:
                out.problem = problem
                return out
        if _may_be_signed(record):
            if trusted is None and domain is not None:
                from ledger.statements import StatementDomain

                trusted = StatementDomain(*domain)
            facts = signed_facts(record, trusted)
            if facts is not None:
                signed.append(facts)
        leaf = _sha256(b"\x00" + raw).digest()  # ledger.merkle.leaf_hash
        if stored is not None and stored != leaf.hex():
            out.problem = Problem("record_edited", seq, "body", "body does not hash to the stored leaf hash")
            return out
        leaves.append(leaf)
        if len(row) > 7 and row[7] is not None:
            promises.append((seq, row[7]))
    return out


def _in_full(seq: int, row: Row, columns: bool) -> tuple[Problem | None, bytes, dict[str, Any]]:
    """Parse a body, check it is canonical, holds record `seq` and (`columns`: a database row) says what its indexed
    columns say; the first problem, or None and the body's bytes and record."""
    try:
        raw, record = decode_text(row[1])
    except RecordFormatError as exc:
        return Problem("record_edited", seq, "body", f"not a canonical record: {exc}"), b"", {}
    get = record.get
    if get("seq") != seq:
        return Problem("record_reordered", seq, "seq", f"row {seq} holds the body of record {get('seq')}"), raw, record
    if columns and row[3:7] != (get("kind"), get("actor"), get("subject"), get("authorization")):
        return _column_problem(seq, row, record), raw, record
    return None, raw, record


def _as_columns_say(seq: int, row: Row) -> tuple[bytes, dict[str, Any]] | None:
    """A database row's body bytes and record when the body is exactly the canonical version-2 record its columns
    describe: the envelope (every key but `data`, in canonical order) re-serialised from `seq` and the columns and
    compared byte for byte with the body, and only the `data` object between them parsed and re-encoded. Such a
    body passes `_in_full`; None sends any other body there (which names what is wrong)."""
    body, kind, actor, subject, authorization = row[1], row[3], row[4], row[5], row[6]
    try:
        head = '{"actor":' + quote(actor) + ',"at":"'
        mid = '","authorization":' + ("null" if authorization is None else quote(authorization)) + ',"data":'
        tail = ',"kind":' + quote(kind) + ',"seq":' + str(seq) + ',"subject":' + quote(subject) + ',"v":2}'
    except TypeError:  # a column that is not text
        return None
    if not (body.startswith(head) and body.endswith(tail)):
        return None
    at_end = body.find('"', len(head))
    if at_end < 0 or not body.startswith(mid, at_end) or _ESCAPED.search(body, len(head), at_end):
        return None  # `at` is written raw only without characters JSON escapes
    data = canonical_object(body[at_end + len(mid):len(body) - len(tail)], MAX_DEPTH - 1)
    if data is None:
        return None
    try:
        raw = body.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if len(raw) > MAX_RECORD_BYTES:
        return None
    return raw, {"v": 2, "seq": seq, "kind": kind, "actor": actor, "subject": subject,
                 "authorization": authorization, "at": body[len(head):at_end], "data": data}


def _column_problem(seq: int, row: Row, record: dict[str, Any]) -> Problem:
    bad = next(i for i, f in enumerate(INDEXED_FIELDS) if row[3 + i] != record.get(f))
    name = INDEXED_FIELDS[bad]
    return Problem("record_edited", seq, name, f"column {name}={row[3 + bad]!r} but the record says "
                   f"{record.get(name)!r}")


def _may_be_signed(record: dict[str, Any]) -> bool:
    kind = record.get("kind")
    data = record.get("data")
    return kind == "account.bound" or kind in SIGNED_KINDS or (isinstance(data, dict) and "signed" in data)


def chunks(rows: Iterable[Row], size: int = CHUNK) -> Iterator[tuple[int, list[Row]]]:
    """Consecutive chunks of `size` rows, each with the sequence number its first row should hold."""
    start, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield start, batch
            start, batch = start + size, []
    if batch:
        yield start, batch


def workers_for(expected_records: int) -> int:
    """Worker processes worth starting for a log of about `expected_records` records."""
    return 1 if expected_records < PARALLEL_FROM else min(os.cpu_count() or 1, 4)
