"""Revisions of a listed (or suspended) product: proposed by its operator, reviewed by the exchange, published.

Every field a patch may change is covered by the product's chain hash, so every change is material: it waits
as a `pending` revision while the listed version stays on sale unchanged (purchases, catalog, certificate).
The exchange reviews it with the product checklist (approval needs what listing needs: an active authorization
and a serving node). An approved revision is published by the operator: the new hash goes on chain by the
operator's own `updateProductMetadata` (the contract lets only the product's operator change it), the product
row takes the changes and a new version, and a certificate for that version is issued.
Offers are not revised here: each offer is its own signed chain act with immutable terms (a new offer and the
withdrawal of the old one are how terms change), and a purchase names the offer whose terms it buys.

A correction (更正登记: registered facts that were wrong, not a change of the product) is a revision with `kind`
`correction`, filed by the operator or the exchange with evidence: the same fields, the same review and the same
publication (the contract lets only the operator change the hash, so the operator publishes it), so a corrected
version reaches the chain and the catalog exactly as a changed one does; only its records (`correction.filed`,
`correction.decided`) and its certificate (which names the correction) differ. Cancellations
(`registry.cancellation`) share the table, so a product has one open application of any kind at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from ledger.records import append_record
from registry.access import oversees
from registry.actor import Actor
from registry.certificates import issue_certificate
from registry.chain import ChainGateway, submit
from registry.errors import Conflict, InvalidInput, NotFound
from registry.lifecycle import require_listable
from registry.models import Certificate, Product, ProductRevision, Review, Role
from registry.products import REVISABLE, apply_patch, get_product, owned_product
from registry.queries.serving import NodeReach
from registry.registration_schemas import CorrectionIn, RevisionDecisionIn, RevisionOut
from registry.schemas import ProductPatch
from registry.signing import new_id

OPEN = ("pending", "approved")
CHANGE, CORRECTION, CANCELLATION = "change", "correction", "cancellation"


def _revisable(row: Product) -> None:
    if row.status not in REVISABLE:
        raise Conflict(f"product {row.code} is {row.status}: only a listed or suspended product is revised "
                       "(a draft is edited with PATCH)")


def _open_revision(session: Session, row: Product) -> ProductRevision | None:
    stmt = select(ProductRevision).where(ProductRevision.product_id == row.id,
                                         col(ProductRevision.status).in_(OPEN))
    return session.exec(stmt).first()


def require_no_open_application(session: Session, row: Product) -> None:
    """One open application (change, correction or cancellation) per product."""
    other = _open_revision(session, row)
    if other is not None:
        raise Conflict(f"product {row.code} already has {other.kind} {other.id} {other.status}; one at a time")


def propose_revision(session: Session, actor: Actor, ref: str, patch: ProductPatch) -> ProductRevision:
    """The operator proposes changes to its listed product; nothing about the listed version changes."""
    return _propose(session, actor, owned_product(session, actor, ref), patch, CHANGE, None)


def file_correction(session: Session, actor: Actor, ref: str, data: CorrectionIn) -> ProductRevision:
    """The product's operator or the exchange files a correction of wrong registration facts, with evidence."""
    if actor.role == Role.OPERATOR:
        row = owned_product(session, actor, ref)
    else:
        actor.require(Role.EXCHANGE, Role.OPERATOR)
        row = get_product(session, ref)
    return _propose(session, actor, row, data.changes, CORRECTION, data.evidence)


def _propose(session: Session, actor: Actor, row: Product, patch: ProductPatch, kind: str,
             grounds: str | None) -> ProductRevision:
    _revisable(row)
    require_no_open_application(session, row)
    changes = patch.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise InvalidInput("changes" if kind == CORRECTION else "body", "name at least one field to change")
    draft = Product(**row.model_dump())  # a detached copy: the listed row is not touched
    apply_patch(draft, changes)
    if draft.metadata_hash == row.metadata_hash:
        raise InvalidInput("body", "the changes leave the listed version as it is")
    rev = ProductRevision(id=new_id(session), product_id=row.id, kind=kind, proposer_id=actor.id, grounds=grounds,
                          base_version=row.version, changes=changes, metadata_hash=draft.metadata_hash)
    session.add(rev)
    data = {"code": row.code, "revision_id": rev.id, "base_version": row.version, "changes": changes,
            "metadata_hash": rev.metadata_hash}
    if kind == CORRECTION:
        data["evidence"] = grounds
    append_record(session, kind="correction.filed" if kind == CORRECTION else "revision.proposed", actor=actor.id,
                  subject=row.id, authorization=row.authorization_id, data=data)
    return rev


def get_application(session: Session, row: Product, revision_id: str, *kinds: str) -> ProductRevision:
    """The product's application `revision_id`, of one of `kinds` (409 naming the route for another kind)."""
    rev = session.exec(select(ProductRevision).where(ProductRevision.id == revision_id)).first()
    if rev is None or rev.product_id != row.id:
        raise NotFound(f"revision {revision_id} of product {row.code} not found")
    if rev.kind not in kinds:
        where = "cancellations" if rev.kind == CANCELLATION else "revisions"
        raise Conflict(f"{revision_id} is a {rev.kind}: it is handled at /products/{row.code}/{where}/{rev.id}")
    return rev


