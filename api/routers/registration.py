"""The registration procedure after approval: the public notice, objections, listing; change (revision), correction
and cancellation registrations of listed products."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from api.deps import AnyCtx, ExchangeCtx, NodeReachDep, OperatorCtx, OperatorOrExchangeCtx, ReaderCtx, SessionDep
from registry import cancellation, notice, revisions
from registry.certificates import certificate_view
from registry.products import product_view
from registry.registration_schemas import (
    CancellationDecisionIn,
    CancellationIn,
    CorrectionIn,
    NoticeOut,
    ObjectionIn,
    ObjectionOut,
    ObjectionResolutionIn,
    RevisionDecisionIn,
    RevisionOut,
)
from registry.schemas import ProductPatch, ReviewOut

router = APIRouter(tags=["registration"])


@router.get("/notices", response_model=list[NoticeOut], summary="Products in their public notice (public)")
def notices(s: SessionDep) -> list[NoticeOut]:
    return notice.current_notices(s)


@router.get("/notices/{ref}", response_model=NoticeOut,
            summary="A product's public notice: until when, how many objections (public)")
def notice_of(ref: str, s: SessionDep) -> NoticeOut:
    return notice.public_notice(s, ref)


@router.post("/products/{ref}/objections", status_code=201, response_model=ObjectionOut,
             summary="Object to a product in its public notice, with reasons (any signed-in account)",
             description="Refused with 409 when the product is not in notice, `NoticeEnded` once the period is over.")
def object_to(ref: str, body: ObjectionIn, c: AnyCtx) -> ObjectionOut:
    obj = notice.file_objection(c.session, c.actor, ref, body)
    c.commit()
    return ObjectionOut.model_validate(obj, from_attributes=True)


@router.get("/products/{ref}/objections", response_model=list[ObjectionOut],
            summary="Objections with reasons (overseers and the product's operator: all; anyone else: its own)")
def objections(ref: str, c: AnyCtx) -> list[ObjectionOut]:
    return notice.list_objections(c.session, c.actor, ref)


@router.post("/products/{ref}/objections/{objection_id}/resolution",
             summary="Resolve an objection: upheld rejects the product, dismissed lets the notice go on (exchange)")
def resolve(ref: str, objection_id: str, body: ObjectionResolutionIn, c: ExchangeCtx) -> dict[str, Any]:
    row, obj = notice.resolve_objection(c.session, c.gateway, c.actor, ref, objection_id, body)
    c.commit()
    return {"product": product_view(row).model_dump(mode="json"),
            "objection": ObjectionOut.model_validate(obj, from_attributes=True).model_dump(mode="json")}


@router.post("/products/{ref}/listing", summary="List a product whose notice ended with no open objection (exchange)",
             description="409 `NoticeNotEnded` before `notice_ends_at`, `ObjectionsOpen` while an objection is "
                         "unresolved, `NoServingNode` without a serving provider node; issues the certificate.")
def complete_listing(ref: str, c: ExchangeCtx, reach: NodeReachDep) -> dict[str, Any]:
    row, cert = notice.complete_listing(c.session, c.gateway, c.actor, ref, reach)
    c.commit()
    return {"product": product_view(row).model_dump(mode="json"),
            "certificate": certificate_view(cert).model_dump(mode="json")}


@router.post("/products/{ref}/revisions", status_code=201, response_model=RevisionOut,
             summary="Propose a change to a listed or suspended product (operator, own)",
             description="The listed version stays on sale unchanged until the exchange approves the revision and "
                         "the operator publishes it. One open revision at a time (409).")
def propose(ref: str, body: ProductPatch, c: OperatorCtx) -> RevisionOut:
    rev = revisions.propose_revision(c.session, c.actor, ref, body)
    c.commit()
    return revisions.revision_view(rev)


@router.get("/products/{ref}/revisions", response_model=list[RevisionOut],
            summary="A product's applications: changes, corrections, cancellations (overseers, the operator)",
            description="Each with its `kind`, status, the applicant's grounds and the exchange's reasons; `kind` "
                        "narrows the list.")
def revisions_of(ref: str, c: ReaderCtx,
                 kind: Literal["change", "correction", "cancellation"] | None = None) -> list[RevisionOut]:
    return revisions.list_revisions(c.session, c.actor, ref, kind)


@router.post("/products/{ref}/corrections", status_code=201, response_model=RevisionOut,
             summary="File a correction of wrong registration facts, with evidence (the product's operator, exchange)",
             description="A revision of kind `correction`: reviewed at `/revisions/{id}/decision`, published by the "
                         "operator at `/revisions/{id}/publish`; the new certificate names it. One open application "
                         "per product (409).")
def correct(ref: str, body: CorrectionIn, c: OperatorOrExchangeCtx) -> RevisionOut:
    rev = revisions.file_correction(c.session, c.actor, ref, body)
    c.commit()
    return revisions.revision_view(rev)


@router.post("/products/{ref}/cancellations", status_code=201, response_model=RevisionOut,
             summary="Apply to cancel a product's registration, with reasons (operator, own)",
             description="A listed, suspended or in-notice product; nothing changes until the exchange decides. "
                         "One open application per product (409).")
def apply_to_cancel(ref: str, body: CancellationIn, c: OperatorCtx) -> RevisionOut:
    app = cancellation.apply_for_cancellation(c.session, c.actor, ref, body)
    c.commit()
    return revisions.revision_view(app)


@router.post("/products/{ref}/cancellations/{revision_id}/decision",
             summary="Approve (the product is delisted, its certificates cancelled) or reject a cancellation "
                     "(exchange)",
             description="Existing licenses keep their terms; a delisted product takes no new order, negotiation or "
                         "query (`ProductNotTradable`).")
def decide_cancellation(ref: str, revision_id: str, body: CancellationDecisionIn, c: ExchangeCtx) -> dict[str, Any]:
    row, app = cancellation.decide_cancellation(c.session, c.gateway, c.actor, ref, revision_id, body)
    c.commit()
    return {"product": product_view(row).model_dump(mode="json"),
            "cancellation": revisions.revision_view(app).model_dump(mode="json")}


@router.post("/products/{ref}/revisions/{revision_id}/decision",
             summary="Approve or reject a pending revision or correction (exchange)",
             description="Approval needs what listing needs: an active authorization and a serving node "
                         "(409 `NoServingNode`).")
def decide(ref: str, revision_id: str, body: RevisionDecisionIn, c: ExchangeCtx,
           reach: NodeReachDep) -> dict[str, Any]:
    rev, review = revisions.decide_revision(c.session, c.actor, ref, revision_id, body, reach)
    c.commit()
    return {"revision": revisions.revision_view(rev).model_dump(mode="json"),
            "review": ReviewOut.model_validate(review, from_attributes=True).model_dump(mode="json")}


@router.post("/products/{ref}/revisions/{revision_id}/publish",
             summary="Publish an approved revision: new version, hash on chain, new certificate (operator, own)")
def publish(ref: str, revision_id: str, c: OperatorCtx) -> dict[str, Any]:
    row, rev, cert = revisions.publish_revision(c.session, c.gateway, c.actor, ref, revision_id)
    c.commit()
    return {"product": product_view(row).model_dump(mode="json"),
            "revision": revisions.revision_view(rev).model_dump(mode="json"),
            "certificate": certificate_view(cert).model_dump(mode="json")}
