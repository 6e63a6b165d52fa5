"""The product lifecycle: one transition table, compliance review, listing, suspension, delisting.

draft -> submitted -> under_review -> in_notice | rejected; in_notice -> listed | rejected (the public notice,
`registry.notice`) | delisted (a cancellation, `registry.cancellation`); listed -> suspended -> listed | delisted.
Approval, listing and relisting need an active authorization and a provider node that serves the product now
(`registry.queries.serving`: NoServingNode).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from ledger.records import append_record
from registry.access import require_overseer
from registry.actor import Actor
from registry.authorizations import get_authorization, require_active
from registry.chain import ChainGateway, submit
from registry.errors import Conflict, InvalidInput
from registry.hashing import text_hash
from registry.models import Certificate, Product, ProductStatus, Review, Role
from registry.products import get_product
from registry.queries.serving import NodeReach, require_serving_node
from registry.schemas import ReviewIn
from registry.signing import new_id
from registry.statuses import chain_status_of, check_transition


def set_status(session: Session, gateway: ChainGateway, actor: Actor, row: Product, to: ProductStatus,
                reason: str, certificate: Certificate | None = None) -> None:
    """Change status in the database and on chain (exchange key, the status `to` stands for there), with a
    ledger record of the reason."""
    chain_to = chain_status_of(to)
    assert chain_to is not None, f"{to} is not a status on chain"
    from_status = row.status
    row.status = to
    row.updated_at = datetime.now(UTC)
    if to == ProductStatus.LISTED:
        row.listed_at = row.updated_at
    session.add(row)
    payload = {"product_id": row.id, "exchange_id": actor.id, "status": int(chain_to),
               "reason_hash": text_hash(reason)}
    if certificate is not None:
        payload["certificate_id"] = certificate.id
    submit(session, gateway, subject_type="product", subject_id=row.id, action="product.status", payload=payload)
    append_record(session, kind="product.status", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "from": from_status, "to": to.value, "reason": reason})


def start_review(session: Session, actor: Actor, ref: str) -> Product:
    """submitted -> under_review (exchange)."""
    actor.require(Role.EXCHANGE)
    row = get_product(session, ref)
    check_transition(row, ProductStatus.UNDER_REVIEW)
    row.status = ProductStatus.UNDER_REVIEW
    row.updated_at = datetime.now(UTC)
    session.add(row)
    append_record(session, kind="review.started", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id, data={"code": row.code, "version": row.version})
    return row


def require_listable(session: Session, row: Product, reach: NodeReach) -> None:
    """What listing needs beyond the transition: an active authorization and a serving node."""
    require_active(get_authorization(session, row.authorization_id))
    require_serving_node(session, row, reach)


def notice_days_of(data: ReviewIn, configured: float) -> float:
    """The approval's notice period: its own, at least the configured one, or the configured one."""
    if data.notice_days is None:
        return configured
    if data.notice_days < configured:
        raise InvalidInput("notice_days", f"at least {configured:g}, the configured public notice period")
    return data.notice_days


def decide_review(session: Session, gateway: ChainGateway, actor: Actor, ref: str,
                  data: ReviewIn, reach: NodeReach, notice_days: float) -> tuple[Product, Review]:
    """Record the compliance decision; approval starts the public notice (listing follows it, `registry.notice`),
    rejection ends the product (on chain too)."""
    actor.require(Role.EXCHANGE)
    row = get_product(session, ref)
    approve = data.decision == "approve"
    check_transition(row, ProductStatus.IN_NOTICE if approve else ProductStatus.REJECTED)
    checklist = data.checklist.model_dump()
    if approve:
        days = notice_days_of(data, notice_days)
        failed = [k for k, ok in checklist.items() if not ok]
        if failed:
            raise InvalidInput(f"checklist.{failed[0]}", "every checklist item must hold to approve")
        require_listable(session, row, reach)
    review = Review(id=new_id(session), product_id=row.id, reviewer_id=actor.id, checklist=checklist,
                    decision=data.decision, reasons=data.reasons, product_version=row.version,
                    metadata_hash=row.metadata_hash)
    session.add(review)
    session.flush()
    # The decision is recorded before the status change it causes, so the trace reads in causal order.
    rec = append_record(session, kind="review.decided", actor=actor.id, subject=row.id,
                        authorization=row.authorization_id,
                        data={"code": row.code, "review_id": review.id, "decision": data.decision,
                              "checklist": checklist, "reasons": data.reasons, "version": row.version,
                              "metadata_hash": row.metadata_hash})
    review.record_seq = rec.seq
    session.add(review)
    if approve:
        _start_notice(session, actor, row, review, days)
    else:
        set_status(session, gateway, actor, row, ProductStatus.REJECTED, data.reasons)
    return row, review


def _start_notice(session: Session, actor: Actor, row: Product, review: Review, days: float) -> None:
    """under_review -> in_notice (nothing on chain: the product stays registered there) until `days` from now."""
    now = datetime.now(UTC)
    row.status = ProductStatus.IN_NOTICE
    row.notice_ends_at = now + timedelta(days=days)
    row.updated_at = now
    session.add(row)
    append_record(session, kind="notice.started", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "review_id": review.id,
                        "ends_at": row.notice_ends_at.isoformat(timespec="microseconds")})


def _move(session: Session, gateway: ChainGateway, actor: Actor, ref: str, to: ProductStatus,
          reason: str, reach: NodeReach | None = None) -> Product:
    """The exchange moves a listed or suspended product (the transition table decides what is legal);
    listing again needs what listing needs (`require_listable`)."""
    actor.require(Role.EXCHANGE)
    row = get_product(session, ref)
    if row.status == ProductStatus.IN_NOTICE:
        raise Conflict(f"product {row.code} is in its public notice: it is listed when the notice ends (POST "
                       f"/products/{row.code}/listing), rejected by an upheld objection or cancelled on its "
                       "operator's application")
    check_transition(row, to)
    if to == ProductStatus.LISTED:
        assert reach is not None, "relisting asks the product's nodes"
        require_listable(session, row, reach)
    set_status(session, gateway, actor, row, to, reason)
    return row


def suspend_product(session: Session, gateway: ChainGateway, actor: Actor, ref: str, reason: str) -> Product:
    """listed -> suspended."""
    return _move(session, gateway, actor, ref, ProductStatus.SUSPENDED, reason)


def relist_product(session: Session, gateway: ChainGateway, actor: Actor, ref: str, reason: str,
                   reach: NodeReach) -> Product:
    """suspended -> listed."""
    return _move(session, gateway, actor, ref, ProductStatus.LISTED, reason, reach)


def delist_product(session: Session, gateway: ChainGateway, actor: Actor, ref: str, reason: str) -> Product:
    """listed or suspended -> delisted."""
    return _move(session, gateway, actor, ref, ProductStatus.DELISTED, reason)


def list_reviews(session: Session, actor: Actor, ref: str) -> list[Review]:
    row = get_product(session, ref)
    if not (actor.role == Role.OPERATOR and row.operator_id == actor.id):
        require_overseer(actor)
    return list(session.exec(select(Review).where(Review.product_id == row.id).order_by(Review.pk)).all())  # type: ignore[arg-type]
