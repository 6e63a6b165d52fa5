"""The public notice (公示) between approval and listing: objections, their resolution, and the listing.

An approved product is `in_notice` until `notice_ends_at` (`registry.lifecycle.decide_review` starts it; the
chain still says registered). Meanwhile any signed-in account may object with reasons; the exchange resolves
each objection: upheld rejects the product (on chain too), dismissed lets the notice go on. Once the period has
ended with no open objection, the exchange completes the listing: the same chain act, rules and certificate as
any listing (`registry.lifecycle.require_listable`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.ids import chain_id_of, hex32
from ledger.records import append_record
from registry.access import oversees
from registry.actor import Actor
from registry.certificates import issue_certificate
from registry.chain import ChainGateway
from registry.errors import Conflict, NotFound, RuleViolation
from registry.lifecycle import require_listable, set_status
from registry.models import Certificate, Objection, Product, ProductStatus, Review, Role
from registry.products import get_product
from registry.queries.serving import NodeReach
from registry.registration_schemas import NoticeOut, ObjectionIn, ObjectionOut, ObjectionResolutionIn
from registry.signing import new_id

OPEN = "open"


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def notice_ended(row: Product, now: datetime | None = None) -> bool:
    return row.notice_ends_at is not None and (now or datetime.now(UTC)) >= _utc(row.notice_ends_at)


def _in_notice(session: Session, ref: str) -> Product:
    row = get_product(session, ref)
    if row.status != ProductStatus.IN_NOTICE:
        raise Conflict(f"product {row.code} is {row.status}, not in its public notice")
    return row


def file_objection(session: Session, actor: Actor, ref: str, data: ObjectionIn) -> Objection:
    """Any signed-in account objects, with reasons, while the notice period runs."""
    row = _in_notice(session, ref)
    if notice_ended(row):
        raise RuleViolation("NoticeEnded", product=row.code, endedAt=_utc(row.notice_ends_at).isoformat())  # type: ignore[arg-type]
    obj = Objection(id=new_id(session), product_id=row.id, filer_id=actor.id, reasons=data.reasons)
    session.add(obj)
    append_record(session, kind="objection.filed", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "objection_id": obj.id, "reasons": data.reasons})
    return obj


def _objection(session: Session, row: Product, objection_id: str) -> Objection:
    obj = session.exec(select(Objection).where(Objection.id == objection_id)).first()
    if obj is None or obj.product_id != row.id:
        raise NotFound(f"objection {objection_id} of product {row.code} not found")
    return obj


def resolve_objection(session: Session, gateway: ChainGateway, actor: Actor, ref: str, objection_id: str,
                      data: ObjectionResolutionIn) -> tuple[Product, Objection]:
    """The exchange resolves an open objection; upheld rejects the product with the objection as reason."""
    actor.require(Role.EXCHANGE)
    row = _in_notice(session, ref)
    obj = _objection(session, row, objection_id)
    if obj.status != OPEN:
        raise Conflict(f"objection {obj.id} is already {obj.status}")
    obj.status, obj.resolver_id, obj.resolution = data.decision, actor.id, data.reasons
    obj.resolved_at = datetime.now(UTC)
    session.add(obj)
    append_record(session, kind="objection.resolved", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "objection_id": obj.id, "decision": data.decision,
                        "reasons": data.reasons})
    if data.decision == "upheld":
        set_status(session, gateway, actor, row, ProductStatus.REJECTED,
                   f"objection {obj.id} upheld: {obj.reasons} — {data.reasons}")
    return row, obj


def open_objections(session: Session, row: Product) -> list[Objection]:
    stmt = select(Objection).where(Objection.product_id == row.id, Objection.status == OPEN)
    return list(session.exec(stmt).all())


def complete_listing(session: Session, gateway: ChainGateway, actor: Actor, ref: str,
                     reach: NodeReach) -> tuple[Product, Certificate]:
    """in_notice -> listed once the period has ended with no open objection; the certificate is issued."""
    actor.require(Role.EXCHANGE)
    row = _in_notice(session, ref)
    if not notice_ended(row):
        raise RuleViolation("NoticeNotEnded", product=row.code, endsAt=_utc(row.notice_ends_at).isoformat())  # type: ignore[arg-type]
    pending = open_objections(session, row)
    if pending:
        raise RuleViolation("ObjectionsOpen", productId=hex32(chain_id_of(row.id)), product=row.code,
                            open=len(pending), objection=pending[0].id)
    require_listable(session, row, reach)
    review = session.exec(select(Review).where(Review.product_id == row.id, Review.decision == "approve")
                          .order_by(col(Review.pk).desc())).first()
    assert review is not None, "a product in notice was approved"
    certificate = issue_certificate(session, row, review)
    set_status(session, gateway, actor, row, ProductStatus.LISTED,
               f"public notice ended {_utc(row.notice_ends_at).isoformat(timespec='seconds')} "  # type: ignore[arg-type]
               "with no open objection", certificate)
    return row, certificate


def notice_view(session: Session, row: Product) -> NoticeOut:
    objections = list(session.exec(select(Objection).where(Objection.product_id == row.id)).all())
    return NoticeOut(product_id=row.id, code=row.code, title=row.title, publisher=row.publisher, status=row.status,
                     notice_ends_at=_utc(row.notice_ends_at) if row.notice_ends_at else None,
                     ended=notice_ended(row), objections=len(objections),
                     open_objections=sum(1 for o in objections if o.status == OPEN))


def public_notice(session: Session, ref: str) -> NoticeOut:
    """A product's notice, public: only products that were approved (in notice, or past it) have one."""
    row = get_product(session, ref)
    if row.notice_ends_at is None:
        raise NotFound(f"product {ref} has no public notice")
    return notice_view(session, row)


def current_notices(session: Session) -> list[NoticeOut]:
    """Every product in its public notice, the soonest ending first (public)."""
    rows = session.exec(select(Product).where(Product.status == ProductStatus.IN_NOTICE)
                        .order_by(col(Product.notice_ends_at))).all()
    return [notice_view(session, r) for r in rows]


def list_objections(session: Session, actor: Actor, ref: str) -> list[ObjectionOut]:
    """Objections with their reasons: the overseers and the product's operator see all, a filer its own."""
    row = get_product(session, ref)
    stmt = select(Objection).where(Objection.product_id == row.id).order_by(col(Objection.pk))
    if not (oversees(actor) or (actor.role == Role.OPERATOR and row.operator_id == actor.id)):
        stmt = stmt.where(Objection.filer_id == actor.id)  # anyone else: their own objections
    return [ObjectionOut.model_validate(o, from_attributes=True) for o in session.exec(stmt).all()]
