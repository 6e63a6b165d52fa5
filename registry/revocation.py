"""Revocation and expiry of authorizations, cascading to the products built on them (chain and database)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from registry.actor import Actor
from registry.authorizations import get_authorization
from registry.chain import ChainGateway, chain_time, submit
from registry.errors import RuleViolation
from registry.hashing import text_hash
from registry.models import Authorization, Product, ProductStatus, Role


def suspend_for_revocation(session: Session, gateway: ChainGateway, actor: Actor,
                           authz: Authorization) -> list[Product]:
    """Suspend every listed product built on a revoked or expired authorization (anyone may do so on chain)."""
    rows = session.exec(select(Product).where(Product.authorization_id == authz.id)
                        .where(Product.status == ProductStatus.LISTED)).all()
    for row in rows:
        row.status = ProductStatus.SUSPENDED
        row.updated_at = datetime.now(UTC)
        session.add(row)
        submit(session, gateway, subject_type="product", subject_id=row.id,
               action="product.suspend_unauthorized", payload={"product_id": row.id, "signer_id": actor.id})
    return list(rows)


def revoke_authorization(session: Session, gateway: ChainGateway, actor: Actor, ref: str,
                         reason: str) -> tuple[Authorization, list[Product]]:
    """Revoke on chain, then suspend every listed product built on it (chain and database)."""
    actor.require(Role.AUTHORITY)
    row = get_authorization(session, ref)
    if row.revoked:
        raise RuleViolation("AuthorizationAlreadyRevoked", authorizationId=hex32(chain_id_of(row.id)),
                            authorization=row.code)
    row.revoked, row.revoked_reason, row.revoked_at = True, reason, datetime.now(UTC)
    session.add(row)
    submit(session, gateway, subject_type="authorization", subject_id=row.id, action="authorization.revoke",
           payload={"authorization_id": row.id, "authority_id": actor.id, "reason_hash": text_hash(reason)})
    suspended = suspend_for_revocation(session, gateway, actor, row)
    append_record(session, kind="authorization.revoked", actor=actor.id, subject=row.id, authorization=row.id,
                  data={"code": row.code, "reason": reason, "suspended_products": [p.id for p in suspended]})
    return row, suspended


def suspend_expired(session: Session, gateway: ChainGateway,
                    actor: Actor) -> list[tuple[Authorization, list[Product]]]:
    """Suspend, on chain and here, every listed product whose (unrevoked) authorization has expired.

    The same cascade as a revocation; one `authorization.expired` record per authorization swept.
    Expiry is judged in chain time, as the contract's `suspendUnauthorized` judges it (`chain_time`).
    """
    actor.require(Role.EXCHANGE, Role.AUTHORITY)
    at = chain_time(gateway)
    expired = session.exec(
        select(Authorization).where(~col(Authorization.revoked), col(Authorization.valid_until) <= at)
        .where(col(Authorization.id).in_(select(Product.authorization_id).where(Product.status == "listed")))
        .order_by(col(Authorization.pk))).all()
    swept = []
    for authz in expired:
        suspended = suspend_for_revocation(session, gateway, actor, authz)
        append_record(session, kind="authorization.expired", actor=actor.id, subject=authz.id,
                      authorization=authz.id,
                      data={"code": authz.code, "valid_until": authz.valid_until,
                            "suspended_products": [p.id for p in suspended]})
        swept.append((authz, suspended))
    return swept
