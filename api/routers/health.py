"""Liveness and chain reachability."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep, SettingsDep
from ledger.statements import MAX_AHEAD_S, TYPES, statement_domain

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is the API up, and does the chain answer?")
def health(svc: ServicesDep, settings: SettingsDep) -> dict[str, Any]:
    """`instance` is PROVEX_INSTANCE when set: the token of the run that started this server."""
    client = svc.gateway.ledger.client
    out = {"status": "ok", "chain": "up" if client.is_up() else "down", "registry": svc.gateway.ledger.registry.address}
    if settings.instance:
        out["instance"] = settings.instance
    return out


@router.get("/signing", summary="What participants sign: the statement and forwarder EIP-712 domains and types")
def signing(svc: ServicesDep) -> dict[str, Any]:
    """docs/signing.md. No key needed: a client reads this once to sign requests and chain acts."""
    gw = svc.gateway
    return {"statement_domain": statement_domain(gw.ledger.deployment).as_dict(),
            "statement_types": TYPES, "forwarder_domain": gw.relayer.domain.as_dict(),
            "relayer": gw.relayer.account.address, "house": gw.house.address if gw.house else None,
            "max_ahead_s": MAX_AHEAD_S}
