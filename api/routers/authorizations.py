"""Authorizations (授权运营): grant, limit and revoke (authority); operators see their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import AuthorityCtx, ExchangeOrAuthorityCtx, ReaderCtx
from registry import authorization_limits, revocation
from registry import authorizations as svc
from registry.limits import MAX_CURSOR
from registry.models import Role
from registry.products import product_view
from registry.schemas import AuthorizationIn, AuthorizationOut, LimitIn, RevokeIn

router = APIRouter(prefix="/authorizations", tags=["authorizations"])
R = Role
READERS = (R.AUTHORITY, R.OPERATOR, R.EXCHANGE, R.AUDITOR)


@router.post("", status_code=201, response_model=AuthorizationOut,
             summary="Authorize an operator over resources (authority)")
def grant(body: AuthorizationIn, c: AuthorityCtx) -> AuthorizationOut:
    row = svc.grant_authorization(c.session, c.gateway, c.actor, body)
    c.commit()
    return svc.view_authorization(c.actor, row)


@router.get("", response_model=list[AuthorizationOut], summary="List authorizations (operators: own)")
def list_authorizations(c: ReaderCtx, operator_id: str | None = None, limit: int = Query(100, ge=1, le=500),
                        after: int = Query(0, ge=0, le=MAX_CURSOR)) -> list[AuthorizationOut]:
    return svc.list_authorizations(c.session, c.actor, operator_id=operator_id, limit=limit, after=after)


@router.get("/{ref}", response_model=AuthorizationOut, summary="One authorization by id or PXA- code")
def get_authorization(ref: str, c: ReaderCtx) -> AuthorizationOut:
    return svc.view_authorization(c.actor, svc.get_authorization(c.session, ref))


@router.post("/sweep-expired", summary="Suspend listed products whose authorization has expired (exchange, authority)")
def sweep_expired(c: ExchangeOrAuthorityCtx) -> dict[str, Any]:
    swept = revocation.suspend_expired(c.session, c.gateway, c.actor)
    c.commit()
    return {"expired": [{"authorization": svc.view_authorization(c.actor, a).model_dump(mode="json"),
                         "suspended_products": [p.id for p in products]} for a, products in swept]}


@router.post("/{ref}/revoke", summary="Revoke (authority); listed products built on it are suspended")
def revoke(ref: str, body: RevokeIn, c: AuthorityCtx) -> dict[str, Any]:
    row, suspended = revocation.revoke_authorization(c.session, c.gateway, c.actor, ref, body.reason)
    c.commit()
    return {"authorization": svc.view_authorization(c.actor, row).model_dump(mode="json"),
            "suspended_products": [product_view(p).model_dump(mode="json") for p in suspended]}


@router.post("/{ref}/limit", response_model=AuthorizationOut,
             summary="Limit (authority): an earlier end and/or fewer purposes; never wider (LimitWidens)")
def limit(ref: str, body: LimitIn, c: AuthorityCtx) -> AuthorizationOut:
    row = authorization_limits.limit_authorization(c.session, c.gateway, c.actor, ref, body)
    c.commit()
    return svc.view_authorization(c.actor, row)
