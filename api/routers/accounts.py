"""Accounts: the exchange onboards participants and may revoke their keys; only a holder gets a new key."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from api.deps import AnyCtx, Ctx, ExchangeCtx, KeyHolderCtx, OverseerCtx
from api.idempotency import NO_STORE
from ledger.statements import statement_domain
from registry import accounts as svc
from registry.models import Role
from registry.schemas import AccountCreated, AccountIn, AccountOut, RoleName

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.post("", status_code=201, response_model=AccountCreated,
             summary="Onboard a participant (exchange); the API key is returned once")
def create_account(body: AccountIn, response: Response, c: ExchangeCtx) -> AccountCreated:
    row, api_key = svc.onboard_account(c.session, c.gateway, c.actor, role=Role(body.role), name=body.name,
                                       binding=body.binding(statement_domain(c.gateway.ledger.deployment)))
    c.commit()
    response.headers["Cache-Control"] = NO_STORE
    return AccountCreated(**AccountOut.model_validate(row, from_attributes=True).model_dump(), api_key=api_key)


@router.get("/me", response_model=AccountOut, summary="The caller's own account")
def me(c: AnyCtx) -> AccountOut:
    return svc.view_account(c.actor, svc.get_account(c.session, c.actor.id))


@router.post("/me/rotate-key", response_model=AccountCreated,
             summary="Replace the caller's own API key; the old one and its portal sessions stop working at once")
def rotate_own_key(response: Response, c: AnyCtx) -> AccountCreated:
    return _rotated(response, c, c.actor.id)


@router.post("/me/recover-key", response_model=AccountCreated,
             summary="A new API key for the holder of the account's chain key, signed by that key alone (no API "
                     "key: e.g. after a revocation)")
def recover_key(response: Response, c: KeyHolderCtx) -> AccountCreated:
    return _rotated(response, c, c.actor.id)


@router.post("/{account_id}/rotate-key", response_model=AccountCreated,
             summary="Replace an API key: only its holder (the id is the caller's own); anyone else gets 403")
def rotate_key(account_id: str, response: Response, c: AnyCtx) -> AccountCreated:
    return _rotated(response, c, account_id)


@router.post("/{account_id}/revoke-key", response_model=AccountOut,
             summary="Revoke an account's API key and portal sessions, issuing none (exchange, or the holder)")
def revoke_key(account_id: str, c: AnyCtx) -> AccountOut:
    row, old_hash = svc.revoke_api_key(c.session, c.actor, account_id)
    c.commit()
    c.svc.actors.pop(old_hash, None)
    return AccountOut.model_validate(row, from_attributes=True)


def _rotated(response: Response, c: Ctx, account_id: str) -> AccountCreated:
    row, api_key, old_hash = svc.rotate_api_key(c.session, c.actor, account_id)
    c.commit()
    c.svc.actors.pop(old_hash, None)
    response.headers["Cache-Control"] = NO_STORE  # carries a secret: never cached, never replayed
    return AccountCreated(**AccountOut.model_validate(row, from_attributes=True).model_dump(), api_key=api_key)


@router.get("", response_model=list[AccountOut], summary="All accounts (authority, exchange, auditor)")
def list_accounts(c: OverseerCtx, role: RoleName | None = Query(None)) -> list[AccountOut]:
    return svc.list_accounts(c.session, c.actor, Role(role) if role else None)


@router.get("/{account_id}", response_model=AccountOut, summary="One account")
def get_account(account_id: str, c: OverseerCtx) -> AccountOut:
    return svc.view_account(c.actor, svc.get_account(c.session, account_id))
