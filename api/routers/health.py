"""Liveness and chain reachability."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is the API up, and does the chain answer?")
def health(svc: ServicesDep) -> dict[str, Any]:
    client = svc.gateway.ledger.client
    return {"status": "ok", "chain": "up" if client.is_up() else "down",
            "registry": svc.gateway.ledger.registry.address}
