"""Federated aggregate queries under a license, and each product's query policy."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends

from api.deps import Ctx, ctx
from api.routers.providers import coordinator_key
from registry.models import Role
from registry.products import visible_product
from registry.queries import policy as query_policy
from registry.queries.run import QueryContext, run_query
from registry.queries.schemas import QueryIn, QueryOut, QueryPolicyIn, QueryPolicyOut

router = APIRouter(tags=["queries"])
R = Role


@router.post("/queries", response_model=QueryOut,
             summary="Run an aggregate query under a license (buyer); returns the result and its receipt")
def query(body: QueryIn, c: Ctx = Depends(ctx(R.BUYER)),
          key: Ed25519PrivateKey = Depends(coordinator_key)) -> QueryOut:
    return run_query(c.session, QueryContext(key), c.actor, body)


@router.put("/products/{ref}/query-policy", response_model=QueryPolicyOut,
            summary="How the product answers queries: noise, threshold, suppression (operator, own)")
def set_policy(ref: str, body: QueryPolicyIn, c: Ctx = Depends(ctx(R.OPERATOR))) -> QueryPolicyOut:
    product, row = query_policy.set_policy(c.session, c.actor, ref, body)
    c.commit()
    return query_policy.policy_view(product, row)


@router.get("/products/{ref}/query-policy", response_model=QueryPolicyOut, summary="The product's query policy")
def get_policy(ref: str, c: Ctx = Depends(ctx())) -> QueryPolicyOut:
    product = visible_product(c.session, c.actor, ref)
    return query_policy.policy_view(product, query_policy.policy_of(c.session, product))
