"""Tamper detection: every kind of edit to the record log is found and named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger.anchor import Anchorer, AnchorPolicy
from ledger.canonical import canonical_json
from ledger.merkle import leaf_hash
from ledger.records import LedgerRecord
from ledger.runtime import ChainRuntime
from ledger.verify import StoredRecord, chain_checkpoints, export_log, read_export, verify_log
from registry.verification import stored_records
from tests.ledger.conftest import append


def stored(engine: Engine) -> list[StoredRecord]:
    """The log as the database verifier reads it."""
    with Session(engine) as s:
        return list(stored_records(s))


def verify(rt: ChainRuntime, engine: Engine, workers: int = 1):  # type: ignore[no-untyped-def]
    assert rt.ledger is not None  # chunks of 7 records: chunk edges fall inside checkpoints and tampers
    return verify_log(stored(engine), chain_checkpoints(rt.ledger.client, rt.ledger), workers=workers, chunk=7)


@pytest.fixture
def anchored(rt: ChainRuntime, engine: Engine) -> Engine:
    assert rt.ledger and rt.recorder
    append(engine, 40)
    Anchorer(engine, rt.ledger, rt.recorder, AnchorPolicy(batch_size=16)).drain()
    append(engine, 3)  # an unanchored tail is reported, not a divergence
    return engine


def rewrite(engine: Engine, seq: int, body: dict[str, object], fix_hash: bool) -> None:
    raw = canonical_json(body)
    values: dict[str, object] = {"body": raw.decode()}
    if fix_hash:
        values["leaf_hash"] = leaf_hash(raw).hex()
    with engine.begin() as conn:
        conn.execute(sa.update(LedgerRecord).where(LedgerRecord.seq == seq).values(**values))  # type: ignore[arg-type]


def body_of(engine: Engine, seq: int) -> dict[str, object]:
    import json

    with Session(engine) as s:
        row = s.get(LedgerRecord, seq)
        assert row is not None
        return dict(json.loads(row.body))


@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "two-processes"])
def test_intact_log_verifies(rt: ChainRuntime, anchored: Engine, workers: int) -> None:
    report = verify(rt, anchored, workers)
    assert report.ok and report.divergence is None
    assert (report.records, report.anchored, report.unanchored) == (43, 40, 3)
    assert report.checkpoints == 3


def edit_data_and_hash(e: Engine) -> None:
    rewrite(e, 20, {**body_of(e, 20), "data": {"i": 999}}, fix_hash=True)


def edit_data_only(e: Engine) -> None:
    rewrite(e, 5, {**body_of(e, 5), "data": {"i": 999}}, fix_hash=False)


def edit_column(e: Engine) -> None:
    with e.begin() as c:
        c.execute(sa.update(LedgerRecord).where(LedgerRecord.seq == 7).values(actor="someone-else"))  # type: ignore[arg-type]


def delete_row(e: Engine) -> None:
    with e.begin() as c:
        c.execute(sa.delete(LedgerRecord).where(LedgerRecord.seq == 12))  # type: ignore[arg-type]


def delete_tail(e: Engine) -> None:
    with e.begin() as c:
        c.execute(sa.delete(LedgerRecord).where(LedgerRecord.seq >= 30))  # type: ignore[arg-type]


def swap_rows(e: Engine) -> None:
    a, b = body_of(e, 3), body_of(e, 4)
    rewrite(e, 3, b, fix_hash=True)
    rewrite(e, 4, a, fix_hash=True)


def swap_and_renumber(e: Engine) -> None:
    """A careful forger: same subjects, seq fields and leaf hashes rewritten; only the root betrays it."""
    a, b = body_of(e, 3), body_of(e, 6)
    rewrite(e, 3, {**b, "seq": 3}, fix_hash=True)
    rewrite(e, 6, {**a, "seq": 6}, fix_hash=True)


def insert_row(e: Engine) -> None:
    with e.begin() as c:  # shift the tail up by one, then forge a record into the gap
        for seq in range(42, 9, -1):
            c.execute(sa.update(LedgerRecord).where(LedgerRecord.seq == seq).values(seq=seq + 1))  # type: ignore[arg-type]
    rewrite_new = {**body_of(e, 11), "seq": 10, "data": {"forged": True}}
    raw = canonical_json(rewrite_new)
    with Session(e) as s:
        src = s.get(LedgerRecord, 11)
        assert src is not None
        s.add(LedgerRecord(seq=10, kind=src.kind, actor=src.actor, subject=src.subject, body=raw.decode(),
                           leaf_hash=leaf_hash(raw).hex(), created_at=src.created_at))
        s.commit()


CASES: list[tuple[Callable[[Engine], None], str, int | None, str | None]] = [
    (edit_data_and_hash, "root_mismatch", None, None),
    (edit_data_only, "record_edited", 5, "body"),
    (edit_column, "record_edited", 7, "actor"),
    (delete_row, "record_deleted", 12, "seq"),
    (delete_tail, "record_deleted", 30, None),
    (swap_rows, "record_reordered", 3, "seq"),
    (swap_and_renumber, "root_mismatch", None, None),
    (insert_row, "record_reordered", 11, "seq"),
]


# Worker processes for big logs: the same answers, for a tamper of each kind of divergence.
PARALLEL = {edit_data_only, delete_row, swap_and_renumber, insert_row}
RUNS = [(*c, 1) for c in CASES] + [(*c, 2) for c in CASES if c[0] in PARALLEL]


@pytest.mark.parametrize(("tamper", "kind", "row", "field", "workers"), RUNS,
                         ids=[f"{r[0].__name__}-{'inline' if r[4] == 1 else 'two-processes'}" for r in RUNS])
def test_tampering_is_detected_and_named(rt: ChainRuntime, anchored: Engine, tamper: Callable[[Engine], None],
                                         kind: str, row: int | None, field: str | None, workers: int) -> None:
    tamper(anchored)
    report = verify(rt, anchored, workers)
    assert not report.ok and report.divergence is not None
    d = report.divergence
    assert (d.kind, d.row, d.field) == (kind, row, field), d
    if kind == "root_mismatch":
        assert d.checkpoint is not None and "records" in d.detail


# The same tampers in an export (records.jsonl only: no indexed columns, no stored leaf hashes), handed over by
# the insider who made them. A column edit does not reach an export: the body is the record.
EXPORT_CASES: list[tuple[Callable[[Engine], None], str, int | None]] = [
    (edit_data_and_hash, "root_mismatch", None),
    (edit_data_only, "root_mismatch", None),
    (delete_row, "record_deleted", 12),
    (delete_tail, "record_deleted", 30),
    (swap_rows, "record_deleted", 3),  # line 3 says it is record 4
    (swap_and_renumber, "root_mismatch", None),
    (insert_row, "record_inserted", 11),  # line 11 says it is record 10
]


@pytest.mark.parametrize(("tamper", "kind", "row"), EXPORT_CASES, ids=[c[0].__name__ for c in EXPORT_CASES])
def test_tampering_is_named_in_an_export_too(rt: ChainRuntime, anchored: Engine, tamper: Callable[[Engine], None],
                                             kind: str, row: int | None, tmp_path: Path) -> None:
    assert rt.ledger is not None
    tamper(anchored)
    export_log(stored(anchored), "{}", tmp_path)
    report = verify_log(read_export(tmp_path), chain_checkpoints(rt.ledger.client, rt.ledger))
    assert not report.ok and report.divergence is not None
    assert (report.divergence.kind, report.divergence.row) == (kind, row), report.divergence


def test_export_then_verify_without_database(rt: ChainRuntime, anchored: Engine, tmp_path: Path) -> None:
    assert rt.ledger is not None
    folder = tmp_path / "export"
    assert export_log(stored(anchored), "{}", folder) == 43
    cps = chain_checkpoints(rt.ledger.client, rt.ledger)
    assert verify_log(read_export(folder), cps).ok
    lines = (folder / "records.jsonl").read_text().splitlines()
    lines[2], lines[1] = lines[1], lines[2]
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n")
    report = verify_log(read_export(folder), cps)
    assert not report.ok and report.divergence is not None and report.divergence.row == 1
