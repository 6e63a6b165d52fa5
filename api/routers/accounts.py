"""Accounts: the exchange onboards participants; everyone can see themselves."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import AnyCtx, Ctx, ExchangeCtx, OverseerCtx
from registry import accounts as svc
from registry.models import Role
from registry.schemas import AccountCreated, AccountIn, AccountOut, RoleName

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.post("", status_code=201, response_model=AccountCreated,
             summary="Onboard a participant (exchange); the API key is returned once")
def create_account(body: AccountIn, c: ExchangeCtx) -> AccountCreated:
    row, api_key = svc.onboard_account(c.session, c.gateway, c.actor, role=Role(body.role), name=body.name)
    c.commit()
    return AccountCreated(**AccountOut.model_validate(row, from_attributes=True).model_dump(), api_key=api_key)


@router.get("/me", response_model=AccountOut, summary="The caller's own account")
def me(c: AnyCtx) -> AccountOut:
    return svc.view_account(c.actor, svc.get_account(c.session, c.actor.id))


@router.post("/me/rotate-key", response_model=AccountCreated,
             summary="Replace the caller's own API key; the old key stops working at once")
def rotate_own_key(c: AnyCtx) -> AccountCreated:
    return _rotated(c, c.actor.id)


@router.post("/{account_id}/rotate-key", response_model=AccountCreated,
             summary="Revoke an account's API key and issue a new one (exchange)")
def rotate_key(account_id: str, c: ExchangeCtx) -> AccountCreated:
    return _rotated(c, account_id)


def _rotated(c: Ctx, account_id: str) -> AccountCreated:
    row, api_key, old_hash = svc.rotate_api_key(c.session, c.actor, account_id)
    c.commit()
    c.svc.actors.pop(old_hash, None)
    return AccountCreated(**AccountOut.model_validate(row, from_attributes=True).model_dump(), api_key=api_key)


@router.get("", response_model=list[AccountOut], summary="All accounts (authority, exchange, auditor)")
def list_accounts(c: OverseerCtx, role: RoleName | None = Query(None)) -> list[AccountOut]:
    return svc.list_accounts(c.session, c.actor, Role(role) if role else None)


@router.get("/{account_id}", response_model=AccountOut, summary="One account")
def get_account(account_id: str, c: OverseerCtx) -> AccountOut:
    return svc.view_account(c.actor, svc.get_account(c.session, account_id))
