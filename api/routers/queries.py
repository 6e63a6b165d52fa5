"""Federated aggregate queries under a license, each product's query policy, and model products' fitted models."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AnyCtx, BuyerCtx, CoordinatorKey, OperatorCtx
from registry.model_schemas import ModelFitIn, ModelOut
from registry.products import visible_product
from registry.queries import model_fit
from registry.queries import policy as query_policy
from registry.queries import preview as query_preview
from registry.queries.run import QueryContext, run_query
from registry.queries.schemas import PreviewIn, PreviewOut, QueryIn, QueryOut, QueryPolicyIn, QueryPolicyOut

router = APIRouter(tags=["queries"])


@router.post("/queries", response_model=QueryOut,
             summary="Run an aggregate query under a license (buyer); returns the result and its receipt")
def query(body: QueryIn, c: BuyerCtx, key: CoordinatorKey) -> QueryOut:
    return run_query(c.session, QueryContext(key), c.actor, body)


@router.post("/queries/preview", response_model=PreviewOut,
             summary="What a query or a batch would cost, leave and how noisy it would be (buyer); spends nothing")
def preview(body: PreviewIn, c: BuyerCtx) -> PreviewOut:
    return query_preview.preview(c.session, c.actor, body)


@router.put("/products/{ref}/query-policy", response_model=QueryPolicyOut,
            summary="How the product answers queries: noise, threshold, suppression, privacy unit (operator, own)")
def set_policy(ref: str, body: QueryPolicyIn, c: OperatorCtx) -> QueryPolicyOut:
    product, row = query_policy.set_policy(c.session, c.actor, ref, body)
    c.commit()
    return query_policy.policy_view(product, row)


@router.get("/products/{ref}/query-policy", response_model=QueryPolicyOut, summary="The product's query policy")
def get_policy(ref: str, c: AnyCtx) -> QueryPolicyOut:
    product = visible_product(c.session, c.actor, ref)
    return query_policy.policy_view(product, query_policy.policy_of(c.session, product))


@router.post("/products/{ref}/model/fit", response_model=ModelOut,
             summary="Fit a model product's model, spending from the product-wide budget (operator, own)")
def fit_model(ref: str, body: ModelFitIn, c: OperatorCtx, key: CoordinatorKey) -> ModelOut:
    return model_fit.fit_model(c.session, QueryContext(key), c.actor, ref, body)


@router.get("/licenses/{license_id}/model", response_model=ModelOut,
            summary="The fitted model a license on a model product delivers (its buyer)")
def license_model(license_id: str, c: BuyerCtx) -> ModelOut:
    return model_fit.license_model(c.session, c.actor, license_id)
