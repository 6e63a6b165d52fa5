"""Declared costs (the database side): the product's operator declares a cost or corrects an earlier entry, each
one a signed `cost.declared` record and a new `declared_costs` row; and the readers of a product's asset ledger
(its operator, the authority, the exchange, auditors)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.records import LedgerRecord, append_record
from registry.actor import Actor
from registry.assets.book import COST_KIND, LEDGER_KINDS, ledger_of
from registry.assets.models import DeclaredCost
from registry.assets.schemas import AssetLedgerOut, CostIn, CostOut
from registry.errors import Conflict, Forbidden, InvalidInput
from registry.models import Product, Role
from registry.products import get_product
from registry.reports.period import CST, FIRST_YEAR
from registry.signing import new_id

READERS = (Role.OPERATOR, Role.AUTHORITY, Role.EXCHANGE, Role.AUDITOR)


def readable_product(session: Session, actor: Actor, ref: str) -> Product:
    """The product, for its own operator and the overseers (authority, exchange, auditor); 403 for others."""
    actor.require(*READERS)
    product = get_product(session, ref)
    if actor.role == Role.OPERATOR and product.operator_id != actor.id:
        raise Forbidden(f"product {ref} is another operator's: only its own operator sees its costs and revenue")
    return product


def _check(session: Session, product: Product, data: CostIn) -> None:
    if data.incurred_on > datetime.now(CST).date():
        raise InvalidInput("incurred_on", f"{data.incurred_on} is in the future")
    if data.incurred_on.year < FIRST_YEAR:
        raise InvalidInput("incurred_on", f"must be in {FIRST_YEAR} or later")
    if data.amount_fen == 0 and data.corrects is None:
        raise InvalidInput("amount_fen", "must be at least 1 fen (0 only withdraws an entry, by correcting it)")
    if data.corrects is None:
        return
    prior = session.exec(select(DeclaredCost).where(DeclaredCost.id == data.corrects)).first()
    if prior is None or prior.product_id != product.id:
        raise InvalidInput("corrects", f"no cost entry {data.corrects} of product {product.code}")
    later = session.exec(select(DeclaredCost.id).where(DeclaredCost.corrects_id == prior.id)).first()
    if later is not None:
        raise InvalidInput("corrects", f"entry {prior.id} was already corrected by {later}: correct that one")


def declare_cost(session: Session, actor: Actor, ref: str, data: CostIn) -> DeclaredCost:
    """The product's own operator declares a cost (or corrects one): a new row and its signed record."""
    actor.require(Role.OPERATOR)
    product = get_product(session, ref)
    if product.operator_id != actor.id:
        raise Forbidden(f"product {ref} is another operator's: only its own operator declares its costs")
    _check(session, product, data)
    row = DeclaredCost(id=new_id(session), product_id=product.id, operator_id=actor.id,
                       incurred_on=data.incurred_on.isoformat(), category=data.category.value,
                       amount_fen=data.amount_fen, description=data.description, evidence_hash=data.evidence_hash,
                       corrects_id=data.corrects, record_seq=0)
    rec = append_record(session, kind=COST_KIND, actor=actor.id, subject=product.id,
                        data={"cost_id": row.id, "incurred_on": row.incurred_on, "category": row.category,
                              "amount_fen": row.amount_fen, "description": row.description,
                              "evidence_hash": row.evidence_hash, "corrects": row.corrects_id})
    row.record_seq = rec.seq
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same entry corrected concurrently: the unique corrects_id refuses one
        raise Conflict(f"entry {data.corrects} was corrected by another request just now: list the costs again") \
            from exc
    return row


def costs_of(session: Session, product: Product) -> list[CostOut]:
    """The product's cost entries, oldest first, each with the entry correcting it (if any)."""
    rows = list(session.exec(select(DeclaredCost).where(DeclaredCost.product_id == product.id)
                             .order_by(col(DeclaredCost.pk))))
    by = {r.corrects_id: r.id for r in rows if r.corrects_id}
    return [cost_view(r, by.get(r.id)) for r in rows]


def cost_view(row: DeclaredCost, corrected_by: str | None = None) -> CostOut:
    return CostOut(id=row.id, product_id=row.product_id, operator_id=row.operator_id, incurred_on=row.incurred_on,
                   category=row.category, amount_fen=row.amount_fen, description=row.description,
                   evidence_hash=row.evidence_hash, corrects_id=row.corrects_id, corrected_by=corrected_by,
                   record_seq=row.record_seq, created_at=row.created_at)


def product_records(session: Session, product: Product) -> list[tuple[dict[str, Any], str, str]]:
    """The product's records the asset ledger reads (costs, settlements, offers): parsed, as stored, leaf hash."""
    L = LedgerRecord
    stmt = (select(L.body, L.leaf_hash).where(L.subject == product.id).where(col(L.kind).in_(LEDGER_KINDS))
            .order_by(col(L.seq)))
    return [(json.loads(body), body, leaf) for body, leaf in session.exec(stmt)]


def asset_ledger(session: Session, actor: Actor, ref: str, year: int | None = None) -> AssetLedgerOut:
    """The product's cost and revenue ledger (`registry.assets.book`), for its operator and the overseers."""
    product = readable_product(session, actor, ref)
    return AssetLedgerOut.of(product, ledger_of([r for r, _, _ in product_records(session, product)], year))
