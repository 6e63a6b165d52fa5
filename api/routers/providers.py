"""Provider nodes and the exchange's coordinator identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CoordinatorKey, NodeReachDep, ProviderCtx, ReaderCtx
from registry.queries import node_health
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


@router.get("/providers/me/status",
            summary="The caller's node, its live state and the signed policy it enforces now (provider)",
            description="`state`: serving, unreachable, mismatch (another identity, policy hash or coordinator "
                        "key) or no_node; `policy` is the node's signed policy body when it verifies against the "
                        "registered key and hash, else null; `products`: those listing this provider.")
def my_status(c: ProviderCtx, reach: NodeReachDep) -> dict[str, Any]:
    return node_health.own_status(c.session, c.actor, reach)


@router.get("/providers/me/queries",
            summary="Queries run on the products listing the caller, newest first (provider)",
            description="From the `query.run` ledger records: each names how many nodes took part, not which.")
def my_queries(c: ProviderCtx) -> list[dict[str, Any]]:
    return node_health.served_queries(c.session, c.actor)


@router.get("/products/{ref}/nodes",
            summary="A product's providers, each with its node and the node's live state (operator, overseers)",
            description="`state`: serving (answers with its registered identity and a policy covering the "
                        "product), unreachable, mismatch, uncovered, or no_node.")
def product_nodes(ref: str, c: ReaderCtx, reach: NodeReachDep) -> list[dict[str, Any]]:
    return node_health.product_nodes(c.session, c.actor, ref, reach)
