"""Compliance review and the exchange's status decisions on products."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ExchangeCtx, NodeReachDep, ReaderCtx, SettingsDep
from registry import lifecycle as svc
from registry.products import product_view
from registry.schemas import ProductOut, ReviewIn, ReviewOut, StatusChangeIn

router = APIRouter(prefix="/products/{ref}", tags=["review"])


@router.post("/review/start", response_model=ProductOut, summary="submitted -> under_review (exchange)")
def start(ref: str, c: ExchangeCtx) -> ProductOut:
    row = svc.start_review(c.session, c.actor, ref)
    c.commit()
    return product_view(row)


@router.post("/review", summary="Record the compliance decision; approval starts the public notice (exchange)",
             description="Approval puts the product `in_notice` for PROVEX_NOTICE_DAYS (or the longer `notice_days` "
                         "given); it is listed and certified by `POST /products/{ref}/listing` once the notice has "
                         "ended with no open objection. Approval needs an active authorization and a provider node "
                         "of the product that answers now with its registered policy covering the product's columns "
                         "(409 `NoServingNode` otherwise; nothing is written). Rejection ends the product.")
def decide(ref: str, body: ReviewIn, c: ExchangeCtx, reach: NodeReachDep, settings: SettingsDep) -> dict[str, Any]:
    row, review = svc.decide_review(c.session, c.gateway, c.actor, ref, body, reach, settings.notice_days)
    c.commit()
    return {"product": product_view(row).model_dump(mode="json"),
            "review": ReviewOut.model_validate(review, from_attributes=True).model_dump(mode="json"),
            "certificate": None}


@router.get("/reviews", response_model=list[ReviewOut],
            summary="Review history (exchange, authority, auditor, the owning operator)")
def reviews(ref: str, c: ReaderCtx) -> list[ReviewOut]:
    return [ReviewOut.model_validate(r, from_attributes=True) for r in svc.list_reviews(c.session, c.actor, ref)]


@router.post("/suspend", response_model=ProductOut, summary="listed -> suspended (exchange)")
def suspend(ref: str, body: StatusChangeIn, c: ExchangeCtx) -> ProductOut:
    row = svc.suspend_product(c.session, c.gateway, c.actor, ref, body.reason)
    c.commit()
    return product_view(row)


@router.post("/relist", response_model=ProductOut, summary="suspended -> listed (exchange)",
             description="Needs what approval needs: an active authorization and a serving node (409 `NoServingNode`).")
def relist(ref: str, body: StatusChangeIn, c: ExchangeCtx, reach: NodeReachDep) -> ProductOut:
    row = svc.relist_product(c.session, c.gateway, c.actor, ref, body.reason, reach)
    c.commit()
    return product_view(row)


@router.post("/delist", response_model=ProductOut, summary="listed|suspended -> delisted (exchange)")
def delist(ref: str, body: StatusChangeIn, c: ExchangeCtx) -> ProductOut:
    row = svc.delist_product(c.session, c.gateway, c.actor, ref, body.reason)
    c.commit()
    return product_view(row)
