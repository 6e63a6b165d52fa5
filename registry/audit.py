"""Audit: record receipts, a product's provenance trace, an account's actions, and verification.

Chain-enforced facts are read from contract events; everything else from the anchored ledger
records. Verification recomputes from the database and compares with the chain, naming the
first divergence.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from ledger.contracts import Checkpoint, Ledger
from ledger.cosignatures import cosigners_of
from ledger.errors import ChainUnavailable
from ledger.events import ChainEvent, read_events
from ledger.ids import chain_id_of
from ledger.merkle import MerkleLevels
from ledger.promises import Promise, PromiseError
from ledger.promises import status as promise_status
from ledger.records import LedgerCheckpoint, LedgerRecord, covering_checkpoint
from registry.access import sees
from registry.actor import Actor
from registry.errors import NotFound, found
from registry.models import Account, ChainTx, Product, Role
from registry.statuses import CHAIN_STATUS_NAMES
from registry.trading.destruction import open_destructions
from registry.trading.license_views import visible_license
from registry.trading.models import License

# Lifecycle stage of each chain event / record kind, in the order an auditor reads a lineage.
STAGES = {
    "ResourceRegistered": "resource",
    "AuthorizationGranted": "authorization",
    "AuthorizationRevoked": "authorization",
    "AuthorizationLimited": "authorization",
    "ProductRegistered": "product",
    "ProductMetadataUpdated": "product",
    "ProductStatusChanged": "listing",
    "PriceCapSet": "pricing",
    "FormCapSet": "pricing",
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
                 "destruction": "destruction", "notice": "review", "objection": "review", "revision": "review",
                 "correction": "review", "cancellation": "listing", "provider": "listing", "offer": "pricing",
                 "price_cap": "pricing", "price_cap_rule": "pricing", "revenue": "pricing",
                 "revenue_allowance": "pricing", "cost": "pricing", "budget_policy": "query", "total_budget": "query",
                 "model": "query", "voucher": "payment", "voucher_programme": "payment", "public_welfare": "payment",
                 "account": "account", "roles": "account", "report": "disclosure"}
"""Each ledger record kind's prefix (before the dot) → the lineage stage it belongs to."""


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
    every record; anyone else only its own acts, for an operator records about its products, and for a buyer the
    `model.fit` records of the products it holds a license on (404
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


def purchase_receipt(session: Session, actor: Actor, license_id: str, ledger: Ledger | None = None) -> dict[str, Any]:
    """The receipt (`record_receipt`) of the `license.purchase` record that made a license the actor can see: the
    buyer's proof of its purchase."""
    lic = visible_license(session, actor, license_id)
    bodies = session.exec(select(LedgerRecord.seq, LedgerRecord.body).where(LedgerRecord.kind == "license.purchase")
                          .where(LedgerRecord.actor == lic.buyer_id).where(LedgerRecord.subject == lic.product_id)
                          .order_by(col(LedgerRecord.seq).desc())).all()
    seq = next((s for s, body in bodies if json.loads(body)["data"].get("license_id") == lic.id), None)
    if seq is None:
        raise NotFound(f"license {license_id} has no purchase record")
    return record_receipt(session, actor, seq, ledger)


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
    if row.kind == "model.fit" and actor.role == Role.BUYER:  # a model's receipt, for the buyers licensing it
        return session.exec(select(License.id).where(License.product_id == row.subject,
                                                     License.buyer_id == actor.id)).first() is not None
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


# The event argument that names who acted, for events that carry one; any other event's actor is the transaction's
# signer. (OfferPublished's `buyer` is whom the offer is for, the zero address for any buyer; AuthorizationGranted's,
# AuthorizationLimited's and AuthorizationRevoked's `operator` is whom the authority's act is about.)
ACTOR_ARGS = {"ProductStatusChanged": "actor", "ProductRegistered": "operator", "LicensePurchased": "buyer",
              "LicenseRefunded": "buyer", "PaymentSplit": "payee"}
ZERO_ADDRESS = "0x" + "0" * 40


def _event_actor(ev: ChainEvent, tx_from: str) -> str:
    named = str(ev.args.get(ACTOR_ARGS.get(ev.name, ""), "") or "")
    return named if named and named.lower() != ZERO_ADDRESS else tx_from


def _product_events(ledger: Ledger, product: Product) -> list[ChainEvent]:
    """The chain events of a product's lineage: its resources, authorization, registration, listing and sales."""
    client, start = ledger.client, ledger.deployment.deployment_block
    reg, settle = ledger.registry, ledger.settlement
    events: list[ChainEvent] = []
    for rid in product.resource_ids:
        events += read_events(client, "DataRegistry", reg, start, names={"ResourceRegistered"}, topic1=chain_id_of(rid))
    events += read_events(client, "DataRegistry", reg, start, names={"AuthorizationGranted", "AuthorizationRevoked",
                                                                        "AuthorizationLimited"},
                          topic1=chain_id_of(product.authorization_id))
    events += read_events(client, "DataRegistry", reg, start,
                          names={"ProductRegistered", "ProductMetadataUpdated", "ProductStatusChanged"},
                          topic1=chain_id_of(product.id))
    events += read_events(client, "Settlement", settle, start, names={"PriceCapSet", "FormCapSet"},
                          topic1=chain_id_of(product.id))
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


# ---------------------------------------------------------------------------- witnesses

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
