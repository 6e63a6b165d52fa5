"""Audit: record receipts, a product's provenance trace, an account's actions, and verification.

Chain-enforced facts are read from contract events; everything else from the anchored ledger
records. Verification recomputes from the database and compares with the chain, naming the
first divergence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger.contracts import Checkpoint, Ledger
from ledger.cosignatures import add_witnesses, cosigners_of
from ledger.errors import ChainUnavailable
from ledger.events import ChainEvent, read_events
from ledger.ids import chain_id_of
from ledger.merkle import MerkleLevels
from ledger.promises import Promise, PromiseError
from ledger.promises import status as promise_status
from ledger.records import LedgerCheckpoint, LedgerRecord, covering_checkpoint
from ledger.role_history import RoleHistory
from ledger.statements import statement_domain
from ledger.verify import Divergence, StoredRecord, VerifyReport, chain_checkpoints, promise_book, verify_log
from registry.access import sees
from registry.actor import Actor
from registry.consistency import compare_product
from registry.errors import NotFound, found
from registry.models import Account, Authorization, ChainTx, Product, Resource, Role
from registry.reconcile import reconcile_database
from registry.statuses import CHAIN_STATUS_NAMES
from registry.trading.destruction import open_destructions

# Lifecycle stage of each chain event / record kind, in the order an auditor reads a lineage.
STAGES = {
    "ResourceRegistered": "resource",
    "AuthorizationGranted": "authorization",
    "AuthorizationRevoked": "authorization",
    "ProductRegistered": "product",
    "ProductMetadataUpdated": "product",
    "ProductStatusChanged": "listing",
    "PriceCapSet": "pricing",
    "OfferPublished": "pricing",
    "OfferWithdrawn": "pricing",
    "LicensePurchased": "license",
    "PaymentSplit": "payment",
    "LicenseRefunded": "payment",
    "VoucherRedeemed": "payment",
}
# Record kinds are "<area>.<event>"; the area names the stage.
RECORD_STAGES = {"review": "review", "product": "listing", "authorization": "authorization", "query": "query",
                 "negotiation": "negotiation", "license": "license", "order": "license",
                 "destruction": "destruction"}


@dataclass
class TraceStep:
    """One step of a lineage: when, what, who, and where to check it."""

    at: str
    stage: str
    kind: str
    actor: dict[str, Any] | None
    detail: dict[str, Any]
    link: dict[str, Any]


@dataclass
class Trace:
    product: dict[str, Any]
    steps: list[TraceStep] = field(default_factory=list)
    open_destructions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- receipts

@lru_cache(maxsize=2)
def _levels(leaves: tuple[bytes, ...]) -> MerkleLevels:
    return MerkleLevels(list(leaves))


def record_receipt(session: Session, actor: Actor, seq: int, ledger: Ledger | None = None) -> dict[str, Any]:
    """The record, its leaf hash, the promise made when it was written (judged on `ledger`'s chain when given),
    the confirmed checkpoint covering it and the inclusion proof. Overseers see
    every record; anyone else only its own acts and, for an operator, records about its products (404
    otherwise: another buyer's purchase or query does not exist for them)."""
    row = session.get(LedgerRecord, seq)
    if row is None or not _sees_record(session, actor, row):
        raise NotFound(f"ledger record {seq} not found")
    cp = covering_checkpoint(session, seq)
    receipt: dict[str, Any] = {"seq": seq, "record": json.loads(row.body), "leaf_hash": row.leaf_hash,
                               "anchored": cp is not None, "promise": promise_view(row.promise, cp, ledger)}
    if cp is None:
        receipt["checkpoint"] = None
        receipt["inclusion_proof"] = None
        return receipt
    leaves = tuple(bytes.fromhex(h) for h in session.exec(
        select(LedgerRecord.leaf_hash).where(LedgerRecord.seq < cp.tree_size).order_by(col(LedgerRecord.seq))))
    proof = _levels(leaves).inclusion_proof(seq, cp.tree_size)
    receipt["checkpoint"] = {"index": cp.chain_index, "tree_size": cp.tree_size, "root": cp.root,
                             "tx_hash": cp.tx_hash, "block_number": cp.block_number}
    receipt["inclusion_proof"] = [p.hex() for p in proof]
    return receipt


def promise_view(text: str | None, cp: LedgerCheckpoint | None, ledger: Ledger | None) -> dict[str, Any] | None:
    """The stored promise with its deadline and, on `ledger`'s chain, `kept`, `pending` or `broken`."""
    if text is None:
        return None
    try:
        p = Promise.parse(text)
    except PromiseError:
        return None  # a damaged stored promise: verify names it (promise_broken)
    view: dict[str, Any] = {**p.as_json(), "deadline": p.deadline, "status": None}
    if ledger is not None:
        try:
            cp_time = ledger.client.block_time(cp.block_number) if cp is not None and cp.block_number is not None \
                else None
            view["status"] = promise_status(p, cp_time, ledger.client.chain_time())
        except ChainUnavailable:
            pass  # judged when the chain answers again
    return view


def _sees_record(session: Session, actor: Actor, row: LedgerRecord) -> bool:
    if sees(actor, row.actor):
        return True
    if actor.role != Role.OPERATOR:
        return False
    operator = session.exec(select(Product.operator_id).where(Product.id == row.subject)).first()
    return operator == actor.id


# ------------------------------------------------------------------------------ trace

class _Names:
    """Address/account id → {id, name, role}, cached for one request."""

    def __init__(self, session: Session) -> None:
        accounts = session.exec(select(Account)).all()
        self.by_address = {a.address.lower(): a for a in accounts}
        self.by_id = {a.id: a for a in accounts}

    def of(self, key: str | None) -> dict[str, Any] | None:
        if not key:
            return None
        acct = self.by_address.get(key.lower()) or self.by_id.get(key)
        if acct is None:
            return {"id": None, "name": None, "role": None, "address": key}
        return {"id": acct.id, "name": acct.name, "role": acct.role, "address": acct.address}


def _event_detail(ev: ChainEvent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in ev.args.items():
        if isinstance(v, bytes):
            out[k] = "0x" + v.hex()
        elif isinstance(v, list | tuple):
            out[k] = ["0x" + x.hex() if isinstance(x, bytes) else x for x in v]
        else:
            out[k] = v
    if ev.name == "ProductStatusChanged":
        out["from"] = CHAIN_STATUS_NAMES.get(int(ev.args["fromStatus"]))
        out["to"] = CHAIN_STATUS_NAMES.get(int(ev.args["toStatus"]))
    return out


def _event_actor(ev: ChainEvent, tx_from: str) -> str:
    for key in ("actor", "buyer", "operator", "recorder", "payee"):
        if key in ev.args and ev.name != "AuthorizationGranted":
            return str(ev.args[key])
    return tx_from


def _product_events(ledger: Ledger, product: Product) -> list[ChainEvent]:
    """The chain events of a product's lineage: its resources, authorization, registration, listing and sales."""
    client, start = ledger.client, ledger.deployment.deployment_block
    reg, settle = ledger.registry, ledger.settlement
    events: list[ChainEvent] = []
    for rid in product.resource_ids:
        events += read_events(client, "DataRegistry", reg, start, names={"ResourceRegistered"}, topic1=chain_id_of(rid))
    events += read_events(client, "DataRegistry", reg, start, names={"AuthorizationGranted", "AuthorizationRevoked"},
                          topic1=chain_id_of(product.authorization_id))
    events += read_events(client, "DataRegistry", reg, start,
                          names={"ProductRegistered", "ProductMetadataUpdated", "ProductStatusChanged"},
                          topic1=chain_id_of(product.id))
    events += read_events(client, "Settlement", settle, start, names={"PriceCapSet"}, topic1=chain_id_of(product.id))
    product_topic = chain_id_of(product.id)
    sales = [ev for ev in read_events(client, "Settlement", settle, start,
                                      names={"OfferPublished", "LicensePurchased", "OfferWithdrawn"})
             if ev.args.get("productId") == product_topic]
    events += sales
    for lic in (ev for ev in sales if ev.name == "LicensePurchased"):
        events += read_events(client, "Settlement", settle, start, names={"PaymentSplit", "LicenseRefunded"},
                              topic1=bytes(lic.args["licenseId"]))
    return events


def _chain_steps(session: Session, ledger: Ledger, events: list[ChainEvent], names: _Names) -> list[TraceStep]:
    """One step per event. The exchange's own transactions carry the time the fact was decided
    (microseconds), which orders them against ledger records; other senders' fall back to block time."""
    block_times = {n: _iso(datetime.fromtimestamp(ledger.client.block_time(n), UTC))
                   for n in {ev.block_number for ev in events}}
    senders = {tx: ledger.actor_of(tx) for tx in {ev.tx_hash for ev in events}}
    decided = {tx: created for tx, created in session.exec(
        select(ChainTx.tx_hash, ChainTx.created_at).where(col(ChainTx.tx_hash).in_(set(senders))))}
    return [TraceStep(at=_iso(decided[ev.tx_hash]) if ev.tx_hash in decided else block_times[ev.block_number],
                      stage=STAGES.get(ev.name, "chain"), kind=ev.name,
                      actor=names.of(_event_actor(ev, senders[ev.tx_hash])), detail=_event_detail(ev),
                      link={"tx_hash": ev.tx_hash, "block_number": ev.block_number, "log_index": ev.log_index,
                            "block_time": block_times[ev.block_number]})
            for ev in events]


def _record_steps(session: Session, product: Product, names: _Names) -> list[TraceStep]:
    """One step per ledger record about the product, its authorization or its resources."""
    subjects = [product.id, product.authorization_id, *product.resource_ids]
    records = session.exec(select(LedgerRecord).where(col(LedgerRecord.subject).in_(subjects))
                           .order_by(col(LedgerRecord.seq))).all()
    steps = []
    for rec in records:
        body = json.loads(rec.body)
        steps.append(TraceStep(at=body["at"], stage=RECORD_STAGES.get(rec.kind.split(".")[0], rec.kind), kind=rec.kind,
                               actor=names.of(rec.actor),
                               detail={**body.get("data", {}), "authorization": rec.authorization},
                               link={"record_seq": rec.seq, "receipt": f"/ledger/records/{rec.seq}"}))
    return steps


def trace_product(session: Session, ledger: Ledger, product_ref: str) -> Trace:
    """Rebuild a product's lineage from chain events and ledger records, in time order."""
    product = found(session.exec(select(Product).where((Product.id == product_ref) | (Product.code == product_ref)))
                    .first(), f"product {product_ref}")
    names = _Names(session)
    steps = (_chain_steps(session, ledger, _product_events(ledger, product), names)
             + _record_steps(session, product, names))
    steps.sort(key=lambda s: (s.at, s.link.get("block_number", 0), s.link.get("log_index", 0),
                              s.link.get("record_seq", 0)))
    summary = {"id": product.id, "code": product.code, "title": product.title, "status": product.status,
               "version": product.version, "operator": names.of(product.operator_id),
               "authorization_id": product.authorization_id, "resource_ids": product.resource_ids}
    return Trace(product=summary, steps=steps, open_destructions=open_destructions(session, product.id))


def _iso(ts: datetime) -> str:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat(timespec="microseconds")


def account_actions(session: Session, ledger: Ledger, account_id: str, limit: int = 500) -> dict[str, Any]:
    """Everything an account did: chain events of the acts it signed (relayed through the forwarder) or is named
    in, and its ledger records."""
    acct = found(session.exec(select(Account).where(Account.id == account_id)).first(), f"account {account_id}")
    records = session.exec(select(LedgerRecord).where(LedgerRecord.actor == acct.id)
                           .order_by(col(LedgerRecord.seq)).limit(limit)).all()
    actions: list[dict[str, Any]] = [
        {"kind": r.kind, "subject": r.subject, "authorization": r.authorization, "at": json.loads(r.body)["at"],
         "link": {"record_seq": r.seq, "receipt": f"/ledger/records/{r.seq}"}} for r in records]
    signed = {ev.tx_hash for ev in ledger.find_events("ProvexForwarder", "ExecutedForwardRequest",
                                                      signer=acct.address) if ev.args["success"]}
    for name, contract in (("DataRegistry", ledger.registry), ("Settlement", ledger.settlement)):
        for ev in read_events(ledger.client, name, contract, ledger.deployment.deployment_block):
            involved = {str(v).lower() for v in ev.args.values() if isinstance(v, str)}
            if ev.tx_hash in signed or acct.address.lower() in involved:
                actions.append({"kind": ev.name, "subject": None,
                                "authorization": "0x" + bytes(ev.args["authorizationId"]).hex()
                                if "authorizationId" in ev.args else None,
                                "at": None, "link": {"tx_hash": ev.tx_hash, "block_number": ev.block_number,
                                                     "log_index": ev.log_index}})
    return {"account": {"id": acct.id, "name": acct.name, "role": acct.role, "address": acct.address},
            "actions": actions}


# ----------------------------------------------------------------------- verification

def stored_records(session: Session, batch: int = 20_000) -> Iterator[StoredRecord]:
    """The record log in sequence order, streamed in keyset pages of plain rows in StoredRecord's column order
    (SQL core, no ORM objects: a million are read per verification)."""
    t = LedgerRecord.__table__  # type: ignore[attr-defined]
    query = sa.select(t.c.seq, t.c.body, t.c.leaf_hash, t.c.kind, t.c.actor, t.c.subject, t.c.authorization,
                      t.c.promise)
    conn, last, make = session.connection(), -1, StoredRecord._make
    while True:
        rows = conn.execute(query.where(t.c.seq > last).order_by(t.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from map(make, rows)
        last = rows[-1][0]


MAX_ALSO = 20


def verify_database(session: Session, ledger: Ledger,
                    progress: Callable[[str, int], None] | None = None,
                    promises: Iterable[Promise] = ()) -> VerifyReport:
    """Records against anchored checkpoints (with their promises, and the `promises` a participant collected),
    checkpoint rows against the chain, every business table against the records and the chain's events in both
    directions (`registry.reconcile`), chain-enforced rows against contract state. Stops at the first divergence
    (reconciliation keeps up to MAX_ALSO more in `also`)."""
    cps = chain_checkpoints(ledger.client, ledger)
    report = verify_log(stored_records(session), cps,
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


# ---------------------------------------------------------------------------- witnesses

def verify_with_witnesses(session: Session, ledger: Ledger, witnesses: Sequence[str] = (),
                          require_witness: bool = False,
                          progress: Callable[[str, int], None] | None = None,
                          promises: Iterable[Promise] = ()) -> VerifyReport:
    """`verify_database`, and who cosigned each checkpoint (`ledger.cosignatures`): a checkpoint an expected
    witness did not cosign is a note, or a `witness_missing` divergence when `require_witness`."""
    report = verify_database(session, ledger, progress, promises)
    return add_witnesses(report, ledger, chain_checkpoints(ledger.client, ledger), witnesses, require_witness)


def checkpoint_cosigners(session: Session, ledger: Ledger, limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` checkpoints on chain, newest first, each with its anchoring transaction and the
    witnesses that cosigned it (named when they hold an account here)."""
    anchored = sorted(read_events(ledger.client, "CheckpointLog", ledger.checkpoints,
                                  ledger.deployment.deployment_block, names={"CheckpointAnchored"}),
                      key=lambda ev: int(ev.args["index"]))[-limit:]
    events = {int(ev.args["index"]): ev for ev in anchored}
    cps = [Checkpoint(i, int(ev.args["treeSize"]), 0, bytes(ev.args["root"])) for i, ev in events.items()]
    names = _Names(session)
    return [{"index": cp.index, "tree_size": cp.tree_size, "root": cp.root,
             "tx_hash": events[cp.index].tx_hash, "block_number": events[cp.index].block_number,
             "cosigners": [names.of(w) for w in cp.cosigners]}
            for cp in reversed(cosigners_of(ledger, cps))]
