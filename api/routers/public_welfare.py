"""Public-welfare use (公共治理、公益事业): the accounts the authority names for free licenses."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AuthorityCtx, OverseerCtx
from registry.trading import public_welfare as svc
from registry.trading.schemas import PublicWelfareUserIn, PublicWelfareUserOut

router = APIRouter(prefix="/public-welfare-users", tags=["trading"])


@router.post("", response_model=PublicWelfareUserOut,
             summary="Name a buyer account for free public-welfare use, or stop naming it (authority, on chain)")
def set_user(body: PublicWelfareUserIn, c: AuthorityCtx) -> PublicWelfareUserOut:
    row = svc.set_public_welfare_user(c.session, c.gateway, c.actor, body)
    c.commit()
    return svc.public_welfare_view(row)


@router.get("", response_model=list[PublicWelfareUserOut],
            summary="The accounts named for public-welfare use (authority, exchange, auditor)")
def list_users(c: OverseerCtx) -> list[PublicWelfareUserOut]:
    return [svc.public_welfare_view(r) for r in svc.list_public_welfare_users(c.session)]
