"""Dev-only routes: a faucet for test fen. `create_app` mounts this router only when PROVEX_ENV=dev."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ExchangeCtx
from registry.trading.schemas import MintIn
from registry.trading.statements import mint_test_fen

router = APIRouter(tags=["trading"])


@router.post("/dev/mint", summary="Mint test fen to an account (exchange; PROVEX_ENV=dev only)")
def mint(body: MintIn, c: ExchangeCtx) -> dict[str, Any]:
    return mint_test_fen(c.session, c.gateway, c.actor, body.account_id, body.amount_fen)
