"""Verification from the database: the record log against the checkpoints on chain, the checkpoint rows, every
business table reconciled with the records and the chain (`registry.reconcile`), and the chain-enforced rows
against contract state. Stops at the first divergence."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlmodel import Session, col, select

from ledger.contracts import Checkpoint, Ledger
from ledger.cosignatures import add_witnesses
from ledger.ids import chain_id_of
from ledger.promises import Promise
from ledger.records import LedgerCheckpoint, record_rows
from ledger.role_history import RoleHistory
from ledger.statements import statement_domain
from ledger.verify import Divergence, StoredRecord, VerifyReport, chain_checkpoints, promise_book, verify_log
from registry.consistency import compare_product
from registry.models import Authorization, Product, Resource
from registry.reconcile import reconcile_database


def stored_records(session: Session, batch: int = 20_000) -> Iterator[StoredRecord]:
    """The record log in sequence order, streamed in keyset pages of the driver's rows in StoredRecord's column
    order (no ORM or SQLAlchemy row objects)."""
    make = StoredRecord._make
    for rows in record_rows(session, StoredRecord._fields, batch):
        yield from map(make, rows)


def stored_rows(session: Session, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    """`stored_records` as the driver's plain tuples, for `verify_log` (a million are read per verification)."""
    for rows in record_rows(session, StoredRecord._fields, batch):
        yield from rows


MAX_ALSO = 20


def verify_database(session: Session, ledger: Ledger,
                    progress: Callable[[str, int], None] | None = None,
                    promises: Iterable[Promise] = ()) -> VerifyReport:
    """Records against anchored checkpoints (with their promises, and the `promises` a participant collected),
    checkpoint rows against the chain, every business table against the records and the chain's events in both
    directions (`registry.reconcile`), chain-enforced rows against contract state. Stops at the first divergence
    (reconciliation keeps up to MAX_ALSO more in `also`)."""
    cps = chain_checkpoints(ledger.client, ledger)
    report = verify_log(stored_rows(session), cps,
                        progress=(lambda n: progress("records", n)) if progress else None,
                        domain=statement_domain(ledger.deployment), roles=RoleHistory.read(ledger),
                        promises=promise_book(ledger, promises))
    if not report.ok:
        return report
    by_size = {c.tree_size: c for c in cps}
    for row in session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.confirmed))
                            .order_by(col(LedgerCheckpoint.tree_size))):
        cp = by_size.get(row.tree_size)
        if cp is None and row.chain_index is not None and row.chain_index >= len(cps):
            cp = _anchored_since(ledger, row.chain_index)  # confirmed after the chain was read above
        if cp is None or cp.tree_size != row.tree_size or cp.root.hex() != row.root:
            report.ok = False
            report.divergence = Divergence("checkpoint_mismatch", "ledger_checkpoints", row.tree_size, "root",
                                           row.chain_index, "confirmed checkpoint row does not match the chain")
            return report
    found = _reconciled(session, ledger, progress)
    if found:
        report.ok, report.divergence, report.also = False, found[0], found[1:]
        return report
    for div in _row_divergences(session, ledger, progress):
        report.ok = False
        report.divergence = div
        return report
    return report


def _reconciled(session: Session, ledger: Ledger, progress: Callable[[str, int], None] | None) -> list[Divergence]:
    """Reconciliation's divergences, each one seen on two reads in a row: rows, records and events are read one
    after another, so a write landing between the reads (a row newer than the records read, an event whose record
    came after them) can look like a divergence once; what an insider changed shows on every read."""
    def once() -> list[Divergence]:
        if not (session.new or session.dirty or session.deleted):  # nothing of the caller's to lose
            session.rollback()  # a fresh view of the database for each read
        return list(islice(reconcile_database(session, ledger, stored_records(session), progress), 1 + MAX_ALSO))

    first = once()
    if not first:
        return []
    seen = {(d.kind, d.table, d.row, d.field) for d in first}
    return [d for d in once() if (d.kind, d.table, d.row, d.field) in seen]


def _anchored_since(ledger: Ledger, index: int) -> Checkpoint | None:
    """Checkpoint `index` read from the contract now, or None when the chain has no such checkpoint."""
    return ledger.checkpoint(index) if index < ledger.checkpoint_count() else None


def _row_divergences(session: Session, ledger: Ledger,
                     progress: Callable[[str, int], None] | None) -> Iterator[Divergence]:
    for i, res in enumerate(session.exec(select(Resource).where(Resource.chain_state == "confirmed")
                                         .order_by(col(Resource.pk)))):
        cls, content, meta = ledger.resource(res.id)
        if cls.name.lower() != res.classification:
            yield Divergence("row_mismatch", "resources", res.pk, "classification", None,
                             f"database {res.classification}, chain {cls.name.lower()}")
        if content.hex() != res.content_hash:
            yield Divergence("row_mismatch", "resources", res.pk, "content_hash", None, "differs from chain")
        if meta.hex() != res.metadata_hash:
            yield Divergence("row_mismatch", "resources", res.pk, "metadata_hash", None, "differs from chain")
        if progress:
            progress("resources", i + 1)
    for authz in session.exec(select(Authorization).where(Authorization.chain_state == "confirmed")
                              .order_by(col(Authorization.pk))):
        on_chain = ledger.raw_call("DataRegistry", "authorization", chain_id_of(authz.id))
        if bool(on_chain[2]) != authz.revoked and authz.chain_state == "confirmed":
            yield Divergence("row_mismatch", "authorizations", authz.pk, "revoked", None,
                             f"database revoked={authz.revoked}, chain revoked={bool(on_chain[2])}")
        if (int(on_chain[3]), int(on_chain[4])) != (authz.valid_from, authz.valid_until):
            yield Divergence("row_mismatch", "authorizations", authz.pk, "valid_until", None,
                             "validity window differs from chain")
    for i, prod in enumerate(session.exec(select(Product).where(Product.chain_state == "confirmed")
                                          .order_by(col(Product.pk)))):
        cmp = compare_product(ledger, prod)
        if not cmp.agree:
            yield Divergence("row_mismatch", "products", prod.pk, cmp.mismatches[0], None,
                             f"database {cmp.database.get(cmp.mismatches[0])}, chain "
                             f"{(cmp.chain or {}).get(cmp.mismatches[0])}")
        if progress:
            progress("products", i + 1)


def verify_with_witnesses(session: Session, ledger: Ledger, witnesses: Sequence[str] = (),
                          require_witness: bool = False,
                          progress: Callable[[str, int], None] | None = None,
                          promises: Iterable[Promise] = ()) -> VerifyReport:
    """`verify_database`, and who cosigned each checkpoint (`ledger.cosignatures`): a checkpoint an expected
    witness did not cosign is a note, or a `witness_missing` divergence when `require_witness`."""
    report = verify_database(session, ledger, progress, promises)
    return add_witnesses(report, ledger, chain_checkpoints(ledger.client, ledger), witnesses, require_witness)


