"""Who sees what, and whether a product may be sold or served: each rule written once, here.

The overseers (exchange, authority, auditor) see everything. Every other participant sees its own rows
(the buyer its orders and licenses, the holder its vouchers, the parties their negotiations) and, of
the products, the listed ones and those in their public notice and, for an operator, its own.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from ledger.ids import chain_id_of, hex32
from registry.actor import Actor
from registry.errors import RuleViolation
from registry.models import Authorization, AuthorizationStatus, Product, ProductStatus, Role
from registry.statuses import authorization_status

T = TypeVar("T")

OVERSEERS: tuple[Role, ...] = (Role.EXCHANGE, Role.AUTHORITY, Role.AUDITOR)


def oversees(actor: Actor) -> bool:
    """Exchange, authority and auditor see every row."""
    return actor.role in OVERSEERS


def require_overseer(actor: Actor) -> None:
    """Forbidden (naming the overseeing roles) unless the actor is one."""
    actor.require(*OVERSEERS)


def sees(actor: Actor, *parties: str | None) -> bool:
    """An overseer, or one of the row's own parties (account ids)."""
    return oversees(actor) or actor.id in parties


def own_rows(stmt: SelectOfScalar[T], actor: Actor, *party_columns: Any) -> SelectOfScalar[T]:
    """`stmt` narrowed to the rows `sees` lets the actor see: all for an overseer, else its own."""
    if oversees(actor):
        return stmt
    return stmt.where(sa.or_(*(col(c) == actor.id for c in party_columns)))


PUBLIC_STATUSES = (ProductStatus.LISTED, ProductStatus.IN_NOTICE)  # a notice is public by definition


def sees_product(actor: Actor, status: str, operator_id: str) -> bool:
    """Overseers see every product; an operator the public ones (listed, in notice) and its own; anyone else
    the public ones."""
    if oversees(actor):
        return True
    return status in PUBLIC_STATUSES or (actor.role == Role.OPERATOR and operator_id == actor.id)


def product_visibility(actor: Actor) -> Literal["all", "public", "public_or_own"]:
    """Which products `sees_product` lets the actor see: all, the public ones, or those and the operator's own."""
    if oversees(actor):
        return "all"
    return "public_or_own" if actor.role == Role.OPERATOR else "public"


def visible_products(actor: Actor) -> sa.ColumnElement[bool] | None:
    """`sees_product` as a WHERE clause on the products table (None: no restriction)."""
    visibility = product_visibility(actor)
    if visibility == "all":
        return None
    listed = col(Product.status).in_(PUBLIC_STATUSES)
    if visibility == "public_or_own":
        return sa.or_(listed, col(Product.operator_id) == actor.id)
    return listed


def require_servable(session: Session, product: Product) -> None:
    """The single gate for selling and serving a product: the contract's `ProductNotTradable` unless it
    is listed and its authorization is in force (the same rule as the contract's `isTradable`).

    Revocation and suspension change the status (on chain and here). An authorization that merely
    expires changes nothing until someone calls `suspendUnauthorized`, so its window is checked too.
    """
    if product.status == ProductStatus.LISTED:
        authz = session.exec(select(Authorization).where(Authorization.id == product.authorization_id)).first()
        if authz is not None and authorization_status(authz) == AuthorizationStatus.ACTIVE:
            return
    raise RuleViolation("ProductNotTradable", productId=hex32(chain_id_of(product.id)), product=product.code,
                        status=product.status)
