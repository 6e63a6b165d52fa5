"""Export mode: the records of an export held against the chain, with no database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from ledger.contracts import Ledger
from ledger.verify import Divergence, StoredRecord, VerifyReport
from registry.reconcile.chain_side import read_chain
from registry.reconcile.facts import Facts, norm
from registry.reconcile.matching import cid, unclaimed
from registry.reconcile.replay import replay
from registry.reconcile.views import CHAIN_COLUMNS, Addresses, on_chain


def reconcile_export(records: Iterable[StoredRecord], ledger: Ledger) -> Iterator[Divergence]:
    """What the records say each chain-described row holds against the chain's events, column by column; then
    every event no record claims."""
    replayed = replay(records)
    chain = read_chain(ledger)
    addresses = Addresses(replayed.addresses, {})
    yield from replayed.unreadable
    for table in CHAIN_COLUMNS:
        yield from _table(table, replayed.facts, chain.facts, addresses)
    yield from unclaimed(chain.events, replayed.claims)


def _table(table: str, records: Facts, chain: Facts, addresses: Addresses) -> Iterator[Divergence]:
    for key, row in records.tables.get(table, {}).items():
        values = {c: v for c, (v, _) in row.columns.items()}
        chain_key = cid(values["license_id"]) if table == "orders" else cid(key)
        on = chain.row(table, chain_key)
        if on is None:
            continue  # not on chain yet (the exchange's outbox), or never (a negotiable offer)
        said = on_chain(table, values, addresses)
        for column, (value, source) in on.columns.items():
            if column in said and norm(said[column]) != norm(value):
                seq = row.columns[column][1].record
                yield Divergence("record_mismatch", table, key, column, None,
                                 f"record {seq} says {said[column]!r}, the chain {value!r}", record=seq, tx=source.tx)


def reconcile_into(report: VerifyReport, records: Iterable[StoredRecord], ledger: Ledger, most: int = 21) -> None:
    """After a clean log check, reconcile the export with the chain and put the first divergence (and up to
    `most - 1` more, in `also`) into `report`."""
    if not report.ok:
        return
    found = list(islice(reconcile_export(records, ledger), most))
    if found:
        report.ok, report.divergence, report.also = False, found[0], [*report.also, *found[1:]]
