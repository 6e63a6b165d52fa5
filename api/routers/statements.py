"""Money views: the caller's statement and on-chain balance; a dev-only faucet for test fen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from api.deps import Ctx, ctx
from api.settings import get_settings
from ledger.errors import ChainUnavailable
from registry.accounts import get_account
from registry.errors import ChainUnavailableError, Forbidden
from registry.models import Role
from registry.trading.schemas import MintIn
from registry.trading.statements import Period, statement

router = APIRouter(tags=["trading"])
R = Role


@router.get("/accounts/me/statement", summary="Income and spending by product and period, vouchers, receipts")
def my_statement(period: Period = Query("month"), c: Ctx = Depends(ctx())) -> dict[str, Any]:
    return statement(c.session, c.actor, period)


@router.get("/accounts/me/balance", summary="The caller's settlement-token balance on chain (fen)")
def my_balance(c: Ctx = Depends(ctx())) -> dict[str, Any]:
    try:
        balance = c.gateway.ledger.balance_of(c.actor.address)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(str(exc)) from exc
    return {"account_id": c.actor.id, "address": c.actor.address, "balance_fen": balance}


@router.post("/dev/mint", summary="Mint test fen to an account (exchange; PROVEX_ENV=dev only)")
def mint(body: MintIn, c: Ctx = Depends(ctx(R.EXCHANGE))) -> dict[str, Any]:
    if get_settings().env != "dev":
        raise Forbidden("minting test fen exists on dev chains only (PROVEX_ENV=dev)")
    minter = c.gateway.governance  # the dev token's minter; the deployer holds no role
    if minter is None or not c.gateway.ledger.deployment.dev_token:
        raise Forbidden("this deployment settles in an existing ERC-20: nothing here can mint")
    account = get_account(c.session, body.account_id)
    try:
        receipt = c.gateway.ledger.mint(minter, account.address, body.amount_fen)
        balance = c.gateway.ledger.balance_of(account.address)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(str(exc)) from exc
    return {"account_id": account.id, "balance_fen": balance, "tx_hash": receipt.tx_hash}
