"""Data products: operators draft, edit and submit their own; everyone reads what they may see."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AnyCtx, OperatorCtx, OverseerCtx
from registry import products as svc
from registry.catalog import product_json
from registry.consistency import ChainComparison, compare_product
from registry.schemas import ProductIn, ProductOut, ProductPatch

router = APIRouter(prefix="/products", tags=["products"])


@router.post("", status_code=201, response_model=ProductOut, summary="Draft a product (operator)")
def create(body: ProductIn, c: OperatorCtx) -> ProductOut:
    row = svc.create_product(c.session, c.actor, body)
    c.commit()
    return svc.product_view(row)


@router.get("/{ref}", response_model=ProductOut, summary="One product by id or PX- code")
async def get(ref: str, c: AnyCtx) -> Response:
    # serialized once (a ProductOut, as documented by response_model), not re-validated
    return Response(await c.read(product_json, c.session, c.actor, ref), media_type="application/json")


@router.patch("/{ref}", response_model=ProductOut, summary="Edit a draft (operator, own)",
              description="A listed or suspended product is changed by a reviewed revision "
                          "(`POST /products/{ref}/revisions`): 409 here.")
def update(ref: str, body: ProductPatch, c: OperatorCtx) -> ProductOut:
    row = svc.update_product(c.session, c.actor, ref, body)
    c.commit()
    return svc.product_view(row)


@router.post("/{ref}/submit", response_model=ProductOut,
             summary="Submit for review: registers the product on chain (operator, own)")
def submit(ref: str, c: OperatorCtx) -> ProductOut:
    row = svc.submit_product(c.session, c.gateway, c.actor, ref)
    c.commit()
    return svc.product_view(row)


@router.get("/{ref}/chain", response_model=ChainComparison,
            summary="Database vs chain for this product (exchange, authority, auditor)")
def chain(ref: str, c: OverseerCtx) -> ChainComparison:
    return compare_product(c.gateway.ledger, svc.get_product(c.session, ref))
