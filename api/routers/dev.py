"""Dev-only routes: a faucet for test fen. `create_app` mounts this router only when PROVEX_ENV=dev."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ExchangeCtx
from registry.accounts import get_account
from registry.trading.schemas import MintIn

router = APIRouter(tags=["trading"])


@router.post("/dev/mint", summary="Mint test fen to an account (exchange; PROVEX_ENV=dev only)")
def mint(body: MintIn, c: ExchangeCtx) -> dict[str, Any]:
    account = get_account(c.session, body.account_id)
    receipt = c.gateway.ledger.mint(c.gateway.deployer, account.address, body.amount_fen)
    return {"account_id": account.id, "balance_fen": c.gateway.ledger.balance_of(account.address),
            "tx_hash": receipt.tx_hash}
