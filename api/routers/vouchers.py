"""Vouchers (算力券/数据券): issued and funded on chain by the authority for a buyer."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AnyCtx, AuthorityCtx
from registry.trading import vouchers as svc
from registry.trading.schemas import VoucherIn, VoucherOut

router = APIRouter(prefix="/vouchers", tags=["trading"])


@router.post("", status_code=201, response_model=VoucherOut, summary="Issue a voucher to a buyer (authority)")
def issue(body: VoucherIn, c: AuthorityCtx) -> VoucherOut:
    row = svc.issue_voucher(c.session, c.gateway, c.actor, body)
    c.commit()
    return svc.voucher_view(row)


@router.post("/{voucher_id}/reclaim", response_model=VoucherOut,
             summary="Take back the unspent part of an expired voucher (authority): to its own account and to the "
                     "programme's budget of the year the voucher was issued in")
def reclaim(voucher_id: str, c: AuthorityCtx) -> VoucherOut:
    row = svc.reclaim_voucher(c.session, c.gateway, c.actor, voucher_id)
    c.commit()
    return svc.voucher_view(row)


@router.get("", response_model=list[VoucherOut], summary="My vouchers (all for authority, exchange, auditor)")
def list_vouchers(c: AnyCtx) -> list[VoucherOut]:
    return [svc.voucher_view(v) for v in svc.list_vouchers(c.session, c.actor)]


@router.get("/{voucher_id}", response_model=VoucherOut, summary="One voucher")
def get(voucher_id: str, c: AnyCtx) -> VoucherOut:
    return svc.voucher_view(svc.visible_voucher(c.session, c.actor, voucher_id))