def _revision(session: Session, row: Product, revision_id: str) -> ProductRevision:
    return get_application(session, row, revision_id, CHANGE, CORRECTION)


def decide_revision(session: Session, actor: Actor, ref: str, revision_id: str, data: RevisionDecisionIn,
                    reach: NodeReach) -> tuple[ProductRevision, Review]:
    """The exchange approves (the operator may then publish it) or rejects (with reasons) a pending revision or
    correction."""
    actor.require(Role.EXCHANGE)
    row = get_product(session, ref)
    rev = _revision(session, row, revision_id)
    if rev.status != "pending":
        raise Conflict(f"revision {rev.id} is {rev.status}, not pending")
    checklist = data.checklist.model_dump()
    if data.decision == "approve":
        _revisable(row)
        failed = [k for k, ok in checklist.items() if not ok]
        if failed:
            raise InvalidInput(f"checklist.{failed[0]}", "every checklist item must hold to approve")
        require_listable(session, row, reach)
    review = Review(id=new_id(session), product_id=row.id, reviewer_id=actor.id, checklist=checklist,
                    decision=data.decision, reasons=data.reasons, product_version=rev.base_version + 1,
                    metadata_hash=rev.metadata_hash)
    session.add(review)
    rec = append_record(session, kind=f"{_area(rev)}.decided", actor=actor.id, subject=row.id,
                        authorization=row.authorization_id,
                        data={"code": row.code, "revision_id": rev.id, "review_id": review.id,
                              "decision": data.decision, "checklist": checklist, "reasons": data.reasons,
                              "version": review.product_version, "metadata_hash": rev.metadata_hash})
    review.record_seq = rec.seq
    rev.status = "approved" if data.decision == "approve" else "rejected"
    rev.review_id, rev.reasons, rev.decided_at = review.id, data.reasons, datetime.now(UTC)
    session.add_all([review, rev])
    return rev, review


def publish_revision(session: Session, gateway: ChainGateway, actor: Actor, ref: str,
                     revision_id: str) -> tuple[Product, ProductRevision, Certificate]:
    """The operator puts an approved revision in place: new version, its hash on chain, a new certificate."""
    row = owned_product(session, actor, ref)
    rev = _revision(session, row, revision_id)
    if rev.status != "approved":
        raise Conflict(f"revision {rev.id} is {rev.status}: only an approved revision is published")
    _revisable(row)
    if row.version != rev.base_version:
        raise Conflict(f"revision {rev.id} revises version {rev.base_version}; the product is at {row.version}")
    apply_patch(row, rev.changes)
    if row.metadata_hash != rev.metadata_hash:  # the product changed otherwise since: not what was reviewed
        raise Conflict(f"revision {rev.id} no longer gives the reviewed metadata hash; propose it again")
    row.version += 1
    row.updated_at = datetime.now(UTC)
    review = session.exec(select(Review).where(Review.id == rev.review_id)).one()
    certificate = issue_certificate(session, row, review, rev if rev.kind == CORRECTION else None)
    session.add(row)
    submit(session, gateway, subject_type="product", subject_id=row.id, action="product.metadata",
           payload={"product_id": row.id, "operator_id": actor.id, "metadata_hash": row.metadata_hash,
                    "certificate_id": certificate.id})
    rev.status = "published"
    session.add(rev)
    append_record(session, kind="revision.published", actor=actor.id, subject=row.id,
                  authorization=row.authorization_id,
                  data={"code": row.code, "revision_id": rev.id, "version": row.version,
                        "metadata_hash": row.metadata_hash, "certificate_id": certificate.id})
    return row, rev, certificate


def _area(rev: ProductRevision) -> str:
    """The record area of a change's or a correction's acts (a correction's publication is `revision.published`:
    the same act)."""
    return "correction" if rev.kind == CORRECTION else "revision"


def list_revisions(session: Session, actor: Actor, ref: str, kind: str | None = None) -> list[RevisionOut]:
    """A product's applications (changes, corrections, cancellations; or one `kind`), oldest first (the overseers
    and the product's operator)."""
    row = get_product(session, ref)
    if not (oversees(actor) or (actor.role == Role.OPERATOR and row.operator_id == actor.id)):
        raise NotFound(f"product {ref} not found")
    stmt = select(ProductRevision).where(ProductRevision.product_id == row.id).order_by(col(ProductRevision.pk))
    if kind is not None:
        stmt = stmt.where(ProductRevision.kind == kind)
    return [revision_view(r) for r in session.exec(stmt).all()]


def revision_view(rev: ProductRevision) -> RevisionOut:
    return RevisionOut.model_validate(rev, from_attributes=True)
