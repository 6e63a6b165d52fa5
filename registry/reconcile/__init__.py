"""Reconciliation: the business tables, the record log and the chain, compared in both directions.

`replay` folds the verified record log into what each business row must hold; `chain_side` folds the trusted
contracts' events into what the chain says; `tables` compares the database with both, column by column;
`matching` pairs every contract event with the record that describes it, so activity that exists only on
chain is a divergence; `export` does the same for an export folder (records and chain, no database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from sqlmodel import Session

from ledger.contracts import Ledger
from ledger.verify import Divergence, StoredRecord
from registry.reconcile.chain_side import read_chain
from registry.reconcile.export import reconcile_export
from registry.reconcile.matching import unclaimed
from registry.reconcile.replay import replay
from registry.reconcile.tables import compare_tables

__all__ = ["reconcile_database", "reconcile_export"]


def reconcile_database(session: Session, ledger: Ledger, records: Iterable[StoredRecord],
                       progress: Callable[[str, int], None] | None = None) -> Iterator[Divergence]:
    """Every business row against the (verified) records and the chain, then every event against the records;
    divergences in that order."""
    replayed = replay(records)
    chain = read_chain(ledger)
    yield from replayed.unreadable
    yield from compare_tables(session, replayed, chain, progress)
    yield from unclaimed(chain.events, replayed.claims)
