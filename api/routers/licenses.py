"""Licenses: terms, usage and budget left, metered charges, the purchase's ledger receipt, refund inside the window,
release after it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import AnyCtx, BuyerOrExchangeCtx, PartyCtx
from api.routers.audit import RecordReceipt
from registry.audit import purchase_receipt
from registry.trading import license_views as svc
from registry.trading.models import Use
from registry.trading.orders import refund_license, release_license
from registry.trading.schemas import ChargeOut, LicenseOut

router = APIRouter(prefix="/licenses", tags=["trading"])


@router.get("", response_model=list[LicenseOut], summary="My licenses (all for exchange, authority, auditor)")
def list_licenses(c: AnyCtx, use: Use | None = Query(None, description="only this use category (the authority "
                                                   "audits public_welfare licenses)")) -> list[LicenseOut]:
    return [svc.license_view(x) for x in svc.list_licenses(c.session, c.actor, use)]


@router.get("/{license_id}", response_model=LicenseOut, summary="One license")
def get(license_id: str, c: AnyCtx) -> LicenseOut:
    return svc.license_view(svc.visible_license(c.session, c.actor, license_id))


@router.get("/{license_id}/charges", response_model=list[ChargeOut], summary="Each query charged to the license")
def charges(license_id: str, c: AnyCtx) -> list[ChargeOut]:
    lic = svc.visible_license(c.session, c.actor, license_id)
    return [svc.charge_view(x) for x in svc.list_charges(c.session, lic)]


@router.get("/{license_id}/receipt", response_model=RecordReceipt,
            summary="The ledger receipt of the license's purchase: its record, checkpoint and inclusion proof")
def receipt(license_id: str, c: AnyCtx) -> dict[str, Any]:
    return purchase_receipt(c.session, c.actor, license_id, c.gateway.ledger)


@router.post("/{license_id}/refund", response_model=LicenseOut,
             summary="Refund an unused escrowed license inside its window (its buyer, or the exchange)")
def refund(license_id: str, c: BuyerOrExchangeCtx) -> LicenseOut:
    row = refund_license(c.session, c.gateway, c.actor, license_id)
    c.commit()
    return svc.license_view(row)


@router.post("/{license_id}/release", response_model=LicenseOut,
             summary="Pay out an escrowed license after its refund window (any participant but the auditor)")
def release(license_id: str, c: PartyCtx) -> LicenseOut:
    row = release_license(c.session, c.gateway, c.actor, license_id)
    c.commit()
    return svc.license_view(row)
