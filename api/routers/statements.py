"""Money views: the caller's statement and on-chain balance; a dev-only faucet for test fen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from api.deps import Ctx, ctx
from api.settings import get_settings
from registry.errors import Forbidden
from registry.models import Role
from registry.trading.schemas import MintIn
from registry.trading.statements import Period, chain_balance, mint_test_fen, statement

router = APIRouter(tags=["trading"])
R = Role


@router.get("/accounts/me/statement", summary="Income and spending by product and period, vouchers, receipts")
def my_statement(period: Period = Query("month"), c: Ctx = Depends(ctx())) -> dict[str, Any]:
    return statement(c.session, c.actor, period)


@router.get("/accounts/me/balance", summary="The caller's settlement-token balance on chain (fen)")
def my_balance(c: Ctx = Depends(ctx())) -> dict[str, Any]:
    return chain_balance(c.gateway, c.actor)


@router.post("/dev/mint", summary="Mint test fen to an account (exchange; PROVEX_ENV=dev only)")
def mint(body: MintIn, c: Ctx = Depends(ctx(R.EXCHANGE))) -> dict[str, Any]:
    if get_settings().env != "dev":
        raise Forbidden("minting test fen exists on dev chains only (PROVEX_ENV=dev)")
    return mint_test_fen(c.session, c.gateway, c.actor, body.account_id, body.amount_fen)
