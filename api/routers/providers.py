"""Provider nodes and the exchange's coordinator identity."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CoordinatorKey, NodeReachDep, ProviderCtx, ReaderCtx
from registry.queries import providers as svc
from registry.queries.schemas import CoordinatorIdentity, NodeIn, NodeOut

router = APIRouter(tags=["providers"])


@router.get("/coordinator/identity", response_model=CoordinatorIdentity,
            summary="The exchange's coordinator public key (public; provider nodes must trust it)")
def identity(key: CoordinatorKey) -> dict[str, str]:
    return svc.coordinator_identity(key)


@router.post("/providers/me/node", status_code=201, response_model=NodeOut,
             summary="Register or move the caller's node; its live GET /identity must match (provider)")
def register(body: NodeIn, c: ProviderCtx, reach: NodeReachDep) -> NodeOut:
    row = svc.register_node(c.session, c.actor, body, reach.coordinator_key, reach.egress)
    c.commit()
    return svc.node_view(row)


@router.get("/providers/me/node", response_model=NodeOut, summary="The caller's registered node (provider)")
def mine(c: ProviderCtx) -> NodeOut:
    return svc.node_view(svc.own_node(c.session, c.actor))


@router.get("/providers/nodes", response_model=list[NodeOut],
            summary="Every registered provider node (exchange, operator, authority, auditor)")
def nodes(c: ReaderCtx) -> list[NodeOut]:
    return [svc.node_view(n) for n in svc.list_nodes(c.session)]
