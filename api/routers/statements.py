"""Money views: the caller's statement and on-chain balance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import AnyCtx
from registry.trading.statements import Period, chain_balance, statement

router = APIRouter(tags=["trading"])


@router.get("/accounts/me/statement", summary="Income and spending by product and period, vouchers, receipts")
def my_statement(c: AnyCtx, period: Period = Query("month")) -> dict[str, Any]:
    return statement(c.session, c.actor, period)


@router.get("/accounts/me/balance", summary="The caller's settlement-token balance on chain (fen)")
def my_balance(c: AnyCtx) -> dict[str, Any]:
    return chain_balance(c.gateway, c.actor)
