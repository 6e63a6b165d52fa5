"""Verification calls (核验): one sealed bit about one key under a license, and the license's call history."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BuyerCtx, CoordinatorKey, NodeReachDep
from registry.queries import verify as svc
from registry.queries.run import QueryContext
from registry.queries.verify_schemas import VerificationCallOut, VerificationNode, VerifyIn, VerifyOut

router = APIRouter(tags=["queries"])


@router.post("/verifications", response_model=VerifyOut,
             summary="Verify a claim about one key under a license (buyer); returns the nodes' sealed answers")
def verify(body: VerifyIn, c: BuyerCtx, key: CoordinatorKey) -> VerifyOut:
    return svc.verify(c.session, QueryContext(key), c.actor, body)


@router.get("/licenses/{license_id}/verifications", response_model=list[VerificationCallOut],
            summary="The license's verification calls: when, claim column and operator, result hash, receipt (buyer)")
def calls(license_id: str, c: BuyerCtx) -> list[VerificationCallOut]:
    return svc.list_calls(c.session, c.actor, license_id)


@router.get("/licenses/{license_id}/verification-nodes", response_model=list[VerificationNode],
            summary="The product's nodes: registered keys and node-signed sealing keys to seal questions to (buyer)")
def nodes(license_id: str, c: BuyerCtx, reach: NodeReachDep) -> list[VerificationNode]:
    return svc.verification_nodes(c.session, c.actor, license_id, reach.egress)
