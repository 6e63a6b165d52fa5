"""Voucher programmes (算力券/数据券): the authority's annual budget and the rules its vouchers obey, on chain."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AnyCtx, AuthorityCtx
from registry.trading import programmes as svc
from registry.trading.schemas import ProgrammeDetailOut, ProgrammeIn, ProgrammeOut
from registry.trading.vouchers import voucher_view

router = APIRouter(prefix="/voucher-programmes", tags=["trading"])


@router.post("", status_code=201, response_model=ProgrammeOut, summary="Create a voucher programme (authority)")
def create(body: ProgrammeIn, c: AuthorityCtx) -> ProgrammeOut:
    row = svc.create_programme(c.session, c.gateway, c.actor, body)
    c.commit()
    return svc.programme_view(c.session, row)


@router.get("", response_model=list[ProgrammeOut],
            summary="Voucher programmes with their use this budget year (all for overseers; a buyer its own)")
def list_programmes(c: AnyCtx) -> list[ProgrammeOut]:
    return [svc.programme_view(c.session, p) for p in svc.list_programmes(c.session, c.actor)]


@router.get("/{programme_id}", response_model=ProgrammeDetailOut,
            summary="One programme: budget, issued, remaining, redeemed and its vouchers")
def get(programme_id: str, c: AnyCtx) -> ProgrammeDetailOut:
    row = svc.visible_programme(c.session, c.actor, programme_id)
    return svc.programme_detail(c.session, row, [voucher_view(v) for v in svc.programme_vouchers(c.session, row)])
