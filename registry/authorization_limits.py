"""Limiting an authorization: the authority shortens its validity and/or narrows its purposes, never widens it.

After the new end it expires as any authorization does (`registry.revocation.suspend_expired`, and the
contract's `isAuthorizationActive` refuses sales and queries)."""

from __future__ import annotations

import time

from sqlmodel import Session

from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from registry.actor import Actor
from registry.authorizations import get_authorization, require_active
from registry.chain import ChainGateway, submit
from registry.errors import InvalidInput, RuleViolation
from registry.hashing import canonical_hash, text_hash
from registry.models import Authorization, Role
from registry.schemas import LimitIn


def limited_terms(row: Authorization, data: LimitIn, now: int) -> tuple[int, list[str]]:
    """The new (valid_until, purposes), or the refusal: 409 `LimitWidens` for a later end, 422 at the field for
    the rest (nothing to limit, an end not earlier or already past, purposes not among the granted ones)."""
    if data.valid_until is None and data.purposes is None:
        raise InvalidInput("valid_until", "give an earlier valid_until, fewer purposes, or both")
    until = row.valid_until if data.valid_until is None else int(data.valid_until.timestamp())
    if until > row.valid_until:
        raise RuleViolation("LimitWidens", authorizationId=hex32(chain_id_of(row.id)), validUntil=until,
                            currentValidUntil=row.valid_until, authorization=row.code)
    if data.valid_until is not None and until == row.valid_until:
        raise InvalidInput("valid_until", "must be earlier than the current end; a later end is a new grant")
    if until <= now:
        raise InvalidInput("valid_until", "is already past: revoke the authorization to end it now")
    purposes = list(row.purposes) if data.purposes is None else list(dict.fromkeys(data.purposes))
    extra = [p for p in purposes if p not in row.purposes]
    if extra:
        raise InvalidInput("purposes", f"not among the granted purposes: {', '.join(extra)}; "
                                       "wider purposes are a new grant")
    if data.valid_until is None and len(purposes) == len(row.purposes):
        raise InvalidInput("purposes", "leave out at least one granted purpose, or give an earlier valid_until")
    return until, purposes


def limit_authorization(session: Session, gateway: ChainGateway, actor: Actor, ref: str,
                        data: LimitIn) -> Authorization:
    """Limit on chain (the authority's own act) and here, with an `authorization.limited` record."""
    actor.require(Role.AUTHORITY)
    row = get_authorization(session, ref)
    require_active(row)
    before = {"valid_until": row.valid_until, "purposes": list(row.purposes)}
    row.valid_until, row.purposes = limited_terms(row, data, int(time.time()))
    row.purpose_hash = canonical_hash(sorted(row.purposes))
    session.add(row)
    reason_hash = text_hash(data.reason)
    submit(session, gateway, subject_type="authorization", subject_id=row.id, action="authorization.limit",
           payload={"authorization_id": row.id, "authority_id": actor.id, "valid_until": row.valid_until,
                    "purpose_hash": row.purpose_hash, "reason_hash": reason_hash})
    append_record(session, kind="authorization.limited", actor=actor.id, subject=row.id, authorization=row.id,
                  data={"code": row.code, "reason": data.reason, "before": before,
                        "valid_until": row.valid_until, "purposes": row.purposes,
                        "purpose_hash": row.purpose_hash})
    return row
