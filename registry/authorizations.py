"""Authorizations (授权运营): authority -> operator over resources; revocation cascades to products."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from registry.access import OVERSEERS, oversees, own_rows, sees
from registry.actor import Actor
from registry.chain import ChainGateway, submit
from registry.codes import readable_code
from registry.errors import InvalidInput, NotFound, RuleViolation, found
from registry.hashing import canonical_hash
from registry.models import Account, Authorization, AuthorizationStatus, ChainState, Resource, Role
from registry.schemas import AuthorizationIn, AuthorizationOut
from registry.signing import new_id
from registry.statuses import authorization_status, level

READERS = (*OVERSEERS, Role.OPERATOR)


def require_active(row: Authorization) -> None:
    """The contract's AuthorizationInactive rule, checked early."""
    now = int(time.time())
    if authorization_status(row, now) != AuthorizationStatus.ACTIVE:
        raise RuleViolation("AuthorizationInactive", authorizationId=hex32(chain_id_of(row.id)),
                            revoked=row.revoked, validFrom=row.valid_from, validUntil=row.valid_until,
                            nowTs=now)


def check_resource_levels(resources: list[Resource], max_classification: str) -> None:
    """CoreDataNotTradable and ClassificationExceeded, as the contract names them."""
    for r in resources:
        if r.classification == "core":
            raise RuleViolation("CoreDataNotTradable", resourceId=hex32(chain_id_of(r.id)), resource=r.code)
        if level(r.classification) > level(max_classification):
            raise RuleViolation("ClassificationExceeded", resourceId=hex32(chain_id_of(r.id)),
                                classification=int(level(r.classification)),
                                maxClassification=int(level(max_classification)), resource=r.code)


def load_resources(session: Session, ids: list[str], field: str) -> list[Resource]:
    if len(set(ids)) != len(ids):
        raise InvalidInput(field, "duplicate resource ids")
    rows = {r.id: r for r in session.exec(select(Resource).where(col(Resource.id).in_(ids))).all()}
    for i, rid in enumerate(ids):
        if rid not in rows:
            raise InvalidInput(f"{field}[{i}]", f"unknown resource {rid}")
    return [rows[i] for i in ids]


def grant_authorization(session: Session, gateway: ChainGateway, actor: Actor,
                        data: AuthorizationIn) -> Authorization:
    """Authorize an operator; the authority's key grants it operator status on chain first if needed."""
    actor.require(Role.AUTHORITY)
    operator = session.exec(select(Account).where(Account.id == data.operator_id)).first()
    if operator is None or operator.role != Role.OPERATOR:
        raise InvalidInput("operator_id", f"{data.operator_id} is not an operator account")
    resources = load_resources(session, data.resource_ids, "resource_ids")
    check_resource_levels(resources, data.max_classification)
    aid = new_id(session)
    row = Authorization(id=aid, code=f"tmp-{aid[:28]}", authority_id=actor.id, operator_id=operator.id,
                        resource_ids=list(data.resource_ids), purposes=list(data.purposes),
                        purpose_hash=canonical_hash(sorted(data.purposes)),
                        valid_from=int(data.valid_from.timestamp()), valid_until=int(data.valid_until.timestamp()),
                        max_classification=data.max_classification)
    session.add(row)
    session.flush()
    assert row.pk is not None
    row.code = readable_code("PXA", row.pk)
    submit(session, gateway, subject_type="authorization", subject_id=row.id, action="authorization.grant",
           payload={"authorization_id": row.id, "authority_id": actor.id, "operator_id": operator.id,
                    "resource_ids": row.resource_ids, "purpose_hash": row.purpose_hash,
                    "valid_from": row.valid_from, "valid_until": row.valid_until,
                    "max_classification": row.max_classification})
    return row


def get_authorization(session: Session, ref: str) -> Authorization:
    column = Authorization.code if ref.startswith("PXA-") else Authorization.id
    return found(session.exec(select(Authorization).where(column == ref)).first(), f"authorization {ref}")


def view_authorization(actor: Actor, row: Authorization) -> AuthorizationOut:
    """Overseers see every authorization, an operator its own."""
    actor.require(*READERS)
    if not sees(actor, row.operator_id):
        raise NotFound(f"authorization {row.code} not found")
    status = "pending" if row.chain_state == ChainState.PENDING and not row.revoked else authorization_status(row).value
    data = row.model_dump()
    data.update(status=status, valid_from=datetime.fromtimestamp(row.valid_from, UTC),
                valid_until=datetime.fromtimestamp(row.valid_until, UTC))
    return AuthorizationOut.model_validate(data)


def list_authorizations(session: Session, actor: Actor, *, operator_id: str | None = None,
                        limit: int = 100, after: int = 0) -> list[AuthorizationOut]:
    actor.require(*READERS)
    stmt = select(Authorization).where(col(Authorization.pk) > after).order_by(col(Authorization.pk)).limit(limit)
    stmt = own_rows(stmt, actor, Authorization.operator_id)
    if oversees(actor) and operator_id:
        stmt = stmt.where(Authorization.operator_id == operator_id)
    return [view_authorization(actor, r) for r in session.exec(stmt).all()]
